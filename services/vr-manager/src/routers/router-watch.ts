import type { Logger } from "@sdn/runtime";
import type { Pusher } from "../apply/pusher.js";
import type { VrStore } from "../store.js";
import type { PairObserver } from "./redundancy.js";

/**
 * Every interval, checks each router (Pusher.check): a router that was unreachable and is
 * back, or one that lost or changed its configuration, gets the current one; the redundant
 * pairs are looked at once their members are checked (failovers, no master). Replicas
 * share the work through the routers' push locks; a round never overlaps the next.
 */
export class RouterWatch {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;

  constructor(
    private readonly store: VrStore,
    private readonly pusher: Pusher,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly pairs: PairObserver,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.round ??= this.checkAll().finally(() => (this.round = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  private async checkAll(): Promise<void> {
    const groups = new Set<string>();
    for (const router of await this.store.allRouters().catch(() => [])) {
      if (router.redundancyGroup !== undefined) groups.add(router.redundancyGroup);
      try {
        const outcome = await this.pusher.check(router.id);
        if (outcome !== undefined && outcome.status !== "applied") {
          this.logger.debug({ routerId: router.id, status: outcome.status }, "router check");
        }
      } catch (err) {
        this.logger.warn({ err, routerId: router.id }, "router check failed");
      }
    }
    for (const group of groups) {
      await this.pairs.observe(group).catch((err: unknown) => {
        this.logger.warn({ err, redundancyGroup: group }, "redundant pair check failed");
      });
    }
  }
}
