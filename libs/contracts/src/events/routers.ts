import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { NetworkId } from "../resources/networks.js";
import { VrrpState } from "../resources/redundancy.js";
import { RouterId } from "../resources/router-id.js";
import { Router } from "../resources/routers.js";

const service = "vr-manager" as const;
const closed = { additionalProperties: false } as const;

export const RouterRegistered = defineEvent({
  service,
  name: "RouterRegistered",
  summary: "A virtual router was registered and runs its networks' configuration.",
  data: Type.Object({ router: Router }, closed),
});

export const RouterDeleted = defineEvent({
  service,
  name: "RouterDeleted",
  summary: "A virtual router was forgotten.",
  data: Type.Object({ routerId: RouterId, name: Type.String() }, closed),
});

export const RouterUpdated = defineEvent({
  service,
  name: "RouterUpdated",
  summary: "A registered router changed: it joined a redundancy group (JoinRedundancyGroup).",
  data: Type.Object({ router: Router }, closed),
});

export const RulesApplied = defineEvent({
  service,
  name: "RulesApplied",
  summary: "A router confirmed a whole configuration (generation) and runs it.",
  data: Type.Object(
    {
      routerId: RouterId,
      generation: Type.Integer({ minimum: 1 }),
      hash: Type.String(),
      summary: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), {
        description: "Counts per kind of rule, as the router reports them",
      }),
    },
    closed,
  ),
});

export const RulesFailed = defineEvent({
  service,
  name: "RulesFailed",
  summary:
    "A push did not become the router's configuration: the router refused it (it keeps the previous one) or " +
    "could not be reached (it gets the current one when back).",
  data: Type.Object(
    {
      routerId: RouterId,
      generation: Type.Integer({ minimum: 1 }),
      code: Type.String({ examples: ["HAPROXY_RELOAD_FAILED", "UNREACHABLE"] }),
      message: Type.String(),
      runningGeneration: Type.Optional(Type.Integer({ minimum: 0, description: "What the router still runs" })),
    },
    closed,
  ),
});

export const RouterFailover = defineEvent({
  service,
  name: "RouterFailover",
  summary:
    "Another member of a redundant router pair became the MASTER of a network (from is null the first time a " +
    "master is seen). Reported by the vr-manager's router check.",
  data: Type.Object(
    {
      networkId: NetworkId,
      redundancyGroup: Type.String(),
      from: Type.Union([RouterId, Type.Null()]),
      to: RouterId,
    },
    closed,
  ),
});

export const RouterPairUnhealthy = defineEvent({
  service,
  name: "RouterPairUnhealthy",
  summary:
    "A redundant router pair has no MASTER, or two (split brain), as the vr-manager's router check found it; " +
    "published once when that starts.",
  data: Type.Object(
    {
      redundancyGroup: Type.String(),
      health: Type.Enum(["no-master", "two-masters"]),
      states: Type.Record(Type.String(), VrrpState, { description: "routerId → VRRP state" }),
    },
    closed,
  ),
});

export const VR_MANAGER_EVENTS = [
  RouterRegistered,
  RouterDeleted,
  RouterUpdated,
  RulesApplied,
  RulesFailed,
  RouterFailover,
  RouterPairUnhealthy,
] as const;
