import { Semaphore, serveRequests, type EventPublisher, type RequestServer, type SealingKeyPair } from "@sdn/bus";
import {
  CommandError,
  HostConnected,
  HostDisconnected,
  OvsDriftDetected,
  agentPrefix,
  type Host,
} from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { AgentConfig } from "../config.js";
import type { HostDriver } from "../drivers/driver.js";
import { createDriver } from "../drivers/factory.js";
import { HealthPoller } from "../health/health-poller.js";
import type { HostRegistry } from "../registry/host-registry.js";
import type { HostStore, StoredHost } from "../registry/host-store.js";
import { agentHandlers, type ServedHost } from "./agent-handlers.js";
import type { HostLeases } from "./lease.js";
import type { NatsConnection } from "@nats-io/transport-node";

/** Lease renewals in flight at once in a pass (each is a few KV round trips). */
const RENEWALS_AT_ONCE = 32;

/** A host this replica serves: its driver, its request server and what it last saw of it. */
class Charge implements ServedHost {
  server: RequestServer | undefined;
  private current: HostDriver | undefined;
  private closed = false;
  up: boolean | undefined;
  /** When the host's flows were last compared (periodic check); 0: never. */
  flowsCheckedAt = 0;

  constructor(
    public stored: StoredHost,
    readonly agentInstanceId: string,
    private readonly make: (s: StoredHost) => HostDriver,
    private readonly onState: (c: Charge, up: boolean, reason: string) => void,
  ) {}

  get host(): Host {
    return this.stored.host;
  }
  driver(): HostDriver {
    // A request left running past the drain bound must not open the host again.
    if (this.closed) throw new CommandError("UNAVAILABLE", `this agent replica no longer serves host ${this.host.id}`);
    this.current ??= this.make(this.stored);
    return this.current;
  }
  lost(reason: string): void {
    this.onState(this, false, reason);
  }
  reached(): void {
    this.onState(this, true, "");
  }
  /** Answers the requests already delivered, then closes the driver they used. */
  async close(): Promise<void> {
    await this.server?.drain();
    this.server = undefined;
    this.closed = true;
    const d = this.current;
    this.current = undefined;
    await d?.close().catch(() => undefined);
  }
}

export interface HostManagerDeps {
  nc: NatsConnection;
  logger: Logger;
  events: EventPublisher;
  config: AgentConfig;
  instanceId: string;
  store: HostStore;
  registry: HostRegistry;
  leases: HostLeases;
  /** Opens an encrypted network's IPsec key (ApplyTunnels.ipsecPsk). */
  sealing: SealingKeyPair;
}

/**
 * Serves the agent commands of the hosts this replica holds the lease of. Every replica
 * watches the registry and, every sixth of the lease, tries to take or renew each host's
 * lease: only the holder subscribes to sdn.agent.<hostId>.*, so two replicas never drive
 * one host. A replica that fails to renew drops the host at once; a removed host is
 * dropped and logged out of. Dropping a host stops its subscription taking requests at
 * once but answers those already delivered before the driver closes and the lease is
 * released, so a handover or a stop loses no request. The holder checks its hosts
 * periodically and reports HostConnected / HostDisconnected on changes.
 */
export class HostManager {
  private readonly known = new Map<string, StoredHost>();
  private readonly charges = new Map<string, Charge>();
  /** Hosts dropped whose last requests are still being answered. */
  private readonly leaving = new Map<string, Promise<void>>();
  private stopWatch: (() => void) | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly health: HealthPoller;

  constructor(private readonly d: HostManagerDeps) {
    this.health = new HealthPoller({
      events: d.events,
      logger: d.logger,
      intervalMs: d.config.SDN_TUNNEL_HEALTH_INTERVAL_MS,
      graceMs: d.config.SDN_TUNNEL_HEALTH_GRACE_MS,
      hosts: () => this.charges.values(),
    });
  }

  async start(): Promise<void> {
    this.stopWatch = await this.d.store.watch(
      (s) => {
        this.known.set(s.host.id, s);
        const c = this.charges.get(s.host.id);
        if (c !== undefined) c.stored = s;
        this.schedule();
      },
      (id) => {
        this.known.delete(id);
        this.schedule();
      },
    );
    this.leaseTimer = setInterval(() => this.schedule(), Math.floor(this.d.config.SDN_AGENT_LEASE_MS / 6));
    // Apart from the lease passes, which can be stuck in a slow renewal (retried through an
    // election) while the lease runs out: a host whose lease is no longer surely ours is
    // dropped on time, before another replica may take it.
    this.expiryTimer = setInterval(
      () => this.dropExpired(),
      Math.max(100, Math.floor(this.d.config.SDN_AGENT_LEASE_MS / 12)),
    );
    this.checkTimer = setInterval(() => void this.checkAll(), this.d.config.SDN_HOST_CHECK_INTERVAL_MS);
    this.health.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    clearInterval(this.leaseTimer);
    clearInterval(this.expiryTimer);
    clearInterval(this.checkTimer);
    this.health.stop();
    await this.ticking;
    await Promise.all([...this.charges.keys()].map((id) => this.drop(id, true)));
    await Promise.all(this.leaving.values());
  }

  /** Host ids this replica serves now. */
  served(): string[] {
    return [...this.charges.keys()];
  }

  private dropExpired(): void {
    for (const id of [...this.charges.keys()]) {
      if (!this.d.leases.stillHeld(id)) {
        this.d.logger.warn({ hostId: id }, "host lease not renewed in time: dropping the host");
        void this.drop(id, false);
      }
    }
  }

  /** Runs lease work one pass at a time. */
  private schedule(): void {
    this.ticking = this.ticking
      .then(() => this.tick())
      .catch((err: unknown) => {
        this.d.logger.warn({ err }, "host lease pass failed");
      });
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    for (const id of [...this.charges.keys()]) {
      if (!this.known.has(id)) void this.drop(id, true);
    }
    // Hosts are renewed side by side: in sequence, a pass through a leader election (each
    // write waiting seconds for the new leader) outlasted the leases of the first hosts.
    const renewals = new Semaphore(RENEWALS_AT_ONCE);
    await Promise.all(
      [...this.known].map(([id, stored]) =>
        renewals.run(async () => {
          let held = false;
          try {
            held = await this.d.leases.acquire(id);
          } catch (err) {
            held = this.d.leases.stillHeld(id);
            this.d.logger.warn({ err, hostId: id, kept: held }, "cannot renew host lease");
          }
          // A drop does not hold up the pass (other hosts' renewals); a host still leaving is taken at a later one.
          if (held && !this.charges.has(id) && !this.leaving.has(id)) this.take(stored);
          if (!held && this.charges.has(id)) void this.drop(id, false);
        }),
      ),
    );
  }

  private take(stored: StoredHost): void {
    const id = stored.host.id;
    const charge = new Charge(
      stored,
      this.d.instanceId,
      (s) =>
        createDriver(
          {
            host: s.host,
            credentials: this.d.registry.credentialsOf(s),
            ...(s.tlsCertificate === undefined ? {} : { tlsCertificate: s.tlsCertificate }),
            ...(s.tlsInsecure === true ? { tlsInsecure: true } : {}),
          },
          this.d.config,
          `sdn-hypervisor-agent/${this.d.instanceId}`,
          this.d.logger,
          (networkIds) => this.reportDrift(id, networkIds),
        ),
      (c, up, reason) => void this.setState(c, up, reason),
    );
    charge.server = serveRequests(this.d.nc, {
      prefix: agentPrefix(id),
      handlers: agentHandlers(charge, {
        relayKeyFile: this.d.config.SDN_AGENT_RELAY_KEY_FILE,
        sealing: this.d.sealing,
      }),
      logger: this.d.logger,
    });
    this.charges.set(id, charge);
    this.d.logger.info({ hostId: id, host: stored.host.name }, "took charge of host");
    void this.check(charge);
  }

  /** Tells the element at once that a host's owned rows changed under us, so it repairs them now. */
  private reportDrift(id: string, networkIds: string[]): void {
    const c = this.charges.get(id);
    if (c === undefined) return;
    this.d.logger.info({ hostId: id, networkIds }, "Open vSwitch drift on host");
    this.d.events
      .publish(OvsDriftDetected, { id, name: c.host.name, agentInstanceId: this.d.instanceId, networkIds })
      .catch((err: unknown) => this.d.logger.warn({ err }, "cannot publish drift event"));
  }

  /** Stops serving a host; the lease, when released, goes last, so no other replica drives it meanwhile. */
  private drop(id: string, release: boolean): Promise<void> {
    const charge = this.charges.get(id);
    if (charge === undefined) return this.leaving.get(id) ?? Promise.resolve();
    this.charges.delete(id);
    const leaving = (async () => {
      await charge.close();
      if (release) await this.d.leases.release(id).catch(() => undefined);
      this.d.logger.info({ hostId: id }, "no longer in charge of host");
    })().finally(() => this.leaving.delete(id));
    this.leaving.set(id, leaving);
    return leaving;
  }

  private async checkAll(): Promise<void> {
    for (const c of this.charges.values()) await this.check(c);
  }

  /**
   * Reaches the host through its programs and records whether it answers; then puts back
   * OpenFlow flows ovs-vswitchd lost in a restart (the safety net behind the KVM driver's
   * watch, and the only check on XAPI hosts).
   */
  private async check(c: Charge): Promise<void> {
    try {
      await c.driver().identify();
      await c.driver().ping();
      await this.setState(c, true, "");
    } catch (err) {
      await this.setState(c, false, (err as Error).message);
      return;
    }
    if (Date.now() - c.flowsCheckedAt >= this.d.config.SDN_FLOW_CHECK_INTERVAL_MS) {
      c.flowsCheckedAt = Date.now();
      await this.restoreFlows(c);
    }
  }

  private async restoreFlows(c: Charge): Promise<void> {
    const hostId = c.host.id;
    try {
      const r = await c.driver().restoreFlows();
      if (r.restored.length > 0) {
        this.d.logger.warn({ hostId, bridges: r.restored }, "OpenFlow flows found missing and restored");
      }
    } catch (err) {
      this.d.logger.warn({ hostId, err: (err as Error).message }, "OpenFlow flows not checked");
    }
  }

  private async setState(c: Charge, up: boolean, reason: string): Promise<void> {
    if (c.up === up || this.charges.get(c.host.id) !== c) return;
    c.up = up;
    const h = c.host;
    await this.d.store.setState(h.id, up ? "Up" : "Disconnected").catch(() => undefined);
    const base = { id: h.id, name: h.name, agentInstanceId: this.d.instanceId };
    await (
      up ? this.d.events.publish(HostConnected, base) : this.d.events.publish(HostDisconnected, { ...base, reason })
    ).catch((err: unknown) => this.d.logger.warn({ err }, "cannot publish host state event"));
    if (up) this.d.logger.info({ hostId: h.id }, "host connected");
    else this.d.logger.warn({ hostId: h.id, reason }, "host disconnected");
  }
}
