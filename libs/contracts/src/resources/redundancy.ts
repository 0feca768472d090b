import Type, { type Static } from "@sdn/typebox";
import { HostId } from "./hosts.js";
import { RouterId } from "./router-id.js";
import { closed } from "./schema-fields.js";

/** A redundant pair of virtual routers (keepalived VRRP) as the vr-manager reports it. */

export const RedundancyGroupName = Type.String({
  pattern: "^[a-z0-9][a-z0-9-]{0,62}$",
  description:
    "Makes the router one member of a redundant pair (keepalived VRRP): the second router registered with the " +
    "same group and the same networkIds, on another host, is the backup. Both get every configuration push; " +
    "the gateway and public addresses float to the master",
  examples: ["web-pair"],
});

export const VRRP_STATES = ["MASTER", "BACKUP", "FAULT", "UNKNOWN"] as const;
export const VrrpState = Type.Enum([...VRRP_STATES], {
  description:
    "A pair member's VRRP state as its keepalived last reported it: MASTER holds the virtual addresses, BACKUP " +
    "is ready, FAULT cannot serve (an interface is down), UNKNOWN: not reported yet or the router is unreachable",
  examples: ["MASTER"],
});
export type VrrpState = Static<typeof VrrpState>;

export const CONNECTION_SYNC_STATES = ["running", "no-peer", "unavailable", "stopped"] as const;
export const ConnectionSync = Type.Enum([...CONNECTION_SYNC_STATES], {
  description:
    "A pair member's connection tracking sync (conntrackd) as it last reported it: running, no-peer (alone in " +
    "its pair), unavailable (the router has no conntrackd: established connections do not survive a failover), " +
    "stopped (conntrackd died; the next check restarts it)",
  examples: ["running"],
});
export type ConnectionSync = Static<typeof ConnectionSync>;

export const RedundancyMember = Type.Object(
  {
    routerId: RouterId,
    name: Type.String(),
    hostId: HostId,
    priority: Type.Integer({
      minimum: 1,
      maximum: 254,
      description: "VRRP priority (the first member registered: 250, the second 240)",
    }),
    vrrpState: VrrpState,
    connectionSync: Type.Optional(ConnectionSync),
  },
  { ...closed, $id: "RedundancyMember" },
);

export const Redundancy = Type.Object(
  {
    group: Type.String({ description: "The redundancy group (redundancyGroup)" }),
    health: Type.Enum(["ok", "no-master", "two-masters", "single"], {
      description:
        "ok: one member is MASTER. no-master / two-masters: the pair does not serve right (split brain when two). " +
        "single: only one member is registered",
    }),
    members: Type.Array(RedundancyMember, { description: "Every member of the pair with its VRRP state" }),
  },
  { ...closed, $id: "Redundancy", description: "The redundant pair a router belongs to" },
);
export type Redundancy = Static<typeof Redundancy>;
