interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

interface Lane<I, O> {
  queue: Pending<I, O>[];
  active: boolean;
}

/**
 * Gathers items for one key into batches: an item that finds its key idle runs at once, alone
 * (a lone request is not delayed); items that arrive while a batch of the key runs go together
 * into the next, at most `max` per batch. `run` answers one output per item, in order; a
 * thrown error fails every item of that batch. Unlike Coalescer, each item has its own answer.
 */
export class Batcher<I, O> {
  private readonly lanes = new Map<string, Lane<I, O>>();

  constructor(
    private readonly run: (key: string, items: I[]) => Promise<O[]>,
    private readonly max: number,
  ) {}

  submit(key: string, item: I): Promise<O> {
    return this.submitAll(key, [item])[0] as Promise<O>;
  }

  /** Several items that arrived together: they stay together (up to `max`). */
  submitAll(key: string, items: readonly I[]): Promise<O>[] {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { queue: [], active: false };
      this.lanes.set(key, lane);
    }
    const queue = lane.queue;
    const answers = items.map((item) => new Promise<O>((resolve, reject) => queue.push({ item, resolve, reject })));
    if (!lane.active) void this.drive(key, lane);
    return answers;
  }

  private async drive(key: string, lane: Lane<I, O>): Promise<void> {
    lane.active = true;
    while (lane.queue.length > 0) {
      const batch = lane.queue.splice(0, this.max);
      try {
        const out = await this.run(
          key,
          batch.map((p) => p.item),
        );
        batch.forEach((p, i) => p.resolve(out[i] as O));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    lane.active = false;
    this.lanes.delete(key);
  }
}
