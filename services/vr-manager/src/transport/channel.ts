import type { FollowedCommand, RemoteFile } from "@sdn/remote";

export type { FollowedCommand };
/** A file of the router program: its name in the program's folder, content and mode. */
export type ProgramFile = RemoteFile;

/** What a command run on a router printed, and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A way to run commands on one router: direct SSH, or a relay through its host. The
 * router program is the same either way.
 */
export interface RouterChannel {
  /** Runs argv (quoted for the router's shell) with `stdin`. */
  run(argv: readonly string[], stdin: string): Promise<RunResult>;
  /**
   * Runs argv and hands each line it prints to `onLine` as it comes (a watch). Direct SSH
   * only: the host relay answers whole commands (and its routers cannot be paired).
   */
  follow?(argv: readonly string[], onLine: (line: string) => void): FollowedCommand;
  /** Creates or replaces a file on the router with the given mode. */
  writeFile(path: string, data: Buffer, mode: number): Promise<void>;
  /** Creates or replaces files in `dir`, in as few round trips as the channel allows (any order). */
  writeFiles(dir: string, files: readonly ProgramFile[]): Promise<void>;
  close(): void;
}
