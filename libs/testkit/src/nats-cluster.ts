import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

interface Node {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly dir: string;
  child: ChildProcess | undefined;
  output: string;
}

/**
 * Real `nats-server` processes clustered with JetStream on loopback ports, each with its own
 * store, that a test can kill (-9) and bring back one at a time to exercise leader elections.
 */
export class TestNatsCluster {
  private constructor(
    private readonly nodes: Node[],
    private readonly root: string,
  ) {}

  static async start(size = 3): Promise<TestNatsCluster> {
    const root = mkdtempSync(join(tmpdir(), "sdn-nats-cluster-"));
    const nodes: Node[] = [];
    for (let i = 0; i < size; i++) {
      const dir = join(root, `n${i + 1}`);
      mkdirSync(dir);
      nodes.push({
        name: `n${i + 1}`,
        port: await freePort(),
        clusterPort: await freePort(),
        dir,
        child: undefined,
        output: "",
      });
    }
    const cluster = new TestNatsCluster(nodes, root);
    for (const node of nodes) cluster.writeConfig(node);
    await Promise.all(nodes.map((n) => cluster.launch(n)));
    await cluster.waitForMeta();
    return cluster;
  }

  /** Every node's client URL, comma-separated, as services take them. */
  get url(): string {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(",");
  }

  get names(): string[] {
    return this.nodes.map((n) => n.name);
  }

  urlOf(name: string): string {
    return `nats://127.0.0.1:${this.node(name).port}`;
  }

  /** SIGKILL: the node's store stays, as after a crash. */
  kill(name: string): void {
    const node = this.node(name);
    node.child?.kill("SIGKILL");
    node.child = undefined;
  }

  async restart(name: string): Promise<void> {
    const node = this.node(name);
    if (node.child !== undefined && node.child.exitCode === null) return;
    await this.launch(node);
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            const child = n.child;
            n.child = undefined;
            if (child === undefined || child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
    rmSync(this.root, { recursive: true, force: true });
  }

  private node(name: string): Node {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name} in the cluster (${this.names.join(", ")})`);
    return node;
  }

  private writeConfig(node: Node): void {
    const routes = this.nodes
      .filter((n) => n !== node)
      .map((n) => `    nats-route://127.0.0.1:${n.clusterPort}`)
      .join("\n");
    writeFileSync(
      join(node.dir, "nats.conf"),
      [
        `server_name: ${node.name}`,
        `listen: 127.0.0.1:${node.port}`,
        `jetstream { store_dir: "${join(node.dir, "store")}" }`,
        `cluster {`,
        `  name: sdn-test`,
        `  listen: 127.0.0.1:${node.clusterPort}`,
        `  routes: [`,
        routes,
        `  ]`,
        `}`,
        "",
      ].join("\n"),
    );
  }

  private async launch(node: Node): Promise<void> {
    const bin = process.env["NATS_SERVER_BIN"] ?? "nats-server";
    node.output = "";
    const child = spawn(bin, ["-c", join(node.dir, "nats.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (node.output = (node.output + d.toString()).slice(-20_000)));
    child.stderr?.on("data", (d: Buffer) => (node.output = (node.output + d.toString()).slice(-20_000)));
    node.child = child;
    await waitFor(`nats-server ${node.name} on port ${node.port}`, () => {
      if (child.exitCode !== null) throw new Error(`nats-server ${node.name} exited: ${node.output}`);
      return node.output.includes("Server is ready") ? true : undefined;
    });
  }

  /** JetStream answers only once the meta group has a leader. */
  private async waitForMeta(): Promise<void> {
    await waitFor(
      "a JetStream meta leader",
      () =>
        this.nodes.some((n) =>
          /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(n.output),
        )
          ? true
          : undefined,
      30_000,
    );
  }
}
