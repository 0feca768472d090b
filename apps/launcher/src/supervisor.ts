import { spawn, type ChildProcess } from "node:child_process";
import { serviceNodeOptions } from "./node-options.js";

export interface SupervisedProgram {
  name: string;
  entry: string;
  /** Variables of this program only (its own bus credentials), over the shared ones. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs each service as its own process (as in production), restarts one that dies with a
 * growing delay, and stops them all with SIGTERM so each drains its NATS connection.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(
    private readonly programs: readonly SupervisedProgram[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    for (const p of this.programs) this.launch(p, 0);
  }

  private launch(p: SupervisedProgram, restarts: number): void {
    const env = { ...this.env, ...p.env };
    const child = spawn(process.execPath, [p.entry], {
      env: { ...env, NODE_OPTIONS: serviceNodeOptions(env) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    this.children.set(p.name, child);
    const startedAt = Date.now();
    child.once("exit", (code, signal) => {
      this.children.delete(p.name);
      if (this.stopping) return;
      // A configuration error (exit 2) will not fix itself: stop everything instead of looping.
      if (code === 2) {
        this.log(`${p.name} refused its configuration; stopping`);
        void this.stop().then(() => process.exit(2));
        return;
      }
      const next = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 500 * 2 ** next);
      this.log(`${p.name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      setTimeout(() => !this.stopping && this.launch(p, next), delay).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
  }
}
