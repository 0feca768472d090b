import { SshSession, type RemoteFailureReason, type SshSessionOptions } from "@sdn/remote";
import { HostFailure, type HostFailureReason } from "../errors.js";

export type { ExecResult, RemoteFile } from "@sdn/remote";

export type SshOptions = Omit<SshSessionOptions, "failure" | "peerLabel">;

const REASON: Record<RemoteFailureReason, HostFailureReason> = {
  UNREACHABLE: "UNREACHABLE",
  AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
  HOST_KEY_MISMATCH: "HOST_KEY_MISMATCH",
  TIMEOUT: "UNREACHABLE",
  WRITE_FAILED: "HOST_PROGRAM_FAILED",
};

/** The agent's SSH connection to a host (libs/remote), failing with the agent's HostFailure reasons. */
export class SshConnection extends SshSession {
  constructor(opts: SshOptions) {
    super({ ...opts, failure: (reason, message, cause) => new HostFailure(REASON[reason], message, { cause }) });
  }
}
