interface Waiter<T> {
  generation: number;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

interface Lane<T> {
  requested: number;
  active: boolean;
  waiters: Waiter<T>[];
}

/**
 * Runs `work(key)` so that each request is answered by a run that *began after* it, while
 * requests that arrive during a run share the next one: fifty plugs on one network cost a
 * few mesh passes, not fifty; a hundred reservations at once share a few reads of their network. One lane per key; the lane is forgotten when idle. A run
 * first awaits `settle(key)` (requests made meanwhile still join that run), so a burst that
 * is known to be on its way can gather before the run reads its input.
 */
export class Coalescer<T> {
  private readonly lanes = new Map<string, Lane<T>>();

  constructor(
    private readonly work: (key: string) => Promise<T>,
    private readonly settle?: (key: string) => Promise<void>,
  ) {}

  request(key: string): Promise<T> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { requested: 0, active: false, waiters: [] };
      this.lanes.set(key, lane);
    }
    const generation = ++lane.requested;
    const answer = new Promise<T>((resolve, reject) => lane.waiters.push({ generation, resolve, reject }));
    if (!lane.active) void this.drive(key, lane);
    return answer;
  }

  /** Resolves once no run is active (shutdown). */
  async idle(): Promise<void> {
    while ([...this.lanes.values()].some((l) => l.active)) await new Promise((r) => setTimeout(r, 10));
  }

  private async drive(key: string, lane: Lane<T>): Promise<void> {
    lane.active = true;
    while (lane.waiters.length > 0) {
      if (this.settle !== undefined) await this.settle(key).catch(() => undefined);
      const covered = lane.requested;
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await this.work(key) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const done = lane.waiters.filter((w) => w.generation <= covered);
      lane.waiters = lane.waiters.filter((w) => w.generation > covered);
      for (const w of done) {
        if (outcome.ok) w.resolve(outcome.value);
        else w.reject(outcome.error);
      }
    }
    lane.active = false;
    this.lanes.delete(key);
  }
}
