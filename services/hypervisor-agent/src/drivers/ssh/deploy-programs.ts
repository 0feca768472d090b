import { HostFailure } from "../errors.js";
import { readProgram } from "../host-programs.js";
import type { SshConnection } from "./ssh-connection.js";

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Installs the host programs `files` in `dir` on a host over SFTP: `executable` gets mode
 * 0755, the rest 0644. The libraries go first and the executable last, each replaced
 * atomically, so the program never starts beside a half-written or missing library (the
 * CloudStack plugin that shipped without its cloudstack_pluginlib).
 */
export const deployPrograms = async (
  ssh: SshConnection,
  dir: string,
  files: readonly string[],
  executable: string,
  timeoutMs: number,
): Promise<void> => {
  const mk = await ssh.exec(`mkdir -p -- ${quote(dir)}`, "", timeoutMs);
  if (mk.code !== 0) {
    throw new HostFailure("HOST_PROGRAM_FAILED", `cannot create ${dir}: ${mk.stderr.trim()}`);
  }
  const ordered = [...files.filter((f) => f !== executable), executable];
  await ssh.putFiles(
    dir,
    ordered.map((name) => ({ name, data: readProgram(name), mode: name === executable ? 0o755 : 0o644 })),
  );
};
