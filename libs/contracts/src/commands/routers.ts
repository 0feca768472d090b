import Type, { type TObject, type TProperties } from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { MAX_PAGE_LIMIT } from "../paging.js";
import { NetworkId } from "../resources/networks.js";
import { RedundancyGroupName } from "../resources/redundancy.js";
import { RouterId, RuleId } from "../resources/router-id.js";
import { ApplyOutcome, NewRouter, Router } from "../resources/routers.js";
import {
  EgressDefaultPolicy,
  EgressRule,
  FirewallRule,
  InterNetworkRoute,
  LoadBalancer,
  NewEgressRule,
  NewFirewallRule,
  NewLoadBalancer,
  NewPortForward,
  NewStaticNat,
  PortForward,
  StaticNat,
} from "../resources/rules.js";

/**
 * Durable commands of the vr-manager (CloudStack's VirtualNetworkApplianceManager and its
 * firewall, port forwarding, static NAT and load balancing managers). Routers are
 * admin-only (FORBIDDEN to tenants). Rules belong to their network's account: tenants see
 * and change only their own networks' rules (NOT_FOUND otherwise). Every rule change is
 * stored, then the router's whole configuration is pushed with a new generation; the
 * answer's `apply` says whether the router runs it. A change the router refuses is
 * undone and answered UNPROCESSABLE (details.reason: the router's code); the router keeps
 * running its previous configuration.
 */

const service = "vr-manager" as const;
const obj = Type.Object;
const closed = { additionalProperties: false } as const;

export const RegisterRouter = defineCommand({
  service,
  name: "RegisterRouter",
  delivery: "durable",
  summary:
    "Admin: registers a virtual router for guest networks. Connects to it (pinned host key), deploys and checks " +
    "the router program and applies the networks' configuration; or refuses (details.reason: UNREACHABLE, " +
    "HOST_KEY_MISMATCH, AUTHENTICATION_FAILED, ROUTER_REFUSED, ...) and stores nothing. CONFLICT when a " +
    "network already has a router.",
  request: NewRouter,
  response: Router,
});

const byRouter = obj({ routerId: RouterId }, closed);

export const GetRouter = defineCommand({
  service,
  name: "GetRouter",
  delivery: "request",
  summary: "Admin: reads one router.",
  request: byRouter,
  response: Router,
});

export const RouterList = obj({ routers: Type.Array(Router) }, { ...closed, $id: "RouterList" });

export const ListRouters = defineCommand({
  service,
  name: "ListRouters",
  delivery: "request",
  summary: "Admin: lists the routers.",
  request: obj({}, closed),
  response: RouterList,
});

export const DeleteRouter = defineCommand({
  service,
  name: "DeleteRouter",
  delivery: "durable",
  summary:
    "Admin: forgets a router; its networks' rules stay stored for the next router. Nothing on the router changes.",
  request: byRouter,
  response: obj({ id: RouterId, deleted: Type.Literal(true) }, closed),
});

export const SyncRouter = defineCommand({
  service,
  name: "SyncRouter",
  delivery: "durable",
  summary: "Admin: pushes the router's whole current configuration now (a new generation) and answers its state.",
  request: byRouter,
  response: Router,
});

export const JoinRedundancyGroup = defineCommand({
  service,
  name: "JoinRedundancyGroup",
  delivery: "durable",
  summary:
    "Admin: makes a router registered without a group the first member of a new redundancy group (priority 250); " +
    "its partner then registers with the same group (RegisterRouter). The router is pushed at once: keepalived " +
    "takes its addresses over, a gap of VRRP's takeover time (about 1.5 s). CONFLICT when the router is in " +
    "another group or the group has members; UNPROCESSABLE for a host-relay router. The same group again: " +
    "the router as it is.",
  request: obj({ routerId: RouterId, redundancyGroup: RedundancyGroupName }, closed),
  response: Router,
});

export const RouterSshKey = obj(
  {
    publicKey: Type.String({ description: "OpenSSH public key line to put in the routers' authorized_keys" }),
    fingerprint: Type.String({ description: "Its SHA-256 fingerprint, as ssh-keygen -l prints it" }),
  },
  { ...closed, $id: "RouterSshKey" },
);

export const GetRouterSshKey = defineCommand({
  service,
  name: "GetRouterSshKey",
  delivery: "request",
  summary: "Admin: the public half of the key the vr-manager logs in to routers with.",
  request: obj({}, closed),
  response: RouterSshKey,
});

/* ------------------------------------------------------------------ rules */

const Deleted = obj(
  { id: RuleId, deleted: Type.Literal(true), apply: ApplyOutcome },
  { ...closed, $id: "DeletedRule" },
);

const withApply = <P extends TProperties>(schema: TObject<P>, id: string) =>
  obj({ ...schema.properties, apply: ApplyOutcome }, { ...closed, $id: id });

/** Create, list and delete commands of one kind of per-network rule. */
const ruleCommands = <K extends string, N extends TProperties, R extends TProperties>(
  kind: K,
  what: string,
  create: TObject<N>,
  resource: TObject<R>,
) => {
  const created = withApply(resource, `${kind}Applied`);
  const list = obj({ [`${kind[0]?.toLowerCase()}${kind.slice(1)}s`]: Type.Array(resource) }, closed);
  return {
    create: defineCommand({
      service,
      name: `Create${kind}`,
      delivery: "durable",
      summary: `Creates ${what} on a network and applies it on the network's router.`,
      request: obj({ networkId: NetworkId, ...create.properties }, closed),
      response: created,
    }),
    list: defineCommand({
      service,
      name: `List${kind}s`,
      delivery: "request",
      summary: `Lists a network's ${what}s.`,
      request: obj({ networkId: NetworkId }, closed),
      response: list,
    }),
    remove: defineCommand({
      service,
      name: `Delete${kind}`,
      delivery: "durable",
      summary: `Deletes ${what} and applies the change on the network's router.`,
      request: obj({ networkId: NetworkId, ruleId: RuleId }, closed),
      response: Deleted,
    }),
  };
};

export const PortForwardCommands = ruleCommands("PortForward", "a port forwarding rule", NewPortForward, PortForward);
export const StaticNatCommands = ruleCommands("StaticNat", "a static NAT", NewStaticNat, StaticNat);
export const FirewallRuleCommands = ruleCommands(
  "FirewallRule",
  "an ingress firewall rule",
  NewFirewallRule,
  FirewallRule,
);
export const EgressRuleCommands = ruleCommands("EgressRule", "an egress rule", NewEgressRule, EgressRule);
export const LoadBalancerCommands = ruleCommands("LoadBalancer", "a load balancer", NewLoadBalancer, LoadBalancer);

export const CountRules = defineCommand({
  service,
  name: "CountRules",
  delivery: "request",
  summary:
    "Counts the L3 rules (every kind) on the given networks that belong to the caller's account (admins: any " +
    "account's); networks of other accounts or without rules count 0. The gateway's rules quota asks it.",
  request: obj({ networkIds: Type.Array(NetworkId, { maxItems: MAX_PAGE_LIMIT }) }, closed),
  response: obj({ rules: Type.Integer({ minimum: 0 }) }, closed),
});

export const EgressPolicy = obj(
  { networkId: NetworkId, defaultPolicy: EgressDefaultPolicy },
  { ...closed, $id: "EgressPolicy" },
);

export const GetEgressPolicy = defineCommand({
  service,
  name: "GetEgressPolicy",
  delivery: "request",
  summary: "Reads a network's egress default policy (allow until set).",
  request: obj({ networkId: NetworkId }, closed),
  response: EgressPolicy,
});

export const SetEgressPolicy = defineCommand({
  service,
  name: "SetEgressPolicy",
  delivery: "durable",
  summary: "Sets a network's egress default policy and applies it on the network's router.",
  request: obj({ networkId: NetworkId, defaultPolicy: EgressDefaultPolicy }, closed),
  response: obj({ networkId: NetworkId, defaultPolicy: EgressDefaultPolicy, apply: ApplyOutcome }, closed),
});

export const CreateInterNetworkRoute = defineCommand({
  service,
  name: "CreateInterNetworkRoute",
  delivery: "durable",
  summary:
    "Enables routing between two guest networks of the same router (both the caller's). UNPROCESSABLE when no " +
    "router or different routers serve them; CONFLICT when it is already enabled.",
  request: obj({ networkId: NetworkId, peerNetworkId: NetworkId }, closed),
  response: withApply(InterNetworkRoute, "InterNetworkRouteApplied"),
});

export const ListInterNetworkRoutes = defineCommand({
  service,
  name: "ListInterNetworkRoutes",
  delivery: "request",
  summary: "Lists the networks a network is routed with.",
  request: obj({ networkId: NetworkId }, closed),
  response: obj({ interNetworkRoutes: Type.Array(InterNetworkRoute) }, closed),
});

export const DeleteInterNetworkRoute = defineCommand({
  service,
  name: "DeleteInterNetworkRoute",
  delivery: "durable",
  summary: "Disables routing between two networks and applies it on their router.",
  request: obj({ networkId: NetworkId, ruleId: RuleId }, closed),
  response: Deleted,
});

const RULE_COMMAND_SETS = [
  PortForwardCommands,
  StaticNatCommands,
  FirewallRuleCommands,
  EgressRuleCommands,
  LoadBalancerCommands,
] as const;

/** Every vr-manager command except CheckHealth. */
export const VR_MANAGER_COMMANDS = [
  RegisterRouter,
  GetRouter,
  ListRouters,
  DeleteRouter,
  SyncRouter,
  JoinRedundancyGroup,
  GetRouterSshKey,
  ...RULE_COMMAND_SETS.flatMap((s) => [s.create, s.list, s.remove]),
  GetEgressPolicy,
  SetEgressPolicy,
  CreateInterNetworkRoute,
  ListInterNetworkRoutes,
  DeleteInterNetworkRoute,
] as const;
