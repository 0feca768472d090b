import Type, { type Static } from "typebox";
import { HostId, HostKeyFingerprint, InterfaceName, MacAddress } from "./hosts.js";
import { AccountId, Ipv4Cidr, NetworkId, NicId, PublicIpId } from "./networks.js";

/**
 * Resources of the vr-manager: virtual routers (admin-registered appliances running the
 * router program) and the L3 rules of guest networks (tenant-owned), which the vr-manager
 * applies on the network's router. IPv4 only. These schemas are HTTP bodies too.
 */

const closed = { additionalProperties: false } as const;
const ipv4 = (description: string, example: string) =>
  Type.String({ format: "ipv4", description, examples: [example] });
const timestamp = (description: string) =>
  Type.String({ format: "date-time", description, examples: ["2025-01-31T12:00:00.000Z"] });
const port = (description: string, example: number) =>
  Type.Integer({ minimum: 1, maximum: 65535, description, examples: [example] });

export const RouterId = Type.String({
  pattern: "^vr-[0-9a-f]{16}$",
  description: "Virtual router id",
  examples: ["vr-3f0c1d2e4b5a4c6d"],
});

export const RuleId = Type.String({
  pattern: "^[a-z]{2,4}-[0-9a-f]{16}$",
  description: "L3 rule id; its prefix names the kind (pf, snat, fw, eg, lb, inr)",
  examples: ["pf-8e9fa0b1c2d3e4f5"],
});

export const ROUTER_TRANSPORTS = ["ssh", "host-relay"] as const;
export const RouterTransport = Type.Enum([...ROUTER_TRANSPORTS], {
  description:
    "ssh: the vr-manager connects to controlAddress:controlPort itself. host-relay: the router is reachable " +
    "only from its host (XenServer link-local control network); the host's agent relays through its XAPI plugin",
  examples: ["ssh"],
});

const routerNicFields = {
  networkId: NetworkId,
  interface: Type.Optional({ ...InterfaceName, description: "The router's interface on the network, e.g. eth2" }),
  mac: Type.Optional({ ...MacAddress, description: "MAC of that interface (found by MAC when no name is given)" }),
  hostInterface: Type.Optional({
    ...InterfaceName,
    description: "The router VM's device on its host, for the ovs-element (KVM: required; XenServer: found from vmId)",
    examples: ["vnet7"],
  }),
};

export const NewRouterNic = Type.Object(routerNicFields, {
  ...closed,
  $id: "NewRouterNic",
  description: "How the router's NIC on a network is plugged and found",
});

export const RouterNic = Type.Object(
  {
    ...routerNicFields,
    nicId: Type.Optional({ ...NicId, description: "The ovs-element's NIC, when the vr-manager plugged it" }),
    mtu: Type.Optional(
      Type.Integer({
        minimum: 576,
        maximum: 9000,
        description:
          "The NIC's MTU as the ovs-element computed it (when it plugged it); the router's interface takes it",
        examples: [1450],
      }),
    ),
  },
  { ...closed, $id: "RouterNic", description: "The router's NIC on a network" },
);
export type RouterNic = Static<typeof RouterNic>;

export const RouterState = Type.Enum(["Applied", "Failed", "Unreachable"], {
  description:
    "Applied: the router runs the current configuration. Failed: the router refused the last push and runs the " +
    "previous one (lastError says why). Unreachable: the last push did not reach it; it gets the current " +
    "configuration when it is back",
  examples: ["Applied"],
});

export const RedundancyGroupName = Type.String({
  pattern: "^[a-z0-9][a-z0-9-]{0,62}$",
  description:
    "Makes the router one member of a redundant pair (keepalived VRRP): the second router registered with the " +
    "same group and the same networkIds, on another host, is the backup. Both get every configuration push; " +
    "the gateway and public addresses float to the master",
  examples: ["web-pair"],
});

const routerFields = {
  name: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$", description: "Name", examples: ["vr-web"] }),
  hostId: { ...HostId, description: "Host the router VM runs on (for host-relay: the host that relays)" },
  vmId: Type.String({ pattern: "^[A-Za-z0-9_-]{1,128}$", description: "The router VM", examples: ["vm-router-1"] }),
  networkIds: Type.Array(NetworkId, {
    minItems: 1,
    maxItems: 64,
    uniqueItems: true,
    description: "Guest networks the router serves (each is served by one router at most)",
  }),
  nics: Type.Optional(
    Type.Array(NewRouterNic, {
      maxItems: 64,
      description:
        "Per network: the router's interface (by name or MAC; by default the one holding the gateway) and its device on the host",
    }),
  ),
  plugNics: Type.Optional(
    Type.Boolean({
      description:
        "Default true: plug the router's NIC into each network through the ovs-element (PlugNic, role router: it " +
        "holds the network's gateway address) and unplug them when the router is deleted. false: they are plugged already",
    }),
  ),
  controlAddress: ipv4("Address the router's sshd listens on (host-relay: its link-local address)", "169.254.3.7"),
  controlPort: Type.Optional(port("sshd port of the router", 3922)),
  controlUser: Type.Optional(
    Type.String({ pattern: "^[a-z_][a-z0-9_-]{0,31}$", description: "SSH user (default root)", examples: ["root"] }),
  ),
  hostKeyFingerprint: HostKeyFingerprint,
  transport: Type.Optional(RouterTransport),
  publicInterface: {
    ...InterfaceName,
    description: "The router's interface on the public network",
    examples: ["eth1"],
  },
  publicGateway: Type.Optional(
    ipv4("Default gateway on the public side; default: the gateway of the source NAT address's range", "203.0.113.1"),
  ),
  redundancyGroup: Type.Optional(RedundancyGroupName),
};

export const NewRouter = Type.Object(routerFields, {
  ...closed,
  $id: "NewRouter",
  examples: [
    {
      name: "vr-web",
      hostId: "3f6c0d0e-4b9a-5a8e-9c1f-2d7e8b6a1c40",
      vmId: "vm-router-1",
      networkIds: ["3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5"],
      controlAddress: "10.0.0.50",
      hostKeyFingerprint: "SHA256:e0LcbQspVwzoIQCjmHgYS+wTQbg9JzNsJOngJFXHWFw",
      publicInterface: "eth1",
    },
  ],
});
export type NewRouter = Static<typeof NewRouter>;

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

export const Router = Type.Object(
  {
    id: RouterId,
    ...routerFields,
    nics: Type.Array(RouterNic),
    controlPort: port("sshd port of the router", 3922),
    controlUser: Type.String(),
    transport: RouterTransport,
    state: RouterState,
    generation: Type.Integer({ minimum: 0, description: "Generation of the last configuration pushed" }),
    appliedGeneration: Type.Integer({ minimum: 0, description: "Generation the router last confirmed" }),
    appliedHash: Type.Optional(Type.String({ description: "Hash of the configuration the router runs" })),
    programVersion: Type.Optional(Type.String({ description: "Version of the router program on the router" })),
    lastError: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String(), at: timestamp("When") }, closed),
    ),
    vrrpState: Type.Optional(VrrpState),
    connectionSync: Type.Optional(ConnectionSync),
    redundancy: Type.Optional(Redundancy),
    createdAt: timestamp("When the router was registered"),
    updatedAt: timestamp("Last change"),
  },
  { ...closed, $id: "Router", description: "A virtual router and where its configuration stands" },
);
export type Router = Static<typeof Router>;

export const ApplyOutcome = Type.Object(
  {
    status: Type.Enum(["applied", "pending", "no-router"], {
      description:
        "applied: the network's router runs the change. pending: the router is unreachable; it gets the change " +
        "when it is back. no-router: no router serves the network yet; stored for when one does",
    }),
    routerId: Type.Optional(RouterId),
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
    message: Type.Optional(Type.String()),
  },
  { ...closed, $id: "ApplyOutcome", description: "What became of a rule change on the router" },
);
export type ApplyOutcome = Static<typeof ApplyOutcome>;

/* ------------------------------------------------------------------ L3 rules */

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
