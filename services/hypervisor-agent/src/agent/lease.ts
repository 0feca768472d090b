import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";

interface LeaseRecord {
  owner: string;
  expiresAt: number;
}

/**
 * Which agent replica drives which host: a KV record per host, taken and renewed with
 * compare-and-swap. A replica holds a host while it renews in time; a record not renewed
 * by its expiry may be taken by another replica. The replicas' clocks must roughly agree
 * (the expiry is wall-clock time; the margin is a third of the lease).
 */
export class HostLeases {
  /** The expiry this replica last wrote for each host it holds. */
  private readonly heldUntil = new Map<string, number>();

  private constructor(
    private readonly bucket: JsonBucket<LeaseRecord>,
    readonly owner: string,
    readonly ttlMs: number,
  ) {}

  static async open(nc: NatsConnection, owner: string, ttlMs: number): Promise<HostLeases> {
    // A call lost with a server that went away is tried again well within the renewal margin
    // (at JetStream's default of 5 s, one lost renewal outlasted it and the hosts were dropped).
    const timeoutMs = Math.max(500, Math.floor(ttlMs / 10));
    return new HostLeases(await JsonBucket.open<LeaseRecord>(nc, "sdn-host-leases", {}, timeoutMs), owner, ttlMs);
  }

  /** Takes or renews the lease on `hostId`; true when this replica holds it afterwards. */
  async acquire(hostId: string): Promise<boolean> {
    const now = Date.now();
    const after = await this.bucket.update(hostId, (cur) =>
      cur === undefined || cur.owner === this.owner || cur.expiresAt <= now
        ? { owner: this.owner, expiresAt: now + this.ttlMs }
        : undefined,
    );
    if (after?.owner === this.owner) {
      this.heldUntil.set(hostId, after.expiresAt);
      return true;
    }
    this.heldUntil.delete(hostId);
    return false;
  }

  /**
   * Whether this replica surely still holds `hostId`: the lease it last wrote keeps every
   * other replica out until its expiry, so the host is ours until a third of the lease
   * before that expiry (the clock margin). Used when a renewal could not be written (a NATS
   * leader election answers "no quorum" for a few seconds: the host is kept rather than
   * dropped at the first failed write, which would leave every host unserved through each
   * election) and while a renewal is slow (the host is dropped when this turns false).
   */
  stillHeld(hostId: string): boolean {
    const until = this.heldUntil.get(hostId);
    return until !== undefined && Date.now() < until - this.ttlMs / 3;
  }

  /** Gives the lease up at once, so another replica can take the host without waiting. */
  async release(hostId: string): Promise<void> {
    this.heldUntil.delete(hostId);
    await this.bucket.update(hostId, (cur) => (cur?.owner === this.owner ? { ...cur, expiresAt: 0 } : undefined));
  }

  async holder(hostId: string): Promise<string | undefined> {
    const cur = (await this.bucket.get(hostId))?.value;
    return cur !== undefined && cur.expiresAt > Date.now() ? cur.owner : undefined;
  }
}
