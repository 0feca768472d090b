import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { eventFilter, RouterDeleted, RouterRegistered, RouterUpdated, type VrrpState } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import type { Pusher } from "../apply/pusher.js";
import type { VrStore } from "../store.js";
import type { FollowedCommand } from "../transport/channel.js";
import type { Channels } from "../transport/channels.js";
import type { RouterProgram, VrrpReport } from "../transport/router-program.js";
import type { PairObserver } from "./redundancy.js";

/** A member silent this long (three of its half-second heartbeats) is lost. */
const SILENCE_MS = 1_500;
/** Before its first line: the SSH connection, the channel and the program's start. */
const FIRST_LINE_MS = 10_000;
/** Between two attempts to follow a member that cannot be followed. */
const RETRY_MS = 1_000;
/**
 * After a member is lost, how long its peer has to take over (VRRP's detection time) before
 * the pair is looked at: a failover is not reported as a pair without master first.
 */
const TAKEOVER_MS = 4_000;

interface Follower {
  routerId: string;
  group: string;
  stopped: boolean;
  command?: FollowedCommand;
  startedAt: number;
  /** When the current command printed its last line (0: none yet). */
  lastLineAt: number;
  /** What the member last reported (undefined: not followed at the moment). */
  state?: VrrpState;
  /** Set when the member was lost: the first line after it means the router is back. */
  lostAt?: number;
  /** Called on every line (a wait for a sign of life). */
  listeners: Set<() => void>;
  wake?: () => void;
}

export interface PairWatchDeps {
  nc: NatsConnection;
  store: VrStore;
  channels: Channels;
  program: RouterProgram;
  pusher: Pusher;
  pairs: PairObserver;
  logger: Logger;
}

/**
 * Follows every pair member's VRRP state as it changes: one long-lived `sdn-router
 * vrrp-watch` per member over its SSH connection, which prints a line at each change
 * (keepalived's notify records it) and a heartbeat every half second. A change is stored
 * and the pair looked at (RouterFailover, RouterPairUnhealthy) at once, not at the next
 * periodic check. Every replica follows every member: the network claims' compare-and-swap
 * lets one replica publish each event.
 */
export class PairWatch {
  private readonly followers = new Map<string, Follower>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private subs: Subscription[] = [];
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly d: PairWatchDeps) {}

  start(): void {
    // Members come and go on any replica: each one's registration or deletion is an event.
    for (const def of [RouterRegistered, RouterDeleted, RouterUpdated]) {
      const sub = this.d.nc.subscribe(eventFilter({ service: def.service, event: def.name }), {
        callback: () => void this.sync(),
      });
      this.subs.push(sub);
    }
    this.ticker = setInterval(() => this.cutSilent(), 250);
    void this.sync();
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    for (const f of this.followers.values()) this.end(f);
    this.followers.clear();
    await Promise.all(this.chains.values());
  }

  /** Follows every pair member reached directly (a relayed router cannot be paired); drops the rest. */
  async sync(): Promise<void> {
    const routers = await this.d.store.allRouters().catch((err: unknown) => {
      this.d.logger.warn({ err }, "cannot list the routers to follow");
      return undefined;
    });
    if (routers === undefined) return;
    const members = new Map<string, string>();
    for (const r of routers) {
      if (r.redundancyGroup !== undefined && r.transport !== "host-relay") members.set(r.id, r.redundancyGroup);
    }
    for (const [id, f] of this.followers) {
      if (members.get(id) === f.group) continue;
      this.end(f);
      this.followers.delete(id);
    }
    for (const [routerId, group] of members) {
      if (this.followers.has(routerId)) continue;
      const f: Follower = { routerId, group, stopped: false, startedAt: 0, lastLineAt: 0, listeners: new Set() };
      this.followers.set(routerId, f);
      void this.run(f);
    }
  }

  private async run(f: Follower): Promise<void> {
    while (!f.stopped) {
      const router = (await this.d.store.routers.get(f.routerId).catch(() => undefined))?.value;
      if (router !== undefined) await this.followOnce(f, router);
      if (f.stopped) return;
      this.lost(f);
      await new Promise<void>((resolve) => {
        f.wake = resolve;
        setTimeout(resolve, RETRY_MS).unref();
      });
    }
  }

  private async followOnce(f: Follower, router: Parameters<Channels["for"]>[0]): Promise<void> {
    f.startedAt = Date.now();
    f.lastLineAt = 0;
    const command = this.d.program.followVrrp(this.d.channels.for(router), (r) => this.heard(f, r));
    if (command === undefined) {
      f.stopped = true;
      return;
    }
    f.command = command;
    const code = await command.ended.catch(() => undefined);
    f.command = undefined;
    // The router answered but does not run the watch (rebuilt without the program, or an
    // older one): a check deploys it and pushes the pair's configuration.
    if (typeof code === "number" && code !== 0 && f.lastLineAt === 0 && !f.stopped) this.check(f);
  }

  private heard(f: Follower, r: VrrpReport): void {
    const at = Date.now();
    const first = f.lastLineAt === 0;
    f.lastLineAt = at;
    for (const l of f.listeners) l();
    if (first && f.lostAt !== undefined) {
      // It is back (rebooted, rebuilt, its link restored): it gets the pair's configuration.
      f.lostAt = undefined;
      this.check(f);
    }
    if (r.state === f.state) return;
    f.state = r.state;
    this.inGroup(f.group, async () => {
      await this.record(f.routerId, r.state);
      if (r.state === "MASTER") {
        // A member still MASTER here is alive (two masters) or gone silently (its host lost):
        // a line from it tells, or its silence, at most SILENCE_MS after its last line.
        const others = [...this.followers.values()].filter(
          (g) => g.group === f.group && g !== f && g.state === "MASTER",
        );
        await Promise.all(others.map((g) => this.confirm(g, at)));
      }
      await this.d.pairs.observe(f.group);
    });
  }

  private async confirm(g: Follower, since: number): Promise<void> {
    if (await this.heardAfter(g, since)) return;
    g.state = "UNKNOWN";
    await this.record(g.routerId, "UNKNOWN");
    this.cut(g);
  }

  private heardAfter(g: Follower, since: number): Promise<boolean> {
    if (g.lastLineAt > since) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (heard: boolean) => {
        g.listeners.delete(onLine);
        clearTimeout(timer);
        resolve(heard);
      };
      const onLine = () => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, g.lastLineAt + SILENCE_MS - Date.now()));
      g.listeners.add(onLine);
    });
  }

  /** The member cannot be followed now: its state is not known until it is again. */
  private lost(f: Follower): void {
    f.lostAt ??= Date.now();
    const was = f.state;
    f.state = undefined;
    if (was === undefined) return;
    this.inGroup(f.group, () => this.record(f.routerId, "UNKNOWN"));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.inGroup(f.group, () => this.d.pairs.observe(f.group));
    }, TAKEOVER_MS);
    this.timers.add(timer);
  }

  /**
   * Ends the watch of members silent past their heartbeats, and their SSH connection: a
   * connection that carried nothing for three heartbeats is taken as dead (its router's
   * host lost), and a new one fails fast where the old would wait for TCP's timeouts.
   */
  private cutSilent(): void {
    const now = Date.now();
    for (const f of this.followers.values()) {
      if (f.command === undefined) continue;
      const limit = f.lastLineAt === 0 ? f.startedAt + FIRST_LINE_MS : f.lastLineAt + SILENCE_MS;
      if (now > limit) this.cut(f);
    }
  }

  private cut(f: Follower): void {
    f.command?.close();
    this.d.pusher.forget(f.routerId);
  }

  private check(f: Follower): void {
    this.d.pusher.check(f.routerId).catch((err: unknown) => {
      this.d.logger.warn({ err, routerId: f.routerId }, "router check failed");
    });
  }

  private end(f: Follower): void {
    f.stopped = true;
    f.command?.close();
    f.wake?.();
  }

  private async record(routerId: string, vrrpState: VrrpState): Promise<void> {
    await this.d.store.routers.update(routerId, (r) =>
      r === undefined || r.vrrpState === vrrpState
        ? undefined
        : { ...r, vrrpState, updatedAt: new Date().toISOString() },
    );
  }

  /** Runs the group's changes one after the other, in the order they were seen. */
  private inGroup(group: string, work: () => Promise<void>): void {
    const next = (this.chains.get(group) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      this.d.logger.warn({ err, redundancyGroup: group }, "redundant pair watch failed");
    });
    this.chains.set(group, next);
    void next.then(() => {
      if (this.chains.get(group) === next) this.chains.delete(group);
    });
  }
}
