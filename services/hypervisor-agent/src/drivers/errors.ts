import { codeOfHostError, CommandError, type ErrorCode } from "@sdn/contracts";

/** Why a host could not be added or driven; shown to admins in details.reason. */
export type HostFailureReason =
  | "UNREACHABLE"
  | "AUTHENTICATION_FAILED"
  | "HOST_KEY_MISMATCH"
  | "TLS_VERIFICATION_FAILED"
  | "NOT_AN_OVS_HOST"
  | "PROGRAMS_MISSING"
  | "PROGRAMS_OUTDATED"
  | "TUNNEL_INTERFACE_NOT_FOUND"
  | "HOST_PROGRAM_FAILED"
  /** The host's Python cannot run the host programs (XAPI plugins need Python 3.6+). */
  | "UNSUPPORTED_PYTHON";

const CODE_OF: Record<HostFailureReason, ErrorCode> = {
  UNREACHABLE: "UNAVAILABLE",
  AUTHENTICATION_FAILED: "UNPROCESSABLE",
  HOST_KEY_MISMATCH: "UNPROCESSABLE",
  TLS_VERIFICATION_FAILED: "UNPROCESSABLE",
  NOT_AN_OVS_HOST: "UNPROCESSABLE",
  PROGRAMS_MISSING: "UNPROCESSABLE",
  PROGRAMS_OUTDATED: "UNPROCESSABLE",
  TUNNEL_INTERFACE_NOT_FOUND: "UNPROCESSABLE",
  HOST_PROGRAM_FAILED: "UNPROCESSABLE",
  UNSUPPORTED_PYTHON: "UNPROCESSABLE",
};

/**
 * A host-level failure of a driver. Messages are built by our code from what the host
 * said (error codes, stderr of our programs) and never contain credentials.
 */
export class HostFailure extends Error {
  override readonly name = "HostFailure";
  constructor(
    readonly reason: HostFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toCommandError(): CommandError {
    return new CommandError(CODE_OF[this.reason], this.message, { reason: this.reason });
  }
}

/** A host program answered with an error (its own code, or XENAPI_PLUGIN_FAILURE). */
export class HostProgramError extends Error {
  override readonly name = "HostProgramError";
  constructor(
    readonly hostError: string,
    message: string,
  ) {
    super(message);
  }

  toCommandError(): CommandError {
    return new CommandError(codeOfHostError(this.hostError), this.message, {
      hostError: this.hostError,
    });
  }
}

/** Turns a driver error into the CommandError of an answer; anything else is rethrown. */
export const toCommandError = (err: unknown): never => {
  if (err instanceof HostFailure || err instanceof HostProgramError) throw err.toCommandError();
  throw err;
};
