import type { EventPublisher } from "@sdn/bus";
import { RouterFailover, RouterPairUnhealthy, type Redundancy, type VrrpState } from "@sdn/contracts";
import type { NetworkClaim, RouterRecord, VrStore } from "../store.js";

/**
 * VRRP priorities: the first member registered is preferred at start (preempt is off, so
 * only then). High ones: a backup declares the master down after three adverts plus
 * (256 - priority) / 256 of one, so at 240 its takeover comes 0.03 s after the third missed
 * advert (half-second VRRPv3 adverts).
 */
export const FIRST_PRIORITY = 250;
export const SECOND_PRIORITY = 240;

/** The members of a redundancy group, the first registered first. */
export const membersOf = (all: readonly RouterRecord[], group: string): RouterRecord[] =>
  all
    .filter((r) => r.redundancyGroup === group)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));

const stateOf = (r: RouterRecord): VrrpState => r.vrrpState ?? "UNKNOWN";

export const healthOf = (members: readonly RouterRecord[]): Redundancy["health"] => {
  if (members.length < 2) return "single";
  const masters = members.filter((m) => stateOf(m) === "MASTER").length;
  return masters === 1 ? "ok" : masters === 0 ? "no-master" : "two-masters";
};

/** The pair a router belongs to, as GET /v1/routers shows it (undefined for a router without a group). */
export const redundancyOf = (r: RouterRecord, all: readonly RouterRecord[]): Redundancy | undefined => {
  if (r.redundancyGroup === undefined) return undefined;
  const members = membersOf(all, r.redundancyGroup);
  return {
    group: r.redundancyGroup,
    health: healthOf(members),
    members: members.map((m) => ({
      routerId: m.id,
      name: m.name,
      hostId: m.hostId,
      priority: m.vrrp?.priority ?? FIRST_PRIORITY,
      vrrpState: stateOf(m),
      ...(m.connectionSync === undefined ? {} : { connectionSync: m.connectionSync }),
    })),
  };
};

/**
 * Watches a pair after each check of a member: records, per network, the member last seen
 * MASTER and publishes RouterFailover when it changes; publishes RouterPairUnhealthy once
 * when the pair starts having no master or two. The network claims hold that memory, so
 * replicas agree on what was already reported.
 */
export class PairObserver {
  constructor(
    private readonly store: VrStore,
    private readonly events: EventPublisher,
  ) {}

  async observe(group: string): Promise<void> {
    const members = membersOf(await this.store.allRouters(), group);
    if (members.length < 2) return;
    const health = healthOf(members);
    const alarm = health === "no-master" || health === "two-masters" ? health : undefined;
    const masters = members.filter((m) => stateOf(m) === "MASTER");
    const master = masters.length === 1 ? (masters[0] as RouterRecord).id : undefined;
    let alarmRaised = false;
    for (const networkId of (members[0] as RouterRecord).networkIds) {
      let failover: { from: string | null; to: string } | undefined;
      let raised = false;
      await this.store.networkRouters.update(networkId, (claim) => {
        failover = undefined;
        raised = false;
        if (claim?.redundancyGroup !== group) return undefined;
        const next: NetworkClaim = { ...claim };
        if (master !== undefined && claim.master !== master) {
          failover = { from: claim.master ?? null, to: master };
          next.master = master;
        }
        if (alarm !== claim.alarm) {
          raised = alarm !== undefined;
          if (alarm === undefined) delete next.alarm;
          else next.alarm = alarm;
        } else if (failover === undefined) return undefined;
        return next;
      });
      if (failover !== undefined) {
        await this.events.publish(RouterFailover, { networkId, redundancyGroup: group, ...failover });
      }
      alarmRaised ||= raised;
    }
    if (alarmRaised && alarm !== undefined) {
      const states = Object.fromEntries(members.map((m) => [m.id, stateOf(m)]));
      await this.events.publish(RouterPairUnhealthy, { redundancyGroup: group, health: alarm, states });
    }
  }
}
