import type { JsonBucket } from "@sdn/bus";
import type { NetworkRecord } from "./store.js";

/** How long a mutation waits for the view to show its writes before it answers anyway. */
const SYNC_WAIT_MS = 2_000;
/** Pause between attempts to start the watch or to learn the bucket's last revision. */
const RETRY_MS = 1_000;

interface Waiter {
  revision: number;
  resolve: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
 * The copy is only ever a shortcut: when the watch cannot start or the bucket cannot be
 * asked its last revision, reads go to KV until it can.
 */
export class NetworkView {
  private readonly records = new Map<string, { value: NetworkRecord; revision: number }>();
  /** The highest revision (stream sequence) the watch has delivered. */
  private seen = 0;
  /** The revision the copy must reach before reads may use it: the highest a start or sync asked for. */
  private target = 0;
  private watching = false;
  /** Syncs that could not learn their revision; while one is `unknown`, reads go to KV. */
  private failures = 0;
  private unknown = false;
  private stopped = false;
  private readonly waiters = new Set<Waiter>();
  private stopWatch: (() => void) | undefined;

  constructor(private readonly bucket: JsonBucket<NetworkRecord>) {}

  /**
   * Starts the watch, trying again in the background while the bucket does not answer (a
   * cluster electing the new bucket's leader): a guru starts whether or not its copy does.
   */
  async start(): Promise<void> {
    if (await this.tryStart()) return;
    void (async () => {
      while (!this.stopped) {
        await sleep(RETRY_MS);
        if (!this.stopped && (await this.tryStart())) return;
      }
    })();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }

  /** The record as the watch last delivered it, when the copy is fresh and holds it; undefined: read KV. */
  get(id: string): { value: NetworkRecord; revision: number } | undefined {
    return this.watching && !this.unknown && this.seen >= this.target ? this.records.get(id) : undefined;
  }

  /**
   * Waits until the copy shows everything the bucket holds now (at most SYNC_WAIT_MS). Until
   * it does, reads go to KV: a copy that lags is never used, however long it lags. Never
   * throws: the mutation that calls it has done its work.
   */
  async sync(): Promise<void> {
    if (!this.watching) return;
    let last: number;
    try {
      last = await this.lastRevision();
    } catch {
      this.failures++;
      if (!this.unknown) {
        this.unknown = true;
        void this.relearn();
      }
      return;
    }
    this.target = Math.max(this.target, last);
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

  private async tryStart(): Promise<boolean> {
    try {
      const last = await this.lastRevision();
      const it = await this.bucket.kv.watch({ key: ">" });
      this.target = Math.max(this.target, last);
      this.stopWatch = () => it.stop();
      this.watching = true;
      if (this.stopped) it.stop();
      void this.follow(it);
      return true;
    } catch {
      return false;
    }
  }

  private async follow(it: AsyncIterable<WatchEntry>): Promise<void> {
    try {
      for await (const e of it) {
        const value = e.operation === "PUT" ? parsed(e) : undefined;
        if (value === undefined) this.records.delete(e.key);
        else this.records.set(e.key, { value, revision: e.revision });
        this.seen = Math.max(this.seen, e.revision);
        for (const w of this.waiters) if (w.revision <= this.seen) w.resolve();
      }
    } finally {
      // Nothing follows the bucket any more: every read goes to KV.
      this.watching = false;
      this.records.clear();
      for (const w of this.waiters) w.resolve();
    }
  }

  /**
   * After a sync that could not learn its revision: asks again until the bucket answers. A
   * revision learnt after the failed syncs is at least theirs (their writes came before);
   * one that a failure overtook is not trusted, and asked for again.
   */
  private async relearn(): Promise<void> {
    while (this.watching) {
      await sleep(RETRY_MS);
      const failures = this.failures;
      try {
        const last = await this.lastRevision();
        this.target = Math.max(this.target, last);
        if (failures === this.failures) {
          this.unknown = false;
          return;
        }
      } catch {
        // Still no answer: reads keep going to KV.
      }
    }
  }

  /** The bucket's last revision: its stream's last sequence (a deleted key's marker counts). */
  private async lastRevision(): Promise<number> {
    return (await this.bucket.kv.status()).streamInfo.state.last_seq;
  }
}

interface WatchEntry {
  key: string;
  revision: number;
  operation: string;
  json<T>(): T;
}

/** A stored value that does not parse is left out of the copy: reads of it go to KV, which says what is wrong. */
const parsed = (e: WatchEntry): NetworkRecord | undefined => {
  try {
    return e.json<NetworkRecord>();
  } catch {
    return undefined;
  }
};
