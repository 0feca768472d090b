import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

/**
 * The hypervisor-agent run as its own process from its sources, the way `npm start` runs
 * it, with every line it logs kept (tests look for secrets in them).
 */
export class AgentProcess {
  output = "";
  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
    /** Whether the data directory is this process's own, removed when it stops. */
    private readonly ownsDataDir: boolean,
  ) {}

  /** `sharedDataDir`: replicas that share their keys (the sealing key), as a deployment's replicas do. */
  static start(env: Record<string, string>, sharedDataDir?: string): AgentProcess {
    const dataDir = sharedDataDir ?? mkdtempSync(join(tmpdir(), "sdn-agent-"));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=sdn-source", "services/hypervisor-agent/src/main.ts"],
      {
        cwd: repoRoot,
        env: { ...process.env, SDN_DATA_DIR: dataDir, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const agent = new AgentProcess(child, dataDir, sharedDataDir === undefined);
    child.stdout?.on("data", (d: Buffer) => (agent.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (agent.output += d.toString()));
    return agent;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops it gracefully (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.running) {
      await new Promise<void>((r) => {
        this.child.once("exit", () => r());
        this.child.kill("SIGTERM");
      });
    }
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Kills it as a crash would (SIGKILL) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((r) => {
      this.child.once("exit", () => r());
      this.child.kill("SIGKILL");
    });
  }
}
