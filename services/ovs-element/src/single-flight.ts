/**
 * Concurrent calls with the same key share one call in flight; nothing is kept once it
 * answers (no cache, so nothing goes stale). A burst of plugs on one network then costs one
 * GetNetwork to the guru, not one per plug.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, call: () => Promise<T>): Promise<T> {
    let shared = this.inFlight.get(key);
    if (shared === undefined) {
      shared = call().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
    }
    return shared;
  }
}
