import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The compose command this machine has: the `docker compose` plugin (Docker's packages)
 * or the standalone `docker-compose` (Debian bookworm's docker-compose 1.29, which CI
 * installs beside docker.io: bookworm packages no plugin). Both read the same files.
 */
const composeCommand = async (): Promise<string[]> => {
  for (const cmd of [["docker", "compose"], ["docker-compose"]]) {
    const ok = await run(cmd[0] as string, [...cmd.slice(1), "version"]).then(
      () => true,
      () => false,
    );
    if (ok) return cmd;
  }
  throw new Error(
    "Neither `docker compose` nor `docker-compose` runs here: apt-get install docker-compose (Debian) " +
      "or Docker's docker-compose-plugin",
  );
};

/**
 * One compose project of the repository's compose files, driven through the compose CLI
 * as an operator drives it: `up`, `kill`, `start`, `down`. `env` is the project's `.env`
 * (secrets folder, published ports, images) on top of this process's environment.
 */
export class ComposeProject {
  private constructor(
    private readonly command: string[],
    readonly name: string,
    private readonly files: string[],
    private readonly env: Record<string, string>,
  ) {}

  static async create(name: string, files: string[], env: Record<string, string>): Promise<ComposeProject> {
    return new ComposeProject(await composeCommand(), name, files, env);
  }

  /** Runs one compose subcommand; a failure carries what compose printed. */
  async run(args: string[], timeoutMs = 300_000): Promise<string> {
    const [bin, ...pre] = this.command as [string, ...string[]];
    try {
      const { stdout } = await run(bin, [...pre, "-p", this.name, ...this.files.flatMap((f) => ["-f", f]), ...args], {
        cwd: REPO,
        env: { ...process.env, ...this.env },
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      throw new Error(`${this.command.join(" ")} ${args.join(" ")} failed: ${stderr || (err as Error).message}`);
    }
  }

  /** The container ids of a service (two for a scaled one). */
  async containers(service: string): Promise<string[]> {
    return (await this.run(["ps", "-q", service])).split("\n").filter((id) => id !== "");
  }

  /** The last lines every container of `services` printed, for a failure report. */
  async logs(services: string[], tail: number): Promise<string> {
    return this.run(["logs", "--no-color", "--tail", String(tail), ...services]);
  }
}
