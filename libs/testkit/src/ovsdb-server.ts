import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { terminate } from "./terminate.js";
import { waitFor } from "./wait.js";

const SCHEMA = process.env["OVS_VSWITCH_SCHEMA"] ?? "/usr/share/openvswitch/vswitch.ovsschema";
const SBIN = (name: string): string => (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name);

/**
 * A real `ovsdb-server` holding a fresh Open_vSwitch database in a temporary folder,
 * listening on a unix socket and a loopback TCP port (no ovs-vswitchd: nothing acts on the
 * rows, which is what client tests want). Restartable on the same socket, port and data.
 */
export class TestOvsdbServer {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** `extraArgs` go to ovsdb-server as they are (e.g. a pssl remote and its key files). */
  static async start(extraArgs: string[] = []): Promise<TestOvsdbServer> {
    const dir = mkdtempSync(join(tmpdir(), "sdn-ovsdb-"));
    execFileSync("ovsdb-tool", ["create", join(dir, "conf.db"), SCHEMA]);
    const server = new TestOvsdbServer(dir, await freePort(), extraArgs);
    await server.restart();
    // ovs-vsctl add-br needs the root row that `ovs-vsctl init` creates.
    server.vsctl("init");
    return server;
  }

  get socketPath(): string {
    return join(this.dir, "db.sock");
  }

  /** ovs-vsctl against this server (no vswitchd: --no-wait). */
  vsctl(...args: string[]): string {
    return execFileSync("ovs-vsctl", [`--db=unix:${this.socketPath}`, "--no-wait", "--timeout=10", ...args], {
      encoding: "utf8",
    });
  }

  async restart(): Promise<void> {
    if (this.child !== undefined) await this.stop();
    this.output = "";
    rmSync(this.socketPath, { force: true }); // a stale socket would look like a ready server
    const child = spawn(
      SBIN("ovsdb-server"),
      [
        join(this.dir, "conf.db"),
        `--remote=punix:${this.socketPath}`,
        `--remote=ptcp:${this.port}:127.0.0.1`,
        `--unixctl=${join(this.dir, "ovsdb-server.ctl")}`,
        "--log-file=" + join(this.dir, "ovsdb-server.log"),
        "-vconsole:off",
        ...this.extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    await waitFor(`ovsdb-server in ${this.dir}`, () => {
      if (child.exitCode !== null) throw new Error(`ovsdb-server exited: ${this.output}`);
      return existsSync(this.socketPath) ? true : undefined;
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child !== undefined) await terminate(child);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
