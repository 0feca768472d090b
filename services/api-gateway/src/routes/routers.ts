import {
  CreateInterNetworkRoute,
  DeleteInterNetworkRoute,
  DeleteRouter,
  EgressDefaultPolicy,
  EgressRuleCommands,
  FirewallRuleCommands,
  GetEgressPolicy,
  GetRouter,
  GetRouterSshKey,
  ListInterNetworkRoutes,
  ListRouters,
  LoadBalancerCommands,
  NetworkId,
  NewEgressRule,
  NewFirewallRule,
  NewLoadBalancer,
  NewPortForward,
  NewRouter,
  NewStaticNat,
  PortForwardCommands,
  RegisterRouter,
  RouterId,
  RuleId,
  SetEgressPolicy,
  StaticNatCommands,
  SyncRouter,
  JoinRedundancyGroup,
} from "@sdn/contracts";
import Type, { type TObject } from "@sdn/typebox";
import type { GatewayApp } from "../app.js";
import { commandRoute } from "../command-route.js";

const closed = { additionalProperties: false } as const;
const RouterParams = Type.Object({ id: RouterId }, closed);
const NetworkParams = Type.Object({ id: NetworkId }, closed);
const RuleParams = Type.Object({ id: NetworkId, ruleId: RuleId }, closed);
const routers = ["Routers"];
const l3 = ["L3 services"];

/** Virtual routers (admin) and the L3 rules of networks (tenants): each route sends one vr-manager command. */
export const routerRoutes = async (app: GatewayApp): Promise<void> => {
  commandRoute(app, {
    method: "POST",
    url: "/v1/routers",
    command: RegisterRouter,
    kind: "mutation",
    successStatus: 201,
    adminOnly: true,
    tags: routers,
    summary: "Register a virtual router (admin)",
    description:
      "Connects to the router (pinned host key), deploys and checks the router program and applies its networks' " +
      "configuration; or refuses with error.details.reason (UNREACHABLE, HOST_KEY_MISMATCH, AUTHENTICATION_FAILED, " +
      "PROGRAM_FAILED, ROUTER_REFUSED) and stores nothing. Put the key of GET /v1/routers/ssh-key in the router's " +
      "authorized_keys first.",
    body: NewRouter,
    toCommand: ({ body }) => body,
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/routers",
    command: ListRouters,
    kind: "read",
    adminOnly: true,
    tags: routers,
    summary: "List virtual routers (admin)",
    toCommand: () => ({}),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/routers/ssh-key",
    command: GetRouterSshKey,
    kind: "read",
    adminOnly: true,
    tags: routers,
    summary: "The public key the vr-manager logs in to routers with (admin)",
    toCommand: () => ({}),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/routers/:id",
    command: GetRouter,
    kind: "read",
    adminOnly: true,
    tags: routers,
    summary: "Get a virtual router and where its configuration stands (admin)",
    params: RouterParams,
    toCommand: ({ params }) => ({ routerId: params.id }),
  });
  commandRoute(app, {
    method: "POST",
    url: "/v1/routers/:id/sync",
    command: SyncRouter,
    kind: "mutation",
    adminOnly: true,
    tags: routers,
    summary: "Push the router's whole configuration now (admin)",
    params: RouterParams,
    toCommand: ({ params }) => ({ routerId: params.id }),
  });
  commandRoute(app, {
    method: "PATCH",
    url: "/v1/routers/:id",
    command: JoinRedundancyGroup,
    kind: "mutation",
    adminOnly: true,
    tags: routers,
    summary: "Make a single router the first member of a redundant pair (admin)",
    description:
      "Only `redundancyGroup` can be set, on a router registered without one: it becomes the group's first member " +
      "(keepalived takes its addresses over, a gap of VRRP's takeover time); then register its partner with the " +
      "same group. 409 when the router is in another group or the group has members already.",
    params: RouterParams,
    body: Type.Object({ redundancyGroup: JoinRedundancyGroup.request.properties.redundancyGroup }, closed),
    toCommand: ({ params, body }) => ({ routerId: params.id, redundancyGroup: body.redundancyGroup }),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/routers/:id",
    command: DeleteRouter,
    kind: "mutation",
    successStatus: 204,
    adminOnly: true,
    tags: routers,
    summary: "Forget a virtual router (admin); its networks' rules stay",
    params: RouterParams,
    toCommand: ({ params }) => ({ routerId: params.id }),
  });

  const ruleRoutes = (
    path: string,
    what: string,
    set:
      | typeof PortForwardCommands
      | typeof StaticNatCommands
      | typeof FirewallRuleCommands
      | typeof EgressRuleCommands
      | typeof LoadBalancerCommands,
    body: TObject,
  ) => {
    commandRoute(app, {
      method: "POST",
      url: `/v1/networks/:id/${path}`,
      command: set.create,
      kind: "mutation",
      successStatus: 201,
      tags: l3,
      summary: `Create ${what} and apply it on the network's router`,
      description:
        "The answer's `apply` says whether the router runs it (applied), will get it when reachable again (pending) " +
        "or no router serves the network yet (no-router). A change the router refuses is undone: 422 with " +
        "error.details.reason ROUTER_REFUSED and routerCode.",
      params: NetworkParams,
      body,
      // The body schema is the rule's own; the command adds the network from the path.
      toCommand: ({ params, body: b }) => ({ networkId: params.id, ...(b as object) }) as never,
    });
    commandRoute(app, {
      method: "GET",
      url: `/v1/networks/:id/${path}`,
      command: set.list,
      kind: "read",
      tags: l3,
      summary: `List the network's ${what}s`,
      params: NetworkParams,
      toCommand: ({ params }) => ({ networkId: params.id }),
    });
    commandRoute(app, {
      method: "DELETE",
      url: `/v1/networks/:id/${path}/:ruleId`,
      command: set.remove,
      kind: "mutation",
      tags: l3,
      summary: `Delete ${what} and apply the change on the network's router`,
      params: RuleParams,
      toCommand: ({ params }) => ({ networkId: params.id, ruleId: params.ruleId }),
    });
  };
  ruleRoutes("port-forwards", "a port forwarding rule", PortForwardCommands, NewPortForward);
  ruleRoutes("static-nats", "a static NAT", StaticNatCommands, NewStaticNat);
  ruleRoutes("firewall-rules", "an ingress firewall rule", FirewallRuleCommands, NewFirewallRule);
  ruleRoutes("egress-rules", "an egress rule", EgressRuleCommands, NewEgressRule);
  ruleRoutes("load-balancers", "a load balancer", LoadBalancerCommands, NewLoadBalancer);

  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id/egress-policy",
    command: GetEgressPolicy,
    kind: "read",
    tags: l3,
    summary: "Get the network's egress default policy",
    params: NetworkParams,
    toCommand: ({ params }) => ({ networkId: params.id }),
  });
  commandRoute(app, {
    method: "PUT",
    url: "/v1/networks/:id/egress-policy",
    command: SetEgressPolicy,
    kind: "mutation",
    tags: l3,
    summary: "Set the network's egress default policy (allow | deny) and apply it",
    params: NetworkParams,
    body: Type.Object({ defaultPolicy: EgressDefaultPolicy }, closed),
    toCommand: ({ params, body }) => ({ networkId: params.id, defaultPolicy: body.defaultPolicy }),
  });
  commandRoute(app, {
    method: "POST",
    url: "/v1/networks/:id/inter-network-routes",
    command: CreateInterNetworkRoute,
    kind: "mutation",
    successStatus: 201,
    tags: l3,
    summary: "Enable routing between this network and another of the same router",
    params: NetworkParams,
    body: Type.Object({ peerNetworkId: NetworkId }, closed),
    toCommand: ({ params, body }) => ({ networkId: params.id, peerNetworkId: body.peerNetworkId }),
  });
  commandRoute(app, {
    method: "GET",
    url: "/v1/networks/:id/inter-network-routes",
    command: ListInterNetworkRoutes,
    kind: "read",
    tags: l3,
    summary: "List the networks this network is routed with",
    params: NetworkParams,
    toCommand: ({ params }) => ({ networkId: params.id }),
  });
  commandRoute(app, {
    method: "DELETE",
    url: "/v1/networks/:id/inter-network-routes/:ruleId",
    command: DeleteInterNetworkRoute,
    kind: "mutation",
    tags: l3,
    summary: "Disable routing between two networks",
    params: RuleParams,
    toCommand: ({ params }) => ({ networkId: params.id, ruleId: params.ruleId }),
  });
};
