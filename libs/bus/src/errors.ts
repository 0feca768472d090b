import { CommandError, SdnError, type ErrorBody } from "@sdn/contracts";

/** Base of every error the bus raises itself (not a handler's deliberate refusal: see CommandError). */
export class BusError extends SdnError {
  override readonly name: string = "BusError";
}

/** No answer arrived in time. Names the command and subject so an operator can look. */
export class CommandTimeoutError extends BusError {
  override readonly name = "CommandTimeoutError";
  constructor(
    readonly command: string,
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super("TIMEOUT", `no answer to ${command} on ${subject} within ${timeoutMs} ms`);
  }
}

/** Nothing is subscribed to a request/reply subject (e.g. the host's agent is down). */
export class NoResponderError extends BusError {
  override readonly name = "NoResponderError";
  constructor(
    readonly command: string,
    readonly subject: string,
  ) {
    super("UNAVAILABLE", `nothing is serving ${command} on ${subject}`);
  }
}

/**
 * The answer said `ok: false`. A CommandError carrying the answer's code, message and details
 * unchanged, so a handler that lets it pass answers its own caller exactly what it was told.
 */
export class CommandFailedError extends CommandError {
  override readonly name = "CommandFailedError";
  constructor(
    readonly command: string,
    readonly error: ErrorBody,
  ) {
    super(error.code, error.message, error.details);
  }
}

/** A message on the bus that does not match its contract. */
export class MalformedMessageError extends BusError {
  override readonly name = "MalformedMessageError";
  constructor(message: string, details?: unknown) {
    super("INVALID_COMMAND", message, details);
  }
}

/** A listing older than the stream's newest write under its filter. */
export class StaleListingError extends BusError {
  override readonly name = "StaleListingError";
  constructor(
    readonly bucket: string,
    readonly filter: string,
  ) {
    super(
      "UNAVAILABLE",
      `the replicas of bucket ${bucket} that answered a listing of ${filter} lag behind its leader; retry shortly`,
    );
  }
}

/** The installed nats.js has no request multiplexer where muxed-request.ts registers (an upgrade moved it). */
export class MuxUnavailableError extends BusError {
  override readonly name = "MuxUnavailableError";
  constructor() {
    super("INTERNAL", "this nats.js connection has no request multiplexer (protocol.request): see muxed-request.ts");
  }
}
