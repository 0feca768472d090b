import type { EventPublisher } from "@sdn/bus";
import { TunnelHealthChanged } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { HostDriver } from "../drivers/driver.js";
import { TunnelHealthTracker } from "./tunnel-health.js";

/** A host this replica serves, as the poller needs it. */
export interface PolledHost {
  readonly host: { id: string };
  readonly up: boolean | undefined;
  driver(): HostDriver;
}

export interface HealthPollerDeps {
  events: EventPublisher;
  logger: Logger;
  intervalMs: number;
  graceMs: number;
  /** The hosts served now. */
  hosts: () => Iterable<PolledHost>;
}

/**
 * Reads the BFD status of every served host's tunnels every `intervalMs` and publishes
 * TunnelHealthChanged with what changed (everything, the first time a host is read, so a
 * new replica in charge restates it). One read per host at a time: a slow host is skipped,
 * never queued behind itself. Hosts not Up are not read (HostDisconnected says enough).
 * The reads cost the host a process each on XAPI (the plugin), so they are paced: a host is
 * read again after at least LOAD_FACTOR times its last read's duration (but within
 * MAX_DELAY_FACTOR intervals: detection must stay close to BFD's own), and a host with no
 * tunnels only every IDLE_FACTOR intervals (a new tunnel is seen within that).
 */
const LOAD_FACTOR = 2;
const MAX_DELAY_FACTOR = 3;
const IDLE_FACTOR = 5;

export class HealthPoller {
  private readonly trackers = new WeakMap<PolledHost, TunnelHealthTracker>();
  private readonly busy = new WeakSet<PolledHost>();
  /** When each host may be read next. */
  private readonly nextAt = new WeakMap<PolledHost, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: HealthPollerDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const h of this.d.hosts()) {
        if (h.up === true && !this.busy.has(h) && (this.nextAt.get(h) ?? 0) <= now) void this.read(h);
      }
    }, this.d.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async read(h: PolledHost): Promise<void> {
    this.busy.add(h);
    const started = Date.now();
    try {
      const readings = await h.driver().tunnelHealth();
      const took = Date.now() - started;
      const idle = readings.length === 0 ? IDLE_FACTOR * this.d.intervalMs : 0;
      const paced = Math.min(LOAD_FACTOR * took, MAX_DELAY_FACTOR * this.d.intervalMs);
      this.nextAt.set(h, started + Math.max(paced, idle));
      let tracker = this.trackers.get(h);
      if (tracker === undefined) {
        tracker = new TunnelHealthTracker(this.d.graceMs);
        this.trackers.set(h, tracker);
      }
      const tunnels = tracker.update(readings, Date.now());
      if (tunnels.length === 0) return;
      await this.d.events.publish(TunnelHealthChanged, {
        hostId: h.host.id,
        observedAt: new Date().toISOString(),
        tunnels,
      });
    } catch (err) {
      // The host check reports an unreachable host; a failed read is tried again next time.
      this.d.logger.debug({ hostId: h.host.id, err: (err as Error).message }, "cannot read tunnel health");
    } finally {
      this.busy.delete(h);
    }
  }
}
