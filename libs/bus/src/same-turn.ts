let turn: Promise<void> | undefined;

/**
 * Resolves in this turn's check phase, for every caller of the turn at once: requests sent
 * after awaiting it leave in one socket write. The NATS client writes its outbound buffer in
 * a microtask after the first publish, so requests started by separate I/O callbacks (an
 * HTTP gateway's: one per connection that had data) each paid a write of their own, and so
 * did their replies (issue 18: the largest single cost of an HTTP read). A turn's callers
 * resume together right after its I/O callbacks, so a lone request waits no longer than that.
 */
export const sameTurn = (): Promise<void> =>
  (turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  ));
