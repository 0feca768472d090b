/** A stream sdnctl writes to: process.stdout/stderr, or a buffer in tests. */
export interface OutStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Everything sdnctl takes from its process, passed in so that `run` can be called in-process. */
export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Reads all of stdin (for `login --token-stdin`). */
  readStdin(): Promise<string>;
}

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
});
