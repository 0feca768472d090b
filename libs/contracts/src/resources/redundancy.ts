import Type, { type Static } from "typebox";
import { HostId } from "./hosts.js";
import { RouterId } from "./router-id.js";
import { closed } from "./schema-fields.js";

/** A redundant pair of virtual routers (keepalived VRRP) as the vr-manager reports it. */

export const VRRP_STATES = ["MASTER", "BACKUP", "FAULT", "UNKNOWN"] as const;
export const VrrpState = Type.Enum([...VRRP_STATES], {
  description:
    "A pair member's VRRP state as its keepalived last reported it: MASTER holds the virtual addresses, BACKUP " +
    "is ready, FAULT cannot serve (an interface is down), UNKNOWN: not reported yet or the router is unreachable",
  examples: ["MASTER"],
});
export type VrrpState = Static<typeof VrrpState>;

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
