/** Why an OVSDB call failed; stable codes a caller can branch on. */
export type OvsdbErrorCode =
  /** The server answered with an error (its `error` and `details` are kept). */
  | "OVSDB_ERROR"
  /** The server sent something that is not a valid RFC 7047 message (or too large). */
  | "MALFORMED_MESSAGE"
  /** No answer within the call's deadline. */
  | "TIMEOUT"
  /** The connection is closed (or closed while the call was waiting). */
  | "CLOSED"
  /** Could not connect to the server at all. */
  | "CONNECT_FAILED"
  /** TLS: the server's certificate is not the pinned one, nor one the given CA issued for its name. */
  | "CERTIFICATE_REJECTED";

export class OvsdbError extends Error {
  override readonly name: string = "OvsdbError";
  constructor(
    readonly code: OvsdbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server refused a request or one operation of a transaction. `error` is the server's
 * short code ("constraint violation", "referential integrity violation", ...), `details` its
 * sentence; `operation` is the index of the failing operation in a transaction.
 */
export class OvsdbServerError extends OvsdbError {
  override readonly name = "OvsdbServerError";
  constructor(
    readonly method: string,
    readonly error: string,
    readonly details: string | undefined,
    readonly operation?: number,
  ) {
    const where = operation === undefined ? "" : ` (operation ${operation})`;
    super("OVSDB_ERROR", `${method} failed${where}: ${error}${details ? `: ${details}` : ""}`);
  }
}

/** The `error` member of a server's answer as text (RFC 7047 gives a string; be lenient). */
export function serverErrorText(error: unknown): string {
  return typeof error === "string" ? error : JSON.stringify(error);
}
