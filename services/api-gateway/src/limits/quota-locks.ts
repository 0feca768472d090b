import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import { randomUUID } from "node:crypto";
import { HttpError } from "../http-errors.js";

/**
 * A lock left by a gateway that died while holding it lapses after this long. It must
 * outlast the longest hold (a quota count plus a create's wait for its answer).
 */
const LOCK_TTL_MS = 60_000;
const FIRST_PAUSE_MS = 5;
const LONGEST_PAUSE_MS = 100;

interface LockEntry {
  holder: string;
  takenAt: string;
}

/**
 * Quota locks shared by every gateway replica: an entry per account and quota in KV, made
 * only if absent (compare-and-swap), deleted by its holder at the revision it made. The
 * in-process lock in front of it keeps one replica's own creates from polling KV against
 * each other; this one keeps creates on two replicas from both seeing room for one more.
 */
export class QuotaLocks {
  private constructor(private readonly bucket: JsonBucket<LockEntry>) {}

  static async open(nc: NatsConnection): Promise<QuotaLocks> {
    return new QuotaLocks(await JsonBucket.open<LockEntry>(nc, "gw_quota_locks", { ttl: LOCK_TTL_MS }));
  }

  /**
   * Waits up to `waitMs` for the lock; the returned release never throws (a delete that
   * fails leaves the entry to lapse). 503 when another holder keeps it longer.
   */
  async acquire(key: string, waitMs: number): Promise<() => void> {
    const entry = { holder: randomUUID(), takenAt: new Date().toISOString() };
    const deadline = Date.now() + waitMs;
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      const revision = await this.bucket.tryCreate(key, entry);
      if (revision !== undefined) {
        let released = false;
        return () => {
          if (released) return;
          released = true;
          void this.bucket.tryDelete(key, revision).catch(() => undefined);
        };
      }
      if (Date.now() + pause > deadline) {
        throw new HttpError(
          "UNAVAILABLE",
          "another create counted against the same quota is still running; retry shortly",
        );
      }
      // Jittered, so that waiters on several replicas do not retry in step.
      await new Promise((r) => setTimeout(r, pause * (0.5 + Math.random())));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }
}
