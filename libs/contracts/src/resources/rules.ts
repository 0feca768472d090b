import Type, { type Static } from "@sdn/typebox";
import { AccountId, Ipv4Cidr, NetworkId, PublicIpId } from "./networks.js";
import { RouterId, RuleId } from "./router-id.js";
import { closed, ipv4, port, timestamp } from "./schema-fields.js";

/**
 * The L3 rules of guest networks (tenant-owned), which the vr-manager applies on the
 * network's router. These schemas are HTTP bodies too.
 */

const ruleOwner = {
  id: RuleId,
  networkId: NetworkId,
  accountId: AccountId,
  createdAt: timestamp("When the rule was created"),
};
const publicIpFields = {
  publicIpId: { ...PublicIpId, description: "A public IP acquired for the network" },
};
const resolvedPublicIp = { publicIp: ipv4("The public address (resolved from publicIpId)", "203.0.113.10") };

export const TRANSPORT_PROTOCOLS = ["tcp", "udp"] as const;
export const TRAFFIC_PROTOCOLS = ["tcp", "udp", "icmp", "all"] as const;
export const TransportProtocol = Type.Enum([...TRANSPORT_PROTOCOLS], { examples: ["tcp"] });
export const TrafficProtocol = Type.Enum([...TRAFFIC_PROTOCOLS], { examples: ["tcp"] });

const trafficFields = {
  protocol: TrafficProtocol,
  startPort: Type.Optional(port("tcp/udp: first port (omit for every port)", 22)),
  endPort: Type.Optional(port("tcp/udp: last port (default startPort)", 22)),
  icmpType: Type.Optional(
    Type.Integer({ minimum: -1, maximum: 255, description: "icmp: type, -1 for any", examples: [8] }),
  ),
  icmpCode: Type.Optional(
    Type.Integer({ minimum: -1, maximum: 255, description: "icmp: code, -1 for any", examples: [-1] }),
  ),
};
const cidrList = (description: string) =>
  Type.Array(Ipv4Cidr, { maxItems: 64, uniqueItems: true, description, examples: [["198.51.100.0/24"]] });

const portForwardFields = {
  ...publicIpFields,
  protocol: TransportProtocol,
  publicStartPort: port("First public port", 8080),
  publicEndPort: Type.Optional(port("Last public port (default publicStartPort)", 8080)),
  privateIp: ipv4("The VM's address on the network", "10.1.0.17"),
  privateStartPort: port("First private port", 80),
  privateEndPort: Type.Optional(port("Last private port; the ranges must be equally long", 80)),
};
export const NewPortForward = Type.Object(portForwardFields, {
  ...closed,
  $id: "NewPortForward",
  examples: [
    {
      publicIpId: "pip-203-0-113-10-1a2b3c4d",
      protocol: "tcp",
      publicStartPort: 8080,
      privateIp: "10.1.0.17",
      privateStartPort: 80,
    },
  ],
});
export const PortForward = Type.Object(
  {
    ...ruleOwner,
    ...portForwardFields,
    ...resolvedPublicIp,
    publicEndPort: port("Last public port", 8080),
    privateEndPort: port("Last private port", 80),
  },
  { ...closed, $id: "PortForward", description: "Public address:ports → a VM's address:ports (DNAT)" },
);
export type PortForward = Static<typeof PortForward>;

const staticNatFields = { ...publicIpFields, privateIp: ipv4("The VM's address on the network", "10.1.0.17") };
export const NewStaticNat = Type.Object(staticNatFields, {
  ...closed,
  $id: "NewStaticNat",
  examples: [{ publicIpId: "pip-203-0-113-11-5e6f7a8b", privateIp: "10.1.0.17" }],
});
export const StaticNat = Type.Object(
  { ...ruleOwner, ...staticNatFields, ...resolvedPublicIp },
  { ...closed, $id: "StaticNat", description: "A public address given 1:1 to one VM, both directions" },
);
export type StaticNat = Static<typeof StaticNat>;

const firewallFields = {
  ...publicIpFields,
  ...trafficFields,
  sourceCidrs: Type.Optional(cidrList("Allowed sources; default everyone (0.0.0.0/0)")),
};
export const NewFirewallRule = Type.Object(firewallFields, {
  ...closed,
  $id: "NewFirewallRule",
  examples: [
    { publicIpId: "pip-203-0-113-10-1a2b3c4d", protocol: "tcp", startPort: 8080, sourceCidrs: ["198.51.100.0/24"] },
  ],
});
export const FirewallRule = Type.Object(
  { ...ruleOwner, ...firewallFields, ...resolvedPublicIp, sourceCidrs: cidrList("Allowed sources") },
  {
    ...closed,
    $id: "FirewallRule",
    description:
      "Ingress allowed to a public IP (default deny). It opens port forwards, static NAT and load balancers " +
      "on that address, matched on the public destination port",
  },
);
export type FirewallRule = Static<typeof FirewallRule>;

const egressFields = {
  ...trafficFields,
  destinationCidrs: Type.Optional(cidrList("Destinations; default everywhere (0.0.0.0/0)")),
};
export const NewEgressRule = Type.Object(egressFields, {
  ...closed,
  $id: "NewEgressRule",
  examples: [{ protocol: "tcp", startPort: 443, destinationCidrs: ["0.0.0.0/0"] }],
});
export const EgressRule = Type.Object(
  { ...ruleOwner, ...egressFields, destinationCidrs: cidrList("Destinations") },
  {
    ...closed,
    $id: "EgressRule",
    description:
      "An exception to the network's egress default policy: with default deny it allows this traffic out, with " +
      "default allow it blocks it",
  },
);
export type EgressRule = Static<typeof EgressRule>;

export const EGRESS_POLICIES = ["allow", "deny"] as const;
export const EgressDefaultPolicy = Type.Enum([...EGRESS_POLICIES], {
  description: "What leaves the network when no egress rule matches",
  examples: ["deny"],
});

export const LB_ALGORITHMS = ["roundrobin", "leastconn", "source"] as const;
export const LbAlgorithm = Type.Enum([...LB_ALGORITHMS], {
  description: "roundrobin, least connections, or source hash (a client sticks to one member)",
  examples: ["roundrobin"],
});
export const HealthCheck = Type.Object(
  {
    intervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, default: 2000, examples: [2000] })),
    fall: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 2, description: "Failed checks before a member is out" }),
    ),
    rise: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 2, description: "Passed checks before it is back" }),
    ),
  },
  { ...closed, $id: "HealthCheck", description: "TCP health check of every member" },
);
const loadBalancerFields = {
  name: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples: ["web"] })),
  ...publicIpFields,
  publicPort: port("Public TCP port", 80),
  privatePort: port("Port of the members", 8080),
  algorithm: LbAlgorithm,
  members: Type.Array(ipv4("A VM's address on the network", "10.1.0.17"), {
    minItems: 1,
    maxItems: 256,
    uniqueItems: true,
    description: "Addresses of the member NICs on the network",
  }),
  healthCheck: Type.Optional(HealthCheck),
};
export const NewLoadBalancer = Type.Object(loadBalancerFields, {
  ...closed,
  $id: "NewLoadBalancer",
  examples: [
    {
      publicIpId: "pip-203-0-113-10-1a2b3c4d",
      publicPort: 80,
      privatePort: 8080,
      algorithm: "roundrobin",
      members: ["10.1.0.17", "10.1.0.18"],
    },
  ],
});
export const LoadBalancer = Type.Object(
  { ...ruleOwner, ...loadBalancerFields, ...resolvedPublicIp },
  { ...closed, $id: "LoadBalancer", description: "TCP load balancing (haproxy) from a public IP:port to member NICs" },
);
export type LoadBalancer = Static<typeof LoadBalancer>;

export const InterNetworkRoute = Type.Object(
  {
    id: RuleId,
    networkIds: Type.Array(NetworkId, { minItems: 2, maxItems: 2, description: "The two networks, sorted" }),
    accountId: AccountId,
    routerId: RouterId,
    createdAt: timestamp("When routing was enabled"),
  },
  {
    ...closed,
    $id: "InterNetworkRoute",
    description: "Routing enabled between two guest networks of one router (off by default), both directions",
  },
);
export type InterNetworkRoute = Static<typeof InterNetworkRoute>;

/** Every kind of per-network rule, as the vr-manager stores them. */
export const RULE_KINDS = ["portForwards", "staticNats", "firewallRules", "egressRules", "loadBalancers"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export interface RuleOfKind {
  portForwards: PortForward;
  staticNats: StaticNat;
  firewallRules: FirewallRule;
  egressRules: EgressRule;
  loadBalancers: LoadBalancer;
}
