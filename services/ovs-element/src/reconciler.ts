import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { EventPublisher } from "@sdn/bus";
import {
  DestroyBridge,
  DriftRepaired,
  eventFilter,
  GetOvsState,
  HostConnected,
  OvsDriftDetected,
  PlugVif,
  type EventEnvelope,
  type OvsBridge,
} from "@sdn/contracts";
import type { Static } from "@sdn/typebox";
import type { Logger } from "@sdn/runtime";
import type { AgentClient } from "./agent-client.js";
import type { ElementConfig } from "./config.js";
import { describeError } from "./element-errors.js";
import { encapsulationOf } from "./encapsulation.js";
import type { MembershipPruner } from "./membership-pruner.js";
import { remotesOf, type Mesh } from "./mesh.js";
import { tunnelSetKey, type ElementStore, type Membership } from "./store.js";
import { repairsFor, type Repair } from "./tenant-view.js";
import { reconcileRepairs, reconcileUnread } from "./metrics.js";

type Bridge = Static<typeof OvsBridge>;

export interface ReconcilerDeps {
  nc: NatsConnection;
  store: ElementStore;
  mesh: Mesh;
  pruner: MembershipPruner;
  agents: AgentClient;
  events: EventPublisher;
  config: ElementConfig;
  logger: Logger;
}

/** How long stop() waits for a round in progress. */
const STOP_GRACE_MS = 2_000;
/** How many hosts are read and repaired at once. */
const HOST_CONCURRENCY = 16;

/**
 * Compares each host's real Open vSwitch state (GetOvsState) with the desired state in KV
 * and repairs drift: a bridge lost in a reboot or deleted under us, a missing or stray
 * tunnel, a NIC port gone, a bridge of a network the host left. It runs when an agent
 * (re)connects to a host, for the networks of a host the agent saw drift on
 * (OvsDriftDetected: repaired at once), and every SDN_RECONCILE_INTERVAL_MS as a safety net. It reads the desired state
 * fresh each time (never before the KV buckets are open), and it never fights a change in
 * flight: a network with a plug or unplug under way, or whose membership revision moves
 * while the host is examined, is left to the next round.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private subs: Subscription[] = [];
  private running: Promise<void> = Promise.resolve();
  private periodicQueued = false;
  private stopped = false;

  constructor(private readonly d: ReconcilerDeps) {}

  start(): void {
    // Queue groups: one element replica reconciles each reconnected or drifted host.
    this.follow(HostConnected, (d) => this.reconcileHost(d.id));
    this.follow<{ id: string; networkIds: string[] }>(OvsDriftDetected, (d) => this.reconcileHost(d.id, d.networkIds));
    const tick = () => {
      this.timer = setTimeout(() => {
        // A round that outlasts the interval is not followed by a queue of others.
        if (!this.periodicQueued) {
          this.periodicQueued = true;
          this.enqueue(() => {
            this.periodicQueued = false;
            return this.reconcileAll();
          });
        }
        if (!this.stopped) tick();
      }, this.d.config.SDN_RECONCILE_INTERVAL_MS);
      this.timer.unref();
    };
    tick();
  }

  private follow<D extends { id: string }>(
    event: { service: string; name: string },
    round: (data: D) => Promise<unknown>,
  ): void {
    const sub = this.d.nc.subscribe(eventFilter({ service: event.service, event: event.name }), {
      queue: "ovs-element-reconcile",
      callback: (err, m) => {
        if (err !== null) return;
        try {
          const env = m.json<EventEnvelope<D>>();
          this.enqueue(() => round(env.data));
        } catch (e) {
          this.d.logger.warn({ err: describeError(e) }, `unreadable ${event.name} event`);
        }
      },
    });
    this.subs.push(sub);
  }

  /** Stops taking rounds; a round in progress gets a moment to finish (it is idempotent if cut). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
    await Promise.race([this.running, new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
  }

  /** One round at a time: rounds never overlap each other. */
  private enqueue(work: () => Promise<unknown>): void {
    if (this.stopped) return;
    this.running = this.running
      .then(() => (this.stopped ? undefined : work()))
      .then(() => undefined)
      .catch((err: unknown) => this.d.logger.warn({ err: describeError(err) }, "reconciliation round failed"));
  }

  /**
   * Every host of every network, then the tunnel sets that failed and are due a retry,
   * then the meshes of deleted networks.
   */
  async reconcileAll(): Promise<number> {
    const memberships = (await this.d.store.memberships.entries()).map((e) => e.value);
    const hosts = [...new Set(memberships.flatMap((m) => Object.keys(m.hosts)))];
    let repaired = 0;
    for (let i = 0; i < hosts.length; i += HOST_CONCURRENCY) {
      const counts = await Promise.all(hosts.slice(i, i + HOST_CONCURRENCY).map((h) => this.reconcileHost(h)));
      repaired += counts.reduce((a, b) => a + b, 0);
    }
    await Promise.all(memberships.map((m) => this.d.mesh.retryFailed(m.networkId)));
    await this.d.pruner.prune(memberships);
    return repaired;
  }

  /** Repairs one host (only the given networks, if any); returns how many networks needed a repair. */
  async reconcileHost(hostId: string, networkIds?: readonly string[]): Promise<number> {
    let bridges: Bridge[];
    try {
      bridges = (await this.d.agents.call(hostId, GetOvsState, {})).bridges;
    } catch (err) {
      reconcileUnread.inc();
      this.d.logger.debug({ hostId, err: describeError(err) }, "host not reconciled: its state could not be read");
      return 0;
    }
    const keys = networkIds ?? (await this.d.store.memberships.keys());
    const memberships = await Promise.all(
      keys.map(async (k) => ({
        key: k,
        entry: await this.d.store.memberships.get(k),
      })),
    );
    let repaired = 0;
    for (const { key, entry } of memberships) {
      if (entry === undefined || this.inFlight(entry.value)) continue;
      const bridge = bridges.find((b) => b.networkId === key);
      const repairs =
        entry.value.hosts[hostId] !== undefined
          ? await this.repairMember(entry.value, entry.revision, hostId, bridge)
          : await this.removeStray(entry.value, entry.revision, hostId, bridge);
      if (repairs.length > 0) {
        repaired++;
        reconcileRepairs.inc();
        this.d.logger.info({ hostId, networkId: key, repairs: repairs.map((r) => r.text) }, "repaired drift");
        await this.d.events.publish(
          DriftRepaired,
          { networkId: key, hostId, repairs: repairsFor(entry.value.accountId, repairs) },
          { accountId: entry.value.accountId },
        );
      }
    }
    return repaired;
  }

  /** A plug or unplug under way (not one whose command died long ago). */
  private inFlight(m: Membership): boolean {
    const staleAfter = this.d.config.SDN_AGENT_TIMEOUT_MS * 4;
    return Object.values(m.hosts).some((h) =>
      Object.values(h.nics).some((n) => n.state !== "Plugged" && Date.now() - Date.parse(n.since) < staleAfter),
    );
  }

  /** True when the membership is still at the revision the repair was planned on. */
  private async unchanged(networkId: string, revision: number): Promise<boolean> {
    return (await this.d.store.memberships.get(networkId))?.revision === revision;
  }

  private async repairMember(
    m: Membership,
    revision: number,
    hostId: string,
    bridge: Bridge | undefined,
  ): Promise<Repair[]> {
    const repairs: Repair[] = [];
    const note = (text: string, tenantText = text) => repairs.push({ text, tenantText });
    const wanted = new Map(remotesOf(m, hostId).map((r) => [r.ip, r.hostId]));
    const nics = Object.entries(m.hosts[hostId]?.nics ?? {});
    if (bridge === undefined) note("bridge missing");
    else {
      const tunnels = bridge.ports.filter((p) => p.externalIds["sdn-role"] === "tunnel");
      const seen = new Map<string, number>();
      for (const p of tunnels) {
        const iface = p.interfaces[0];
        const ip = iface?.options["remote_ip"] ?? "";
        seen.set(ip, (seen.get(ip) ?? 0) + 1);
        if (!wanted.has(ip)) note(`stray tunnel ${p.name} to ${ip}`, `stray tunnel ${p.name}`);
        else if (
          iface?.options["key"] !== String(m.greKey) ||
          !p.protected ||
          iface.type !== encapsulationOf(m) ||
          // An encrypted network's tunnel that lost its key would carry cleartext: re-apply.
          (m.ipsecPsk !== undefined && iface.options["psk"] === undefined)
        ) {
          note(`tunnel ${p.name} to ${ip} is misconfigured`, `tunnel ${p.name} to ${wanted.get(ip)} is misconfigured`);
        }
      }
      for (const [ip, peer] of wanted) {
        const n = seen.get(ip) ?? 0;
        if (n === 0) note(`tunnel to ${peer} (${ip}) missing`, `tunnel to ${peer} missing`);
        if (n > 1) note(`${n} tunnels to ${peer} (${ip})`, `${n} tunnels to ${peer}`);
      }
      const set = (await this.d.store.tunnels.get(tunnelSetKey(m.networkId, hostId)))?.value;
      if (set?.state === "Failed") note("tunnel set Failed");
      for (const [, n] of nics) {
        if (!bridge.ports.some((p) => p.name === n.device)) note(`NIC port ${n.device} missing`);
      }
    }
    if (repairs.length === 0 || !(await this.unchanged(m.networkId, revision))) return [];
    const applied = await this.d.mesh.applyHost(m, hostId, { revision });
    if (!applied.ok) return [];
    for (const [nicId, n] of nics) {
      if (bridge !== undefined && bridge.ports.some((p) => p.name === n.device)) continue;
      await this.d.agents
        .call(hostId, PlugVif, {
          networkId: m.networkId,
          device: n.device,
          nicId,
          mac: n.mac,
          vmId: n.vmId,
          ...(n.ip === undefined ? {} : { ip: n.ip }),
          ...(n.portSecurity === undefined ? {} : { portSecurity: n.portSecurity }),
        })
        .catch((err: unknown) =>
          note(`NIC port ${n.device} not restored: ${describeError(err)}`, `NIC port ${n.device} not restored`),
        );
    }
    return repairs;
  }

  /** The bridge of a network the host is no longer part of (an unplug while it was away). */
  private async removeStray(
    m: Membership,
    revision: number,
    hostId: string,
    bridge: Bridge | undefined,
  ): Promise<Repair[]> {
    if (bridge === undefined || !bridge.managed) return [];
    if (!(await this.unchanged(m.networkId, revision))) return [];
    await this.d.agents.call(hostId, DestroyBridge, { networkId: m.networkId });
    const text = `stray bridge ${bridge.name} removed`;
    return [{ text, tenantText: text }];
  }
}
