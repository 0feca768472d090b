import type { EventPublisher } from "@sdn/bus";
import {
  ApplyTunnels,
  CommandError,
  SetupBridge,
  TunnelEstablished,
  TunnelFailed,
  type ResponseOf,
} from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import { AgentCallError, type AgentClient } from "./agent-client.js";
import { Coalescer } from "./coalescer.js";
import type { ElementConfig } from "./config.js";
import { describeError } from "./element-errors.js";
import { tunnelSetKey, type ElementStore, type Membership, type TunnelRow, type TunnelSet } from "./store.js";

export type HostApply =
  { ok: true; tunnels: ResponseOf<typeof ApplyTunnels>["tunnels"] } | { ok: false; error: CommandError };

/** What one mesh pass did on each host of the network. */
export interface MeshPass {
  hosts: Map<string, HostApply>;
  /** Agent rounds: how many times the whole network was applied before membership stood still. */
  rounds: number;
}

/** Rounds before a pass gives up chasing a membership that keeps moving (the next change runs another). */
const MAX_ROUNDS = 20;
const CAS_ATTEMPTS = 400;

/** The part of a membership the tunnels depend on: key and host endpoints (not the NICs). */
const topology = (m: Membership): string =>
  `${m.greKey}|${Object.entries(m.hosts)
    .map(([id, h]) => `${id}=${h.ip}`)
    .sort()
    .join(",")}`;

/** The remotes of `hostId`: every other host of the network. */
export const remotesOf = (m: Membership, hostId: string): { ip: string; hostId: string }[] =>
  Object.entries(m.hosts)
    .filter(([id]) => id !== hostId)
    .map(([id, h]) => ({ ip: h.ip, hostId: id }))
    .sort((a, b) => a.hostId.localeCompare(b.hostId));

export type MembershipChange = (current: Membership | undefined) => Membership | null | undefined;

interface QueuedChange {
  change: MembershipChange;
  resolve: (m: Membership | undefined) => void;
  reject: (err: unknown) => void;
}

export interface MeshDeps {
  store: ElementStore;
  agents: AgentClient;
  events: EventPublisher;
  config: ElementConfig;
  logger: Logger;
}

/**
 * The GRE full mesh of every network (CloudStack's OvsTunnelManager, without its per-tunnel
 * commands). Membership lives in KV and changes by compare-and-swap; after a change, each
 * host of the network gets its WHOLE tunnel set in one ApplyTunnels, all hosts in parallel.
 * A pass then reads membership again and applies again while it moved, so the last set a
 * host receives from any pass is the newest: concurrent plugs converge to one mesh.
 */
export class Mesh {
  private readonly passes = new Coalescer<MeshPass>((networkId) => this.pass(networkId));
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly changes = new Map<string, QueuedChange[]>();
  private stopped = false;

  constructor(private readonly d: MeshDeps) {}

  /**
   * Compare-and-swap on a network's membership. `change` returns the next value, undefined
   * to leave it, or null to delete it; it may throw to refuse (only its caller sees that).
   * Changes to one network queued in this replica meanwhile are written together in one
   * compare-and-swap (a group commit), so many plugs at once do not fight over the revision.
   */
  change(networkId: string, change: MembershipChange): Promise<Membership | undefined> {
    let queue = this.changes.get(networkId);
    const queued = new Promise<Membership | undefined>((resolve, reject) => {
      if (queue === undefined) {
        queue = [];
        this.changes.set(networkId, queue);
        void this.commit(networkId, queue);
      }
      queue.push({ change, resolve, reject });
    });
    return queued;
  }

  private async commit(networkId: string, queue: QueuedChange[]): Promise<void> {
    // Let the changes of this tick join the batch.
    await Promise.resolve();
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      try {
        const outcome = await this.write(networkId, batch);
        batch.forEach((q, i) => {
          const o = outcome[i] as { error?: unknown };
          if ("error" in o) q.reject(o.error);
          else q.resolve((o as { value: Membership | undefined }).value);
        });
      } catch (err) {
        for (const q of batch) q.reject(err);
      }
    }
    this.changes.delete(networkId);
  }

  private async write(
    networkId: string,
    batch: QueuedChange[],
  ): Promise<({ value: Membership | undefined } | { error: unknown })[]> {
    const bucket = this.d.store.memberships;
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = await bucket.get(networkId);
      let value: Membership | null | undefined = cur?.value;
      const outcome = batch.map((q) => {
        try {
          const next = q.change(value ?? undefined);
          if (next !== undefined) value = next;
          return { value: value ?? undefined };
        } catch (error) {
          return { error };
        }
      });
      let won: boolean;
      if (value === (cur?.value ?? undefined)) won = true;
      else if (value === null || value === undefined) {
        won = cur === undefined || (await bucket.tryDelete(networkId, cur.revision));
      } else if (cur === undefined) won = (await bucket.tryCreate(networkId, value)) !== undefined;
      else won = (await bucket.tryUpdate(networkId, value, cur.revision)) !== undefined;
      if (won) return outcome;
      // Another replica wrote first: spread the retries out a little.
      if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
    }
    throw new CommandError("CONFLICT", `the membership of network ${networkId} kept changing; retry the request`);
  }

  /** Applies the network's mesh; resolves with a pass that began after this call. */
  converge(networkId: string): Promise<MeshPass> {
    return this.passes.request(networkId);
  }

  private async pass(networkId: string): Promise<MeshPass> {
    let applied: string | undefined;
    let hosts = new Map<string, HostApply>();
    let rounds = 0;
    while (rounds < MAX_ROUNDS) {
      const cur = await this.d.store.memberships.get(networkId);
      if (cur === undefined) {
        await this.forgetTunnelSets(networkId, new Set());
        return { hosts, rounds };
      }
      const shape = topology(cur.value);
      if (shape === applied) break;
      hosts = await this.applyAll(cur.value);
      applied = shape;
      rounds++;
    }
    return { hosts, rounds };
  }

  private async applyAll(m: Membership): Promise<Map<string, HostApply>> {
    const previous = new Map(
      (await this.d.store.tunnels.entries(`${m.networkId}.>`)).map(({ value }) => [value.from, value]),
    );
    const ids = Object.keys(m.hosts);
    const results = await Promise.all(
      ids.map(async (id) => [id, await this.applyHost(m, id, previous.get(id))] as const),
    );
    await this.forgetTunnelSets(m.networkId, new Set(ids), previous);
    return new Map(results);
  }

  /** One host's whole tunnel set, recorded as its tunnel rows; sets up a missing bridge first. */
  async applyHost(m: Membership, hostId: string, prev?: TunnelSet): Promise<HostApply> {
    const remotes = remotesOf(m, hostId);
    const body = { networkId: m.networkId, greKey: m.greKey, remotes };
    const before = prev ?? (await this.d.store.tunnels.get(tunnelSetKey(m.networkId, hostId)))?.value;
    try {
      let out: ResponseOf<typeof ApplyTunnels>;
      try {
        out = await this.d.agents.call(hostId, ApplyTunnels, body);
      } catch (err) {
        // A host that joins in another plug, or lost its bridge: the bridge first, then its tunnels.
        if (!(err instanceof AgentCallError) || err.code !== "NOT_FOUND") throw err;
        await this.d.agents.call(hostId, SetupBridge, { networkId: m.networkId });
        out = await this.d.agents.call(hostId, ApplyTunnels, body);
      }
      await this.recordSuccess(m, hostId, remotes, out, before);
      return { ok: true, tunnels: out.tunnels };
    } catch (err) {
      const error =
        err instanceof CommandError ? err : new CommandError("INTERNAL", `applying tunnels on ${hostId} failed`);
      if (!(err instanceof CommandError)) this.d.logger.error({ err, hostId }, "applying tunnels failed");
      await this.recordFailure(m, hostId, remotes, error, before);
      return { ok: false, error };
    }
  }

  private async recordSuccess(
    m: Membership,
    hostId: string,
    remotes: { ip: string; hostId: string }[],
    out: ResponseOf<typeof ApplyTunnels>,
    prev: TunnelSet | undefined,
  ): Promise<void> {
    const portOf = new Map(out.tunnels.map((t) => [t.remoteIp, t.port]));
    const rows: TunnelRow[] = remotes.map((r) => ({ to: r.hostId, remoteIp: r.ip, port: portOf.get(r.ip) ?? null }));
    const set: TunnelSet = {
      networkId: m.networkId,
      from: hostId,
      key: m.greKey,
      state: rows.every((r) => r.port !== null) ? "Established" : "Failed",
      rows,
      lastError: rows.every((r) => r.port !== null) ? null : "the host did not report every tunnel it was given",
      attempts: 0,
      nextRetryAt: null,
      updatedAt: new Date().toISOString(),
    };
    const wasUp = new Set(
      prev?.state === "Established" && prev.key === m.greKey ? prev.rows.map((r) => `${r.to}/${r.port}`) : [],
    );
    const fresh = rows.filter((r) => r.port !== null && !wasUp.has(`${r.to}/${r.port}`));
    if (prev !== undefined && prev.state === set.state && fresh.length === 0 && sameRows(prev.rows, rows)) return;
    await this.d.store.tunnels.put(tunnelSetKey(m.networkId, hostId), set);
    if (fresh.length > 0) {
      await this.d.events.publish(
        TunnelEstablished,
        {
          networkId: m.networkId,
          from: hostId,
          tunnels: fresh.map((r) => ({ to: r.to, remoteIp: r.remoteIp, port: r.port as string })),
        },
        { accountId: m.accountId },
      );
    }
  }

  private async recordFailure(
    m: Membership,
    hostId: string,
    remotes: { ip: string; hostId: string }[],
    error: CommandError,
    prev: TunnelSet | undefined,
  ): Promise<void> {
    const attempts = (prev?.state === "Failed" ? prev.attempts : 0) + 1;
    const { SDN_TUNNEL_RETRY_MIN_MS: min, SDN_TUNNEL_RETRY_MAX_MS: max } = this.d.config;
    const retryInMs = Math.min(max, min * 2 ** Math.min(attempts - 1, 30));
    const ports = new Map((prev?.rows ?? []).map((r) => [r.to, r.port]));
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
    };
    await this.d.store.tunnels.put(tunnelSetKey(m.networkId, hostId), set);
    this.d.logger.warn({ networkId: m.networkId, hostId, attempts, err: error.message }, "tunnel set failed");
    await this.d.events.publish(
      TunnelFailed,
      {
        networkId: m.networkId,
        from: hostId,
        to: remotes.map((r) => r.hostId),
        error: error.message,
        attempts,
        retryInMs,
      },
      { accountId: m.accountId },
    );
    this.scheduleRetry(m.networkId, retryInMs);
  }

  /** Deletes the tunnel rows of hosts that left the network. */
  private async forgetTunnelSets(networkId: string, keep: Set<string>, known?: Map<string, TunnelSet>): Promise<void> {
    const from =
      known !== undefined
        ? [...known.keys()]
        : (await this.d.store.tunnels.keys(`${networkId}.>`)).map((k) => k.slice(networkId.length + 1));
    await Promise.all(
      from.filter((h) => !keep.has(h)).map((h) => this.d.store.tunnels.delete(tunnelSetKey(networkId, h))),
    );
  }

  private scheduleRetry(networkId: string, inMs: number): void {
    if (this.stopped || this.retryTimers.has(networkId)) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(networkId);
      void this.retryFailed(networkId).catch((err: unknown) =>
        this.d.logger.warn({ err: describeError(err), networkId }, "tunnel retry failed"),
      );
    }, inMs);
    timer.unref();
    this.retryTimers.set(networkId, timer);
  }

  /**
   * Applies again the tunnel sets of the network that are Failed and due (back-off), with
   * the membership read now; if it moved meanwhile, the whole network converges.
   */
  async retryFailed(networkId: string): Promise<void> {
    const cur = await this.d.store.memberships.get(networkId);
    if (cur === undefined) return;
    const now = Date.now();
    const sets = await this.d.store.tunnels.entries(`${networkId}.>`);
    const due = sets.map((s) => s.value).filter((s) => s.state === "Failed" && cur.value.hosts[s.from] !== undefined);
    const ready = due.filter((s) => s.nextRetryAt === null || Date.parse(s.nextRetryAt) <= now);
    for (const s of due.filter((x) => !ready.includes(x))) {
      this.scheduleRetry(networkId, Math.max(0, Date.parse(s.nextRetryAt ?? "") - now));
    }
    if (ready.length === 0) return;
    await Promise.all(ready.map((s) => this.applyHost(cur.value, s.from, s)));
    const after = await this.d.store.memberships.get(networkId);
    if (after !== undefined && topology(after.value) !== topology(cur.value)) await this.converge(networkId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await this.passes.idle();
  }
}

const sameRows = (a: TunnelRow[], b: TunnelRow[]): boolean => JSON.stringify(a) === JSON.stringify(b);
