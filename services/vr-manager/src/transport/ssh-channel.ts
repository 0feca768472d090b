import { shellCommand, SshSession, type RemoteFailureReason } from "@sdn/remote";
import { posix } from "node:path";
import { RouterFailure, type RouterFailureReason } from "../errors.js";
import type { FollowedCommand, ProgramFile, RouterChannel, RunResult } from "./channel.js";

export interface SshChannelOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** The router's pinned host key: any other key is refused. */
  hostKeyFingerprint: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/** Parallel channels on one connection: below sshd's default MaxSessions (10). */
const MAX_SESSIONS = 4;

const REASON: Record<RemoteFailureReason, RouterFailureReason> = {
  UNREACHABLE: "UNREACHABLE",
  AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
  HOST_KEY_MISMATCH: "HOST_KEY_MISMATCH",
  TIMEOUT: "UNREACHABLE",
  WRITE_FAILED: "PROGRAM_FAILED",
};

/**
 * SSH straight to a router's control address (libs/remote): one connection, opened on
 * first use and reused, parallel commands as channels; only the pinned host key is accepted.
 */
export class SshChannel implements RouterChannel {
  private readonly session: SshSession;

  constructor(private readonly opts: SshChannelOptions) {
    this.session = new SshSession({
      ...opts,
      trustOnFirstContact: false,
      maxSessions: MAX_SESSIONS,
      peerLabel: "router",
      failure: (reason, message) => new RouterFailure(REASON[reason], message),
    });
  }

  async run(argv: readonly string[], stdin: string): Promise<RunResult> {
    const { code, stdout, stderr } = await this.session.exec(shellCommand(argv), stdin, this.opts.commandTimeoutMs);
    return { code, stdout, stderr };
  }

  follow(argv: readonly string[], onLine: (line: string) => void): FollowedCommand {
    return this.session.follow(shellCommand(argv), onLine);
  }

  /** Written aside, then renamed: a router never runs half a program. */
  writeFile(path: string, data: Buffer, mode: number): Promise<void> {
    return this.writeFiles(posix.dirname(path), [{ name: posix.basename(path), data, mode }]);
  }

  writeFiles(dir: string, files: readonly ProgramFile[]): Promise<void> {
    return this.session.putFiles(dir, files);
  }

  close(): void {
    this.session.close();
  }
}
