import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";
import { StaleListingError } from "./errors.js";

/**
 * Errors a NATS cluster gives while a stream elects a new leader or a server restarts: no
 * answer in time, nobody answering the JetStream API, or the API saying it is temporarily
 * unavailable (status 503). A publish to a stream that has no leader at that moment fails
 * as "JetStream not enabled" (no responders). Tried again a moment later, the same call
 * usually works.
 */
export const isTransient = (err: unknown): boolean =>
  err instanceof errors.TimeoutError ||
  // nats.js does not export this class, so it is known by its name.
  (err instanceof Error && err.name === "JetStreamNotEnabled") ||
  err instanceof errors.NoRespondersError ||
  (err instanceof errors.RequestError && isTransient(err.cause)) ||
  (err instanceof JetStreamApiError && err.status === 503) ||
  // The replicas that answered a listing had not caught up yet: a moment later they have.
  err instanceof StaleListingError;

export interface RetryOptions {
  /** Give up after this long (a leader election measured here took up to ~7 s). */
  readonly budgetMs?: number;
  readonly firstDelayMs?: number;
}

/**
 * Runs `op` again while it fails with a transient error, with doubling pauses, until the
 * budget is spent; then the last error is thrown. Only for operations that are safe to
 * repeat, or whose caller settles an ambiguous outcome itself (see JsonBucket).
 */
export const retryTransient = async <T>(op: () => Promise<T>, opts: RetryOptions = {}): Promise<T> => {
  const deadline = Date.now() + (opts.budgetMs ?? 20_000);
  let delay = opts.firstDelayMs ?? 100;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
};
