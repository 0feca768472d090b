import type { OvsdbClient } from "../client.js";
import { OvsdbServerError } from "../errors.js";
import type { Monitor } from "../monitor.js";
import type { RowChange } from "../table-cache.js";
import {
  type Plan,
  type TunnelRemote,
  type TunnelSetResult,
  applyTunnelsPlan,
  destroyBridgePlan,
  setupBridgePlan,
} from "./plans.js";
import { type BfdTimers, TUNNEL_HEALTH_MONITOR, type TunnelBfdReading, readTunnelHealth } from "./health.js";
import { type BridgeView, readBridges } from "./snapshot.js";
import { type TunnelSpec, VSWITCH_MONITOR } from "./tags.js";

const DB = "Open_vSwitch";
/** Attempts of a plan whose snapshot went stale under it (another writer in between). */
const ATTEMPTS = 4;

/**
 * The Open_vSwitch database of one host as the controller uses it: a monitor keeps the
 * bridges, ports and interfaces current, each change is planned on that snapshot and sent
 * as ONE transaction guarded by `wait` (so a stale snapshot never undoes someone's change),
 * and every row change is reported to `onChange` (drift, seen the moment it happens).
 */
export class Vswitch {
  /** The BFD health monitor, opened on the first read (see TUNNEL_HEALTH_MONITOR). */
  private health: Promise<Monitor> | undefined;

  private constructor(
    readonly client: OvsdbClient,
    private readonly monitor: Monitor,
  ) {}

  static async open(client: OvsdbClient): Promise<Vswitch> {
    return new Vswitch(client, await client.monitor(DB, VSWITCH_MONITOR));
  }

  /** Follows every change of the monitored rows; returns a function that stops following. */
  onChange(listener: (changes: RowChange[]) => void): () => void {
    this.monitor.on("change", listener);
    return () => this.monitor.off("change", listener);
  }

  bridges(networkId?: string): BridgeView[] {
    const all = readBridges(this.monitor.cache);
    return networkId === undefined ? all : all.filter((b) => b.networkId === networkId);
  }

  setupBridge(bridge: string, networkId: string): Promise<{ bridge: string; created: boolean }> {
    return this.run(() => setupBridgePlan(this.monitor.cache, bridge, networkId), `setup bridge ${bridge}`);
  }

  destroyBridge(networkId: string): Promise<{ bridge: string | null; destroyed: boolean }> {
    return this.run(() => destroyBridgePlan(this.monitor.cache, networkId), `destroy bridge of ${networkId}`);
  }

  applyTunnels(
    networkId: string,
    tunnel: TunnelSpec,
    remotes: TunnelRemote[],
    bfd?: BfdTimers,
  ): Promise<TunnelSetResult> {
    return this.run(
      () => applyTunnelsPlan(this.monitor.cache, networkId, tunnel, remotes, bfd),
      `${remotes.length} tunnels of ${networkId}`,
    );
  }

  /** The managed tunnels' BFD status: a monitor on the first call, its cache (no round trip) after. */
  async tunnelHealth(): Promise<TunnelBfdReading[]> {
    this.health ??= this.client.monitor(DB, TUNNEL_HEALTH_MONITOR).catch((e: unknown) => {
      this.health = undefined;
      throw e;
    });
    return readTunnelHealth((await this.health).rows("Interface"));
  }

  close(): void {
    this.client.close();
  }

  private async run<R>(plan: () => Plan<R>, what: string): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const p = plan();
      if (p.ops.length === 0) return p.result;
      try {
        await this.client.transact(DB, [{ op: "comment", comment: `sdn: ${what}` }, ...p.ops]);
        return p.result;
      } catch (e) {
        const stale =
          e instanceof OvsdbServerError && e.error === "timed out" && p.ops[e.operation! - 1]?.op === "wait";
        if (!stale || attempt >= ATTEMPTS) throw e;
        await this.nextChange(100);
      }
    }
  }

  /** Resolves on the monitor's next update (the change that made a plan stale), or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.monitor.off("change", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.monitor.once("change", done);
    });
  }
}
