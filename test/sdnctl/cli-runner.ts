import { run, type CliIo, type CommandModule, COMMAND_MODULES } from "@sdn/sdnctl";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An output stream that keeps what is written, readable while the command runs. */
export class Captured {
  text = "";
  readonly isTTY = false;
  write(s: string) {
    this.text += s;
    return true;
  }
}

export interface CliCall {
  env?: Record<string, string | undefined>;
  stdin?: string;
  modules?: readonly CommandModule[];
  stdout?: Captured;
  stderr?: Captured;
}

/** Runs sdnctl in-process with its own environment (never the test process's). */
export const sdnctl = async (args: string[], call: CliCall = {}): Promise<CliResult> => {
  const stdout = call.stdout ?? new Captured();
  const stderr = call.stderr ?? new Captured();
  const io: CliIo = {
    stdout,
    stderr,
    env: call.env ?? {},
    readStdin: async () => call.stdin ?? "",
  };
  const code = await run(args, io, call.modules ?? COMMAND_MODULES);
  return { code, stdout: stdout.text, stderr: stderr.text };
};

/** The column at which each header of a table's first line starts. */
export const columnStarts = (line: string, headers: string[]) => headers.map((h) => line.indexOf(h));

/** `public-ip-ranges create` of a documentation range (admin), for tests that acquire public IPs. */
export const CREATE_PUBLIC_IP_RANGE = [
  "public-ip-ranges",
  "create",
  "--cidr",
  "203.0.113.0/24",
  "--gateway",
  "203.0.113.1",
  "--start",
  "203.0.113.10",
  "--end",
  "203.0.113.20",
];
