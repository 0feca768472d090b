import { execFile } from "node:child_process";

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A command of the lab that failed; says which command and what it printed. */
export class LabCommandError extends Error {
  override readonly name = "LabCommandError";
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`'${argv.join(" ")}' exited with ${result.code}: ${(result.stderr || result.stdout).trim()}`);
  }
}

/** Runs a program without a shell; resolves with its output whatever the exit status. */
export const execQuiet = (argv: readonly string[], input?: string, timeoutMs = 60_000): Promise<ExecResult> =>
  new Promise((resolve) => {
    const [bin, ...args] = argv as [string, ...string[]];
    const child = execFile(bin, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ stdout, stderr: stderr || (err !== null && typeof err.code !== "number" ? err.message : ""), code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });

/** Runs a program and throws LabCommandError unless it exits 0; returns its stdout. */
export const exec = async (argv: readonly string[], input?: string): Promise<string> => {
  const result = await execQuiet(argv, input);
  if (result.code !== 0) throw new LabCommandError(argv, result);
  return result.stdout;
};

/** argv that runs `argv` inside network namespace `ns`. */
export const inNetns = (ns: string, argv: readonly string[]): string[] => ["ip", "netns", "exec", ns, ...argv];
