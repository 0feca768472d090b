import Type, { type Static } from "@sdn/typebox";
import { Ipv4Cidr } from "./networks.js";
import { EgressDefaultPolicy, LbAlgorithm, TrafficProtocol, TransportProtocol } from "./rules.js";
import { closed } from "./schema-fields.js";

/*
 * A router's whole desired configuration as the vr-manager pushes it to the router program
 * (`sdn-router apply`, JSON on stdin): the vr-manager checks what it composed against
 * RouterConfig before sending it, and `npm run schemas` writes it as JSON Schema to
 * services/vr-manager/router/schema/ for the program's side. Loose on values the rules'
 * own schemas already checked; strict on shape.
 */

const address = Type.String({ format: "ipv4" });
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const portNumber = Type.Integer({ minimum: 1, maximum: 65535 });

/** Which traffic a firewall or egress rule matches (ports for tcp/udp, type and code for icmp, -1 any). */
const trafficFields = {
  protocol: TrafficProtocol,
  startPort: Type.Optional(portNumber),
  endPort: Type.Optional(portNumber),
  icmpType: Type.Optional(Type.Integer({ minimum: -1, maximum: 255 })),
  icmpCode: Type.Optional(Type.Integer({ minimum: -1, maximum: 255 })),
};

export const GuestEntry = Type.Object(
  {
    mac: Type.String(),
    ip: address,
    hostname: Type.String({ minLength: 1 }),
    instanceId: Type.String(),
    publicIp: nullable(address),
    userData: nullable(Type.String()),
    publicKeys: Type.Array(Type.String()),
  },
  { ...closed, description: "What a router serves one guest NIC: its static lease, name and metadata" },
);
export type GuestEntry = Static<typeof GuestEntry>;

export const GuestServices = Type.Object(
  {
    domain: Type.String({ minLength: 1 }),
    upstreams: Type.Array(Type.String()),
    mtu: Type.Integer({ minimum: 68 }),
    leaseSeconds: Type.Integer({ minimum: 1 }),
    routes: Type.Array(Type.Object({ cidr: Ipv4Cidr }, closed), {
      description: "Networks this one is routed to: classless static routes (option 121) via the gateway",
    }),
    guests: Type.Array(GuestEntry),
  },
  { ...closed, description: "DHCP, DNS, user data and metadata for one network" },
);
export type GuestServices = Static<typeof GuestServices>;

export const VrrpConfig = Type.Object(
  {
    group: Type.String({ minLength: 1 }),
    virtualRouterId: Type.Integer({ minimum: 1, maximum: 255 }),
    priority: Type.Integer({ minimum: 1, maximum: 254 }),
    sourceAddress: address,
    peers: Type.Array(address),
  },
  {
    ...closed,
    description:
      "VRRP between the members of a redundant pair, over their control link: the router program renders " +
      "keepalived from it, with every network's gateway and public address as virtual addresses",
  },
);
export type VrrpConfig = Static<typeof VrrpConfig>;

export const RouterNetworkConfig = Type.Object(
  {
    id: Type.String(),
    cidr: Ipv4Cidr,
    gateway: address,
    interface: nullable(Type.String()),
    mac: nullable(Type.String()),
    mtu: Type.Integer({ minimum: 68, description: "The guest MTU (the element's, else the network's)" }),
    sourceNatIp: nullable(address),
    egress: Type.Object(
      {
        default: EgressDefaultPolicy,
        rules: Type.Array(
          Type.Object({ id: Type.String(), ...trafficFields, destinationCidrs: Type.Array(Ipv4Cidr) }, closed),
        ),
      },
      closed,
    ),
    guestServices: GuestServices,
  },
  { ...closed, description: "One guest network the router serves" },
);

export const RouterConfig = Type.Object(
  {
    control: Type.Object({ port: portNumber, address }, closed),
    public: Type.Object(
      {
        interface: Type.String(),
        gateway: nullable(address),
        addresses: Type.Array(
          Type.Object({ ip: address, prefixLength: Type.Integer({ minimum: 0, maximum: 32 }) }, closed),
        ),
      },
      closed,
    ),
    networks: Type.Array(RouterNetworkConfig),
    staticNats: Type.Array(Type.Object({ id: Type.String(), publicIp: address, privateIp: address }, closed)),
    portForwards: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          publicIp: address,
          protocol: TransportProtocol,
          publicStartPort: portNumber,
          publicEndPort: portNumber,
          privateIp: address,
          privateStartPort: portNumber,
          privateEndPort: portNumber,
        },
        closed,
      ),
    ),
    firewallRules: Type.Array(
      Type.Object(
        { id: Type.String(), publicIp: address, ...trafficFields, sourceCidrs: Type.Array(Ipv4Cidr) },
        closed,
      ),
    ),
    loadBalancers: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          publicIp: address,
          publicPort: portNumber,
          privatePort: portNumber,
          algorithm: LbAlgorithm,
          members: Type.Array(address, { minItems: 1 }),
          healthCheck: Type.Object(
            {
              intervalMs: Type.Integer({ minimum: 1 }),
              fall: Type.Integer({ minimum: 1 }),
              rise: Type.Integer({ minimum: 1 }),
            },
            closed,
          ),
        },
        closed,
      ),
    ),
    interNetworkRoutes: Type.Array(Type.Tuple([Type.String(), Type.String()]), {
      description: "Pairs of served networks routed to each other",
    }),
    vrrp: Type.Optional(VrrpConfig),
  },
  {
    ...closed,
    description: "A router's whole desired configuration (without the generation, added when it is pushed)",
  },
);
export type RouterConfig = Static<typeof RouterConfig>;

/** What `sdn-router apply` reads: the configuration and the generation it is pushed as. */
export const PushedRouterConfig = Type.Object(
  { generation: Type.Integer({ minimum: 0 }), ...RouterConfig.properties },
  { ...closed, description: "sdn-router apply's input (JSON on stdin)" },
);
export type PushedRouterConfig = Static<typeof PushedRouterConfig>;
