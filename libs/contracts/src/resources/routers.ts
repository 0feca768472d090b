import Type, { type Static } from "@sdn/typebox";
import { HostId, HostKeyFingerprint, InterfaceName, MacAddress } from "./hosts.js";
import { NetworkId, NicId } from "./networks.js";
import { ConnectionSync, Redundancy, RedundancyGroupName, VrrpState } from "./redundancy.js";
import { RouterId } from "./router-id.js";
import { closed, ipv4, port, timestamp } from "./schema-fields.js";

/**
 * Resources of the vr-manager: virtual routers (admin-registered appliances running the
 * router program) and the L3 rules of guest networks (tenant-owned), which the vr-manager
 * applies on the network's router. IPv4 only. These schemas are HTTP bodies too. The rules
 * are in rules.ts, a redundant pair's in redundancy.ts, what is pushed to a router in
 * router-config.ts.
 */

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
