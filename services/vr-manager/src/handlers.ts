import { bindHandler, type BoundHandler } from "@sdn/bus";
import {
  CountRules,
  CreateInterNetworkRoute,
  DeleteInterNetworkRoute,
  DeleteRouter,
  EgressRuleCommands,
  FirewallRuleCommands,
  GetEgressPolicy,
  GetRouter,
  GetRouterSshKey,
  ListInterNetworkRoutes,
  ListRouters,
  LoadBalancerCommands,
  PortForwardCommands,
  RegisterRouter,
  SetEgressPolicy,
  StaticNatCommands,
  SyncRouter,
  JoinRedundancyGroup,
  type ApplyOutcome,
} from "@sdn/contracts";
import { requireAdmin } from "./errors.js";
import type { SshIdentity } from "./identity.js";
import type { RouterRegistry } from "./routers/router-registry.js";
import type { RuleManager } from "./rules/rule-manager.js";

/** What the handlers work with: the parts the service's setup built. */
export interface VrParts {
  registry: RouterRegistry;
  rules: RuleManager;
  identity: SshIdentity;
}

const said = (a: ApplyOutcome): string =>
  a.status === "applied"
    ? `applied on router ${a.routerId} (generation ${a.generation})`
    : a.status === "pending"
      ? `stored; router ${a.routerId} is unreachable and gets it when back`
      : "stored; no router serves the network yet";

type RuleSet = (typeof RULE_SETS)[number];
const RULE_SETS = [
  ["portForwards", "port forward", PortForwardCommands],
  ["staticNats", "static NAT", StaticNatCommands],
  ["firewallRules", "firewall rule", FirewallRuleCommands],
  ["egressRules", "egress rule", EgressRuleCommands],
  ["loadBalancers", "load balancer", LoadBalancerCommands],
] as const;

/** Create / list / delete handlers of one kind of rule. */
const ruleHandlers = (parts: VrParts, [kind, what, set]: RuleSet): BoundHandler[] => [
  bindHandler(set.create, async (req, ctx) => {
    const { networkId, ...input } = req;
    const rule = await parts.rules.create(kind, networkId, input, ctx);
    return { data: rule as never, details: `${what} ${rule.id} ${said(rule.apply)}` };
  }),
  bindHandler(set.list, async (req, ctx) => {
    const rules = await parts.rules.list(kind, req.networkId, ctx);
    return { data: { [kind]: rules } as never, details: `${rules.length} ${what}(s)` };
  }),
  bindHandler(set.remove, async (req, ctx) => {
    const apply = await parts.rules.remove(kind, req.networkId, req.ruleId, ctx);
    return {
      data: { id: req.ruleId, deleted: true as const, apply },
      details: `${what} ${req.ruleId} deleted, ${said(apply)}`,
    };
  }),
];

/** The vr-manager's durable command handlers; each answer carries a one-line summary. */
export const vrHandlers = (parts: VrParts): BoundHandler[] => [
  bindHandler(CountRules, async (req, ctx) => {
    const rules = await parts.rules.count(req.networkIds, ctx);
    return { data: { rules }, details: `${rules} rule(s) on ${req.networkIds.length} network(s)` };
  }),
  bindHandler(RegisterRouter, async (req, ctx) => {
    const r = await parts.registry.register(req, ctx);
    return { data: r, details: `router ${r.name} (${r.id}) runs generation ${r.appliedGeneration}` };
  }),
  bindHandler(GetRouter, async (req, ctx) => {
    const r = await parts.registry.get(req.routerId, ctx);
    return { data: r, details: `router ${r.name} is ${r.state}` };
  }),
  bindHandler(ListRouters, async (_req, ctx) => {
    const routers = await parts.registry.list(ctx);
    return { data: { routers }, details: `${routers.length} router(s)` };
  }),
  bindHandler(DeleteRouter, async (req, ctx) => {
    await parts.registry.remove(req.routerId, ctx);
    return { data: { id: req.routerId, deleted: true as const }, details: `router ${req.routerId} forgotten` };
  }),
  bindHandler(SyncRouter, async (req, ctx) => {
    const r = await parts.registry.sync(req.routerId, ctx);
    return { data: r, details: `router ${r.name} is ${r.state} at generation ${r.appliedGeneration}` };
  }),
  bindHandler(JoinRedundancyGroup, async (req, ctx) => {
    const r = await parts.registry.join(req.routerId, req.redundancyGroup, ctx);
    return { data: r, details: `router ${r.name} is the first member of group ${req.redundancyGroup}` };
  }),
  bindHandler(GetRouterSshKey, async (_req, ctx) => {
    requireAdmin(ctx.role, "GetRouterSshKey");
    const { publicKey, fingerprint } = parts.identity;
    return { data: { publicKey, fingerprint }, details: `the vr-manager logs in with ${fingerprint}` };
  }),
  ...RULE_SETS.flatMap((set) => ruleHandlers(parts, set)),
  bindHandler(GetEgressPolicy, async (req, ctx) => {
    const defaultPolicy = await parts.rules.egressPolicy(req.networkId, ctx);
    return { data: { networkId: req.networkId, defaultPolicy }, details: `egress default: ${defaultPolicy}` };
  }),
  bindHandler(SetEgressPolicy, async (req, ctx) => {
    const apply = await parts.rules.setEgressPolicy(req.networkId, req.defaultPolicy, ctx);
    return {
      data: { networkId: req.networkId, defaultPolicy: req.defaultPolicy, apply },
      details: `egress default ${req.defaultPolicy} ${said(apply)}`,
    };
  }),
  bindHandler(CreateInterNetworkRoute, async (req, ctx) => {
    const route = await parts.rules.createRoute(req.networkId, req.peerNetworkId, ctx);
    return { data: route, details: `routing between ${route.networkIds.join(" and ")} ${said(route.apply)}` };
  }),
  bindHandler(ListInterNetworkRoutes, async (req, ctx) => {
    const interNetworkRoutes = await parts.rules.routes(req.networkId, ctx);
    return { data: { interNetworkRoutes }, details: `${interNetworkRoutes.length} route(s)` };
  }),
  bindHandler(DeleteInterNetworkRoute, async (req, ctx) => {
    const apply = await parts.rules.deleteRoute(req.networkId, req.ruleId, ctx);
    return {
      data: { id: req.ruleId, deleted: true as const, apply },
      details: `route ${req.ruleId} deleted, ${said(apply)}`,
    };
  }),
];
