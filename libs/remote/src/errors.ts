/** Why a peer could not be reached or used; each service maps these onto its own reasons. */
export type RemoteFailureReason =
  | "UNREACHABLE"
  | "AUTHENTICATION_FAILED"
  | "HOST_KEY_MISMATCH"
  /** A command ran past its time; the channel was closed. */
  | "TIMEOUT"
  /** A file could not be written (SFTP). */
  | "WRITE_FAILED";

/** Builds the caller's own error for a failure; messages name no key material. */
export type FailureFactory = (reason: RemoteFailureReason, message: string, cause?: unknown) => Error;
