import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { type EventPublisher, JsonBucket } from "@sdn/bus";
import {
  eventFilter,
  TunnelDown,
  TunnelHealthChanged,
  TunnelUp,
  type EventDataOf,
  type EventEnvelope,
  type Tunnel,
  type NetworkTunnelHealth,
  type TunnelHealth,
} from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { Collaborators } from "./collaborators.js";
import { describeError } from "./element-errors.js";
import type { ElementStore, Membership } from "./store.js";
import { withoutUnderlay } from "./tenant-view.js";

/** The bucket of tunnel health, apart from the tunnel rows (which are the mesh's to reshape). */
export const TUNNEL_HEALTH_BUCKET = "sdn_element_tunnel_health";

/** `<networkId>.<from>.<to>` → the last health the agent in charge of `from` reported. */
export interface HealthRecord {
  networkId: string;
  from: string;
  to: string;
  remoteIp: string;
  port: string;
  health: TunnelHealth;
  diagnostic: string | null;
  changedAt: string;
  /** When the agent read it: an older report (another replica, a late event) never overwrites a newer. */
  observedAt: string;
}

export const healthKey = (networkId: string, from: string, to: string): string => `${networkId}.${from}.${to}`;

/** A network's paths by health; `state` says whether packets cross every one of them. */
export type HealthSummary = Omit<NetworkTunnelHealth, "changedAt">;

export const summarise = (rows: { health?: TunnelHealth }[]): HealthSummary => {
  const n = { up: 0, down: 0, unknown: 0 };
  for (const r of rows) n[r.health ?? "unknown"]++;
  const state = n.down > 0 ? "Degraded" : n.unknown > 0 || rows.length === 0 ? "Unknown" : "AllUp";
  return { state, ...n };
};

type Report = EventDataOf<typeof TunnelHealthChanged>;

/**
 * Keeps each tunnel row's health from the agents' TunnelHealthChanged reports (one element
 * replica handles each report: a queue group), publishes TunnelDown / TunnelUp when a row's
 * health turns, and merges health into the tunnel views the element answers.
 */
export class TunnelHealthBook {
  private sub: Subscription | undefined;
  private running: Promise<void> = Promise.resolve();
  private pruneTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly bucket: JsonBucket<HealthRecord>,
    private readonly d: {
      nc: NatsConnection;
      store: ElementStore;
      events: EventPublisher;
      peers: Collaborators;
      logger: Logger;
    },
  ) {}

  static async open(d: TunnelHealthBook["d"]): Promise<TunnelHealthBook> {
    return new TunnelHealthBook(await JsonBucket.open<HealthRecord>(d.nc, TUNNEL_HEALTH_BUCKET), d);
  }

  /** Follows the agents' reports; prunes every `pruneEveryMs` (one pass at a time, with the reports). */
  start(pruneEveryMs: number): void {
    this.pruneTimer = setInterval(() => this.enqueue(() => this.prune()), pruneEveryMs);
    this.pruneTimer.unref();
    const subject = eventFilter({ service: TunnelHealthChanged.service, event: TunnelHealthChanged.name });
    this.sub = this.d.nc.subscribe(subject, {
      queue: "ovs-element-tunnel-health",
      callback: (err, m) => {
        if (err !== null) return;
        try {
          const report = m.json<EventEnvelope<Report>>().data;
          // One report at a time, in arrival order: a host's turns are published in order.
          this.enqueue(() => this.record(report));
        } catch (e) {
          this.d.logger.warn({ err: describeError(e) }, "unreadable TunnelHealthChanged event");
        }
      },
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.sub?.unsubscribe();
    await this.running;
  }

  /**
   * Forgets the records of rows that no longer exist: a network gone from the mesh, a host
   * that left it. Agents stop reporting a removed tunnel, so nothing else would. A network
   * that lost rows is summarised again: the departed host's rows (down ones included) leave
   * its summary now, not at the next turn of a remaining row, which may never come.
   */
  async prune(): Promise<number> {
    const byNetwork = new Map<string, string[]>();
    for (const key of await this.bucket.keys()) {
      const networkId = key.split(".")[0] as string;
      byNetwork.set(networkId, [...(byNetwork.get(networkId) ?? []), key]);
    }
    let removed = 0;
    for (const [networkId, keys] of byNetwork) {
      const m = (await this.d.store.memberships.get(networkId))?.value;
      const hosts = m?.hosts ?? {};
      let gone = 0;
      for (const key of keys) {
        const [, from, to] = key.split(".");
        if (from !== undefined && to !== undefined && hosts[from] !== undefined && hosts[to] !== undefined) continue;
        await this.bucket.delete(key);
        gone++;
      }
      removed += gone;
      if (gone > 0 && m !== undefined) await this.summariseOnGuru(m, new Date().toISOString());
    }
    return removed;
  }

  private enqueue(work: () => Promise<unknown>): void {
    this.running = this.running
      .then(work)
      .then(() => undefined)
      .catch((e: unknown) => this.d.logger.warn({ err: describeError(e) }, "cannot record tunnel health"));
  }

  /** Records a host's report row by row; the far end is the network's host with that tunnel address. */
  async record(report: Report): Promise<void> {
    const members = new Map<string, Awaited<ReturnType<ElementStore["memberships"]["get"]>>>();
    const turnedIn = new Map<string, Membership>();
    for (const t of report.tunnels) {
      if (!members.has(t.networkId)) members.set(t.networkId, await this.d.store.memberships.get(t.networkId));
      const m = members.get(t.networkId)?.value;
      const to = Object.entries(m?.hosts ?? {}).find(([, h]) => h.ip === t.remoteIp)?.[0];
      if (m === undefined || to === undefined || m.hosts[report.hostId] === undefined) continue; // a row we no longer want
      const out: { turned?: HealthRecord } = {};
      await this.bucket.update(healthKey(t.networkId, report.hostId, to), (cur) => {
        delete out.turned;
        if (cur !== undefined && cur.observedAt > report.observedAt) return undefined;
        const changed = cur?.health !== t.health;
        const next: HealthRecord = {
          networkId: t.networkId,
          from: report.hostId,
          to,
          remoteIp: t.remoteIp,
          port: t.port,
          health: t.health,
          diagnostic: t.diagnostic,
          changedAt: changed || cur === undefined ? report.observedAt : cur.changedAt,
          observedAt: report.observedAt,
        };
        if (changed) out.turned = next;
        return next;
      });
      const turned = out.turned;
      if (turned === undefined) continue;
      turnedIn.set(m.networkId, m);
      if (turned.health === "unknown") continue;
      const { networkId, from, remoteIp, port, diagnostic, changedAt } = turned;
      await this.d.events.publish(
        turned.health === "down" ? TunnelDown : TunnelUp,
        withoutUnderlay(m.accountId, { networkId, from, to: turned.to, remoteIp, port, diagnostic, changedAt }),
        { accountId: m.accountId },
      );
    }
    for (const m of turnedIn.values()) await this.summariseOnGuru(m, report.observedAt);
  }

  /**
   * Tells the guru how the network's paths fare, so GetNetwork says so: every ordered pair
   * of its hosts counts, a pair never reported as unknown (and a network of one host too).
   */
  private async summariseOnGuru(m: Membership, changedAt: string): Promise<void> {
    const known = new Map((await this.bucket.entries(`${m.networkId}.>`)).map((e) => [e.key, e.value.health]));
    const hosts = Object.keys(m.hosts);
    const rows = hosts.flatMap((from) =>
      hosts.filter((to) => to !== from).map((to) => ({ health: known.get(healthKey(m.networkId, from, to)) })),
    );
    await this.d.peers.recordTunnelHealth(m.networkId, { ...summarise(rows), changedAt });
  }

  /** The tunnels with their health (unknown, never changed, when nothing was reported). */
  async merge(networkId: string, tunnels: Tunnel[]): Promise<Tunnel[]> {
    // A page holds whole tunnel sets: read the records of its `from` hosts only, not the network's.
    const froms = [...new Set(tunnels.map((t) => t.from))];
    const read = await Promise.all(froms.map((from) => this.bucket.entries(`${networkId}.${from}.>`)));
    const known = new Map(read.flat().map((e) => [e.key, e.value]));
    return tunnels.map((t) => {
      const h = known.get(healthKey(t.networkId, t.from, t.to));
      // A report about another port (an earlier key, a replaced tunnel) says nothing of this one.
      const current = h !== undefined && (t.port === null || h.port === t.port) ? h : undefined;
      return { ...t, health: current?.health ?? "unknown", healthChangedAt: current?.changedAt ?? null };
    });
  }
}
