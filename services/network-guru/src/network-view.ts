import type { JsonBucket } from "@sdn/bus";
import type { NetworkRecord } from "./store.js";

/** How long a mutation waits for the view to show its writes before it answers anyway. */
const SYNC_WAIT_MS = 2_000;

interface Waiter {
  revision: number;
  resolve: () => void;
}

/**
 * The network records as a watch of their bucket delivers them, so that a read (GetNetwork)
 * is answered from memory instead of a JetStream round trip to the stream leader (issue 18:
 * that round trip was half the bus work of an HTTP read).
 *
 * A read may use the copy only while it is fresh: it has delivered the bucket as it was
 * when the watch began and, after each mutation this replica handled, everything the bucket
 * held when the mutation finished (`sync`, awaited before the mutation answers). So a read
 * that follows an answered mutation on this replica sees its write. A replica that did not
 * write learns of a change when the server delivers it to its watch, which happens as the
 * write is stored, before the writer's answer can reach anyone; the copy is therefore not a
 * source for mutations, which keep reading KV for their compare-and-swap. Otherwise, and for
 * a record the copy does not hold (one made a moment ago elsewhere), the caller reads KV.
 */
export class NetworkView {
  private readonly records = new Map<string, { value: NetworkRecord; revision: number }>();
  /** The highest revision (stream sequence) the watch has delivered. */
  private seen = 0;
  /** The revision the copy must reach before reads may use it; infinite while nothing watches. */
  private mustReach = Number.POSITIVE_INFINITY;
  private readonly waiters = new Set<Waiter>();
  private stopWatch: (() => void) | undefined;

  constructor(private readonly bucket: JsonBucket<NetworkRecord>) {}

  /** Starts the watch; reads use the copy once it has delivered the bucket's current content. */
  async start(): Promise<void> {
    const last = await this.lastRevision();
    const it = await this.bucket.kv.watch({ key: ">" });
    this.mustReach = last;
    this.stopWatch = () => it.stop();
    void (async () => {
      try {
        for await (const e of it) {
          const value = e.operation === "PUT" ? parsed(e) : undefined;
          if (value === undefined) this.records.delete(e.key);
          else this.records.set(e.key, { value, revision: e.revision });
          this.reached(e.revision);
        }
      } finally {
        // Nothing follows the bucket any more: every read goes to KV.
        this.mustReach = Number.POSITIVE_INFINITY;
        this.records.clear();
        for (const w of this.waiters) w.resolve();
        this.waiters.clear();
      }
    })();
  }

  stop(): void {
    this.stopWatch?.();
  }

  /** The record as the watch last delivered it, when the copy is fresh and holds it; undefined: read KV. */
  get(id: string): { value: NetworkRecord; revision: number } | undefined {
    return this.seen >= this.mustReach ? this.records.get(id) : undefined;
  }

  /**
   * Waits until the copy shows everything the bucket holds now (at most SYNC_WAIT_MS). Until
   * it does, reads go to KV: a copy that lags is never used, however long it lags.
   */
  async sync(): Promise<void> {
    if (this.stopWatch === undefined) return;
    const last = await this.lastRevision();
    this.mustReach = Math.max(this.mustReach, last);
    if (this.seen >= last) return;
    await new Promise<void>((resolve) => {
      const waiter: Waiter = {
        revision: last,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, SYNC_WAIT_MS);
      this.waiters.add(waiter);
    });
  }

  private reached(revision: number): void {
    this.seen = Math.max(this.seen, revision);
    for (const w of this.waiters) if (w.revision <= this.seen) w.resolve();
  }

  /** The bucket's last revision: its stream's last sequence (a deleted key's marker counts). */
  private async lastRevision(): Promise<number> {
    return (await this.bucket.kv.status()).streamInfo.state.last_seq;
  }
}

/** A stored value that does not parse is left out of the copy: reads of it go to KV, which says what is wrong. */
const parsed = (e: { json<T>(): T }): NetworkRecord | undefined => {
  try {
    return e.json<NetworkRecord>();
  } catch {
    return undefined;
  }
};
