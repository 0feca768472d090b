import { Coalescer, Semaphore, type EventPublisher } from "@sdn/bus";
import { ApplyTunnels, CommandError, type ResponseOf } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { AgentClient } from "./agent-client.js";
import { Arrivals } from "./arrivals.js";
import type { ElementConfig } from "./config.js";
import { describeError } from "./element-errors.js";
import { applyTunnelsRequest, encapsulationOf } from "./encapsulation.js";
import { SingleFlight } from "./single-flight.js";
import {
  tunnelSetKey,
  type ElementStore,
  type Membership,
  type StoredMembership,
  type StoredTunnelSet,
} from "./store.js";
import { TunnelSets, type Remote } from "./tunnel-sets.js";

export type HostApply =
  { ok: true; tunnels: ResponseOf<typeof ApplyTunnels>["tunnels"] } | { ok: false; error: CommandError };

/** What one mesh pass did on each host of the network. */
export interface MeshPass {
  hosts: Map<string, HostApply>;
  /** How many of `hosts` failed, counted once for every plug that shares the pass. */
  failures: number;
  /** Agent rounds: how many times the whole network was applied before membership stood still. */
  rounds: number;
}

/** Rounds before a pass gives up chasing a membership that keeps moving (the next change runs another). */
const MAX_ROUNDS = 20;
const CAS_ATTEMPTS = 400;

/** The part of a membership the tunnels depend on: encapsulation, key, encryption and host endpoints (not the NICs). */
const topology = (m: Membership): string =>
  `${encapsulationOf(m)}/${m.greKey}/${m.ipsecPsk?.ciphertext ?? "clear"}|${Object.entries(m.hosts)
    .map(([id, h]) => `${id}=${h.ip}`)
    .sort()
    .join(",")}`;

/**
 * Every host's tunnel endpoint, ordered by host id. A pass sorts them once and takes each
 * host's remotes out of the one list: sorting every host's remotes anew (N sorts of N-1)
 * was 12% of the CPU of a 200-host pass, more than the element's own bookkeeping.
 */
const endpointsOf = (m: Membership): Remote[] =>
  Object.entries(m.hosts)
    .map(([id, h]) => ({ ip: h.ip, hostId: id }))
    .sort((a, b) => a.hostId.localeCompare(b.hostId));

const without = (endpoints: Remote[], hostId: string): Remote[] => endpoints.filter((r) => r.hostId !== hostId);

/** The remotes of `hostId`: every other host of the network. */
export const remotesOf = (m: Membership, hostId: string): Remote[] => without(endpointsOf(m), hostId);

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
 * The full mesh of tunnels (GRE or VXLAN, the network's encapsulation) of every network (CloudStack's OvsTunnelManager, without its per-tunnel
 * commands). Membership lives in KV and changes by compare-and-swap; after a change, each
 * host whose recorded set differs from what membership wants gets its WHOLE tunnel set in
 * one ApplyTunnels (at most SDN_MESH_FANOUT calls at once). A pass then reads membership
 * again and applies again while it moved, so the last set a host receives from any pass is
 * the newest: concurrent plugs converge to one mesh. Passes of a network are coalesced and
 * wait (bounded) for the plugs of this replica still on their way, so a burst of plugs costs
 * about one ApplyTunnels per host (see docs/ovs-element.md, "Convergence").
 */
export class Mesh {
  private readonly arrivals: Arrivals;
  private readonly passes: Coalescer<MeshPass>;
  /** Bounds the agent calls of one pass (and of one retry round) in flight at once. */
  private readonly fanOut: Semaphore;
  private readonly sets: TunnelSets;
  /** `<networkId>.<hostId>` of bridges created since their set was last applied. */
  private readonly fresh = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly changes = new Map<string, QueuedChange[]>();
  private readonly lookUps = new SingleFlight<StoredMembership | undefined>();
  private stopped = false;

  constructor(private readonly d: MeshDeps) {
    this.arrivals = new Arrivals(d.config.SDN_MESH_SETTLE_MS);
    this.passes = new Coalescer<MeshPass>(
      (networkId) => this.pass(networkId),
      (networkId) => this.arrivals.settled(networkId),
    );
    this.fanOut = new Semaphore(d.config.SDN_MESH_FANOUT);
    this.sets = new TunnelSets(d);
  }

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

  /**
   * The network's membership as stored, for a plug's look-up of its own earlier entry (a
   * redelivery): look-ups of one network in flight at once share one read, so a burst of
   * plugs does not each read (and parse) the whole membership. Not for passes or changes,
   * which read fresh.
   */
  lookUp(networkId: string): Promise<StoredMembership | undefined> {
    return this.lookUps.run(networkId, () => this.d.store.memberships.get(networkId));
  }

  /** Applies the network's mesh; resolves with a pass that began after this call. */
  converge(networkId: string): Promise<MeshPass> {
    return this.passes.request(networkId);
  }

  /** Counts a plug on its way to `converge`; call the returned function when it asks (or gives up). */
  arrive(networkId: string): () => void {
    return this.arrivals.arrive(networkId);
  }

  /**
   * The host's bridge on the network was just created (empty) by a call other than the
   * pass's ApplyTunnels (a plug's PlugVif): its recorded tunnel set, whatever it says, is
   * not on the host, so the next pass applies it.
   */
  bridgeCreated(networkId: string, hostId: string): void {
    this.fresh.add(tunnelSetKey(networkId, hostId));
  }

  /**
   * Rounds until membership stands still: each applies the hosts whose recorded set is not
   * the one the membership wants, and keeps the others' records as their answer.
   */
  private async pass(networkId: string): Promise<MeshPass> {
    let applied: string | undefined;
    const hosts = new Map<string, HostApply>();
    let rounds = 0;
    while (rounds < MAX_ROUNDS) {
      const cur = await this.d.store.memberships.get(networkId);
      if (cur === undefined) {
        await this.forgetTunnelSets(networkId, new Set());
        return { hosts: new Map(), failures: 0, rounds };
      }
      const shape = topology(cur.value);
      if (shape === applied) break;
      const round = await this.applyAll(cur.value, cur.revision);
      for (const id of hosts.keys()) if (!round.has(id)) hosts.delete(id);
      for (const [id, r] of round) hosts.set(id, r);
      applied = shape;
      rounds++;
    }
    const failures = [...hosts.values()].filter((r) => !r.ok).length;
    return { hosts, failures, rounds };
  }

  private async applyAll(m: Membership, revision: number): Promise<Map<string, HostApply>> {
    const recorded = (await this.d.store.tunnels.keys(`${m.networkId}.>`)).map((k) => k.slice(m.networkId.length + 1));
    const known = new Set(recorded);
    const ids = Object.keys(m.hosts);
    const endpoints = endpointsOf(m);
    const results = await Promise.all(
      ids.map((id) =>
        this.fanOut.run(async () => {
          const key = tunnelSetKey(m.networkId, id);
          const prev = known.has(id) ? await this.d.store.tunnels.get(key) : undefined;
          const remotes = without(endpoints, id);
          if (!this.fresh.has(key) && TunnelSets.current(prev?.value, m, remotes)) {
            const rows = prev?.value.rows ?? [];
            return [
              id,
              { ok: true, tunnels: rows.map((r) => ({ port: r.port as string, remoteIp: r.remoteIp })) },
            ] as const;
          }
          this.fresh.delete(key);
          return [id, await this.applyHost(m, id, { revision, prev, remotes })] as const;
        }),
      ),
    );
    await this.forgetTunnelSets(m.networkId, new Set(ids), recorded);
    return new Map<string, HostApply>(results);
  }

  /** One host's whole tunnel set, recorded as its tunnel set entry; the agent sets up a missing bridge first. */
  async applyHost(
    m: Membership,
    hostId: string,
    at: { revision: number; prev?: StoredTunnelSet | undefined; remotes?: Remote[] },
  ): Promise<HostApply> {
    const remotes = at.remotes ?? remotesOf(m, hostId);
    // A host that joins (or lost its bridge) gets it in the same call (ensureBridge): no SetupBridge first.
    const body = { ...applyTunnelsRequest(m, remotes), ensureBridge: true };
    const prev = "prev" in at ? at.prev : await this.d.store.tunnels.get(tunnelSetKey(m.networkId, hostId));
    try {
      const out = await this.d.agents.call(hostId, ApplyTunnels, body);
      await this.sets.recordSuccess(m, at.revision, hostId, remotes, out, prev);
      return { ok: true, tunnels: out.tunnels };
    } catch (err) {
      const error =
        err instanceof CommandError ? err : new CommandError("INTERNAL", `applying tunnels on ${hostId} failed`);
      if (!(err instanceof CommandError)) this.d.logger.error({ err, hostId }, "applying tunnels failed");
      const retryInMs = await this.sets.recordFailure(m, at.revision, hostId, remotes, error, prev);
      this.scheduleRetry(m.networkId, retryInMs);
      return { ok: false, error };
    }
  }

  /** Deletes the tunnel sets of hosts that left the network. */
  private async forgetTunnelSets(networkId: string, keep: Set<string>, known?: string[]): Promise<void> {
    const from = known ?? (await this.d.store.tunnels.keys(`${networkId}.>`)).map((k) => k.slice(networkId.length + 1));
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
    const keys = await this.d.store.tunnels.keys(`${networkId}.>`);
    const sets = await Promise.all(keys.map((k) => this.d.store.tunnels.get(k)));
    const due = sets.filter(
      (s): s is StoredTunnelSet => s?.value.state === "Failed" && cur.value.hosts[s.value.from] !== undefined,
    );
    const ready = due.filter((s) => s.value.nextRetryAt === null || Date.parse(s.value.nextRetryAt) <= now);
    for (const s of due.filter((x) => !ready.includes(x))) {
      this.scheduleRetry(networkId, Math.max(0, Date.parse(s.value.nextRetryAt ?? "") - now));
    }
    if (ready.length === 0) return;
    const endpoints = endpointsOf(cur.value);
    await Promise.all(
      ready.map((s) =>
        this.fanOut.run(() =>
          this.applyHost(cur.value, s.value.from, {
            revision: cur.revision,
            prev: s,
            remotes: without(endpoints, s.value.from),
          }),
        ),
      ),
    );
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
