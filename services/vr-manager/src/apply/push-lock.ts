import { CommandError } from "@sdn/contracts";
import type { VrStore } from "../store.js";

const POLL_MS = 25;

/**
 * One replica at a time pushes to a router: a KV entry per router names the holder and
 * when its claim lapses (a replica that died mid-push blocks nobody past that). Taken and
 * released by compare-and-swap.
 */
export class PushLock {
  constructor(
    private readonly store: VrStore,
    private readonly holder: string,
    private readonly lockMs: number,
  ) {}

  /** Takes the router's lock, waiting up to `waitMs`; false when someone else kept it. */
  async acquire(routerId: string, waitMs: number): Promise<number | false> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const current = await this.store.locks.get(routerId);
      const claim = { holder: this.holder, until: Date.now() + this.lockMs };
      let revision: number | undefined;
      if (current === undefined) revision = await this.store.locks.tryCreate(routerId, claim);
      else if (current.value.until < Date.now())
        revision = await this.store.locks.tryUpdate(routerId, claim, current.revision);
      if (revision !== undefined) return revision;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async release(routerId: string, revision: number): Promise<void> {
    await this.store.locks.tryDelete(routerId, revision);
  }

  /** Runs `work` holding the router's lock; CONFLICT when another replica held it all along. */
  async holding<T>(routerId: string, waitMs: number, work: () => Promise<T>): Promise<T> {
    const revision = await this.acquire(routerId, waitMs);
    if (revision === false) {
      throw new CommandError("CONFLICT", `router ${routerId} is being configured by another replica; retry`);
    }
    try {
      return await work();
    } finally {
      await this.release(routerId, revision);
    }
  }
}
