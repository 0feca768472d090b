import Type, { type Static } from "@sdn/typebox";

/**
 * Machine-readable error codes used in answers and HTTP errors alike. Each maps to one
 * HTTP status at the gateway (see `httpStatusOf`).
 */
export const ERROR_CODES = {
  INVALID_COMMAND: 400,
  /** A secret in plain text where only its sealed form is accepted (docs/bus-integrity.md). */
  PLAINTEXT_SECRET: 400,
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  /** The command was delivered the most times allowed without an answer (a handler crashed or hung each time). */
  MAX_DELIVERIES_EXCEEDED: 500,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;
const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

export const httpStatusOf = (code: ErrorCode): number => ERROR_CODES[code];

export const ErrorBody = Type.Object(
  {
    code: Type.Enum(ERROR_CODE_LIST, { description: "Machine-readable error code" }),
    message: Type.String({ description: "What went wrong, for a person" }),
    details: Type.Optional(Type.Unknown({ description: "Structured context, e.g. failing fields" })),
  },
  { additionalProperties: false, $id: "ErrorBody" },
);
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * The one base of the errors that carry an error code: a handler's refusal (CommandError),
 * the bus's own failures (BusError in @sdn/bus), the gateway's HTTP errors. `code` gives the
 * answer's code and the HTTP status, `details` structured context (e.g. failing fields),
 * `cause` the error this one stands for.
 */
export class SdnError extends Error {
  override readonly name: string = "SdnError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An error a handler throws on purpose: it becomes an answer with `ok: false` and this
 * code, and its message is shown to the caller. Anything else thrown is reported as
 * `INTERNAL` without its message, so internals never leak.
 */
export class CommandError extends SdnError {
  override readonly name: string = "CommandError";
}

/**
 * A CommandError whose message names infrastructure (a host, its addresses, what its
 * agent said): admins get it whole; tenants get `tenantMessage`, which names nothing but
 * what they sent, and the whole error is logged for the operator.
 */
export class InfrastructureError extends CommandError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly tenantMessage: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}
