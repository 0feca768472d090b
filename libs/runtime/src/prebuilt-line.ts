import { symbols, type DestinationStream, type Logger } from "pino";
import { writeThisTurn } from "./turn-batch.js";

/** What a pino logger holds that a line is made of, under pino's published symbols. */
interface LineParts {
  [symbols.lsCacheSym]: Record<number, string>;
  [symbols.timeSym]: () => string;
  [symbols.chindingsSym]: string;
  [symbols.endSym]: string;
  [symbols.streamSym]: DestinationStream;
}

/** pino's number for `info`, the key of its cached level member. */
const INFO = 30;

/**
 * Writes an `info` line of createLogger's shape (level, time, the logger's bindings, then
 * `fields`, then `msg`) without what `logger.info` does first: copy the object to redact it,
 * look up the active span (mixin), scrub the message (logMethod), serialise the object key by
 * key. Those were most of what the gateway's access line cost (issue 18), for values that
 * cannot hold a secret. The line goes to the logger's stream at the end of this turn of the
 * event loop (turn-batch.ts), after lines logged the usual way in the same turn; its time is
 * when it was made.
 *
 * `fields` is JSON members, each after a comma (`,"status":200,"route":"/healthz"`): the
 * caller makes it, from values that cannot hold a secret, every string through
 * `JSON.stringify`. Nothing here reads it. The logger's destination must be a plain stream
 * (createLogger's): pino's multistream wants the line's level alongside, which this does not
 * set.
 */
export const writePrebuiltInfo = (logger: Logger, fields: string, msg: string): void => {
  const parts = logger as unknown as LineParts;
  writeThisTurn(
    parts[symbols.streamSym],
    `${parts[symbols.lsCacheSym][INFO]}${parts[symbols.timeSym]()}${parts[symbols.chindingsSym]}${fields},"msg":${JSON.stringify(msg)}${parts[symbols.endSym]}`,
  );
};
