import type { EventPublisher } from "@sdn/bus";
import { ApplyTunnels, CommandError, TunnelEstablished, TunnelFailed, type ResponseOf } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { ElementConfig } from "./config.js";
import { hostErrorFor, withoutUnderlay } from "./tenant-view.js";
import {
  tunnelSetKey,
  type ElementStore,
  type Membership,
  type StoredTunnelSet,
  type TunnelRow,
  type TunnelSet,
} from "./store.js";

export type Remote = { ip: string; hostId: string };

const CAS_ATTEMPTS = 10;

export interface TunnelSetDeps {
  store: ElementStore;
  events: EventPublisher;
  config: ElementConfig;
  logger: Logger;
}

/**
 * The record of each host's tunnel set on a network: one KV entry per host and network,
 * written by compare-and-swap only when what the host reported differs from the record,
 * with its event (TunnelEstablished for new tunnels, TunnelFailed with its back-off).
 */
export class TunnelSets {
  constructor(private readonly d: TunnelSetDeps) {}

  /**
   * True when the record says the host already has exactly this set, Established: a pass
   * skips such hosts (a second NIC on a host, or a plug on a host the burst already covered).
   */
  static current(prev: TunnelSet | undefined, m: Membership, remotes: Remote[]): boolean {
    if (prev === undefined || prev.state !== "Established" || prev.key !== m.greKey) return false;
    if (prev.rows.length !== remotes.length) return false;
    const have = new Map(prev.rows.map((r) => [r.to, r]));
    return remotes.every((r) => {
      const row = have.get(r.hostId);
      return row !== undefined && row.remoteIp === r.ip && row.port !== null;
    });
  }

  async recordSuccess(
    m: Membership,
    revision: number,
    hostId: string,
    remotes: Remote[],
    out: ResponseOf<typeof ApplyTunnels>,
    prev: StoredTunnelSet | undefined,
  ): Promise<void> {
    const portOf = new Map(out.tunnels.map((t) => [t.remoteIp, t.port]));
    const rows: TunnelRow[] = remotes.map((r) => ({ to: r.hostId, remoteIp: r.ip, port: portOf.get(r.ip) ?? null }));
    const complete = rows.every((r) => r.port !== null);
    const set: TunnelSet = {
      networkId: m.networkId,
      from: hostId,
      key: m.greKey,
      state: complete ? "Established" : "Failed",
      rows,
      lastError: complete ? null : "the host did not report every tunnel it was given",
      attempts: 0,
      nextRetryAt: null,
      updatedAt: new Date().toISOString(),
      membershipRevision: revision,
    };
    const before = prev?.value;
    const wasUp = new Set(
      before?.state === "Established" && before.key === m.greKey ? before.rows.map((r) => `${r.to}/${r.port}`) : [],
    );
    const fresh = rows.filter((r) => r.port !== null && !wasUp.has(`${r.to}/${r.port}`));
    if (before !== undefined && before.state === set.state && fresh.length === 0 && sameRows(before.rows, rows)) return;
    if (!(await this.write(set, prev))) return;
    if (fresh.length > 0) {
      await this.d.events.publish(
        TunnelEstablished,
        {
          networkId: m.networkId,
          from: hostId,
          tunnels: fresh.map((r) =>
            withoutUnderlay(m.accountId, { to: r.to, remoteIp: r.remoteIp, port: r.port as string }),
          ),
        },
        { accountId: m.accountId },
      );
    }
  }

  /** Records the failure with its back-off; returns in how many ms the set is due again. */
  async recordFailure(
    m: Membership,
    revision: number,
    hostId: string,
    remotes: Remote[],
    error: CommandError,
    prev: StoredTunnelSet | undefined,
  ): Promise<number> {
    const before = prev?.value;
    const attempts = (before?.state === "Failed" ? before.attempts : 0) + 1;
    const { SDN_TUNNEL_RETRY_MIN_MS: min, SDN_TUNNEL_RETRY_MAX_MS: max } = this.d.config;
    const retryInMs = Math.min(max, min * 2 ** Math.min(attempts - 1, 30));
    const ports = new Map((before?.rows ?? []).map((r) => [r.to, r.port]));
    const set: TunnelSet = {
      networkId: m.networkId,
      from: hostId,
      key: m.greKey,
      state: "Failed",
      rows: remotes.map((r) => ({ to: r.hostId, remoteIp: r.ip, port: ports.get(r.hostId) ?? null })),
      lastError: error.message,
      attempts,
      nextRetryAt: new Date(Date.now() + retryInMs).toISOString(),
      updatedAt: new Date().toISOString(),
      membershipRevision: revision,
    };
    await this.write(set, prev);
    this.d.logger.warn({ networkId: m.networkId, hostId, attempts, err: error.message }, "tunnel set failed");
    await this.d.events.publish(
      TunnelFailed,
      {
        networkId: m.networkId,
        from: hostId,
        to: remotes.map((r) => r.hostId),
        error: hostErrorFor(m.accountId, error.message),
        attempts,
        retryInMs,
      },
      { accountId: m.accountId },
    );
    return retryInMs;
  }

  /**
   * Compare-and-swap from the entry the pass read; on a lost race, reads again. A record
   * applied from a newer membership stays (false): another replica's pass was later.
   */
  private async write(set: TunnelSet, prev: StoredTunnelSet | undefined): Promise<boolean> {
    const bucket = this.d.store.tunnels;
    const key = tunnelSetKey(set.networkId, set.from);
    let cur = prev;
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      if ((cur?.value.membershipRevision ?? 0) > (set.membershipRevision ?? 0)) return false;
      const written =
        cur === undefined ? await bucket.tryCreate(key, set) : await bucket.tryUpdate(key, set, cur.revision);
      if (written !== undefined) return true;
      cur = await bucket.get(key);
    }
    // Still moving after this many rounds: the newer writers' record stands; reconciliation
    // compares it with the host and repairs.
    this.d.logger.warn({ networkId: set.networkId, hostId: set.from }, "tunnel set record kept changing; left as is");
    return false;
  }
}

const sameRows = (a: TunnelRow[], b: TunnelRow[]): boolean => JSON.stringify(a) === JSON.stringify(b);
