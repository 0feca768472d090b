import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

/**
 * A real `nats-server -js` on a free loopback port, with its own store directory, that a
 * test can stop and start again on the same port and store (to test restarts).
 */
export class TestNatsServer {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static async start(): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort(), mkdtempSync(join(tmpdir(), "sdn-nats-")));
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and store. */
  async restart(): Promise<void> {
    if (this.child !== undefined) await this.stop();
    const bin = process.env["NATS_SERVER_BIN"] ?? "nats-server";
    this.output = "";
    const child = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.storeDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    await waitFor(`nats-server on port ${this.port}`, () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${this.output}`);
      return this.output.includes("Server is ready") ? true : undefined;
    });
  }

  /** Stops the server (SIGTERM) and waits for it to exit; the store is kept. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  /** Stops the server and deletes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
