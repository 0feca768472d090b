import Type, { type Static } from "@sdn/typebox";
import { ENCAPSULATION_OVERHEAD_BYTES, ENCAPSULATIONS, Encapsulation } from "./networks.js";

/**
 * Network service providers, after CloudStack's NetworkElement: each provider declares the
 * services it offers and their capabilities. The Ovs provider gives Connectivity itself
 * (the GRE mesh) and hands every L3 service to the VirtualRouter provider, as CloudStack's
 * OvsElement delegates them through its NetworkTopology.
 */

export const NETWORK_SERVICES = [
  "Connectivity",
  "Gateway",
  "SourceNat",
  "StaticNat",
  "PortForwarding",
  "Firewall",
  "LoadBalancing",
  "Dhcp",
  "Dns",
  "UserData",
  "Vpn",
] as const;
export type NetworkService = (typeof NETWORK_SERVICES)[number];
export const NetworkServiceName = Type.Enum([...NETWORK_SERVICES], {
  description: "A network service, as CloudStack names them",
  examples: ["Connectivity"],
});

export const PROVIDER_NAMES = ["Ovs", "VirtualRouter"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
export const ProviderNameSchema = Type.Enum([...PROVIDER_NAMES], {
  description: "A network service provider",
  examples: ["Ovs"],
});

export const ProvidedService = Type.Object(
  {
    service: NetworkServiceName,
    capabilities: Type.Record(Type.String(), Type.String(), {
      description: "Capability name → value, e.g. SupportedLBAlgorithms → roundrobin,leastconn,source",
    }),
    delegatedTo: Type.Optional(ProviderNameSchema),
  },
  { additionalProperties: false, $id: "ProvidedService" },
);
export type ProvidedService = Static<typeof ProvidedService>;

export const Provider = Type.Object(
  {
    name: ProviderNameSchema,
    description: Type.String(),
    broadcastDomain: Type.String({ description: "Broadcast domain the provider works on", examples: ["gre"] }),
    encapsulations: Type.Optional(
      Type.Array(Encapsulation, {
        description: "Encapsulations of the networks the provider works on (absent: broadcastDomain only)",
        examples: [["gre", "vxlan"]],
      }),
    ),
    services: Type.Array(ProvidedService),
  },
  {
    additionalProperties: false,
    $id: "Provider",
    description: "A network service provider and the services it declares",
    examples: [
      {
        name: "Ovs",
        description: "Open vSwitch GRE overlay",
        broadcastDomain: "gre",
        services: [
          { service: "Connectivity", capabilities: { StretchedL2Subnet: "true" } },
          { service: "StaticNat", capabilities: {}, delegatedTo: "VirtualRouter" },
        ],
      },
    ],
  },
);
export type Provider = Static<typeof Provider>;

const delegated = (service: NetworkService): ProvidedService => ({
  service,
  capabilities: {},
  delegatedTo: "VirtualRouter",
});

/** What every provider declares; the ovs-element answers ListProviders and CanHandle from it. */
export const PROVIDERS: readonly Provider[] = [
  {
    name: "Ovs",
    description:
      "Open vSwitch overlay: a bridge per network on each host, a full mesh of keyed GRE or VXLAN tunnels " +
      "(the network's encapsulation)",
    broadcastDomain: "gre",
    encapsulations: [...ENCAPSULATIONS],
    services: [
      {
        service: "Connectivity",
        capabilities: {
          StretchedL2Subnet: "true",
          SplitHorizon: "Port.protected",
          Encapsulation: ENCAPSULATIONS.join(","),
          GreKeyRange: "1-4294967295",
          VniRange: "1-16777215",
          VxlanUdpPort: "4789",
          MtuOverheadBytes: ENCAPSULATIONS.map((e) => `${e}=${ENCAPSULATION_OVERHEAD_BYTES[e]}`).join(","),
        },
      },
      delegated("Gateway"),
      delegated("SourceNat"),
      delegated("StaticNat"),
      delegated("PortForwarding"),
      delegated("Firewall"),
      delegated("LoadBalancing"),
      delegated("Dhcp"),
      delegated("Dns"),
      delegated("UserData"),
    ],
  },
  {
    name: "VirtualRouter",
    description:
      "A virtual router per network, configured over SSH; rule sets applied whole (iptables-restore); DHCP and " +
      "DNS (dnsmasq), user data and metadata in CloudStack's format",
    broadcastDomain: "gre",
    encapsulations: [...ENCAPSULATIONS],
    services: [
      { service: "Gateway", capabilities: {} },
      { service: "SourceNat", capabilities: { SupportedSourceNatTypes: "peraccount" } },
      { service: "StaticNat", capabilities: {} },
      { service: "PortForwarding", capabilities: { SupportedProtocols: "tcp,udp" } },
      { service: "Firewall", capabilities: { SupportedProtocols: "tcp,udp,icmp", TrafficStatistics: "per public ip" } },
      {
        service: "LoadBalancing",
        capabilities: {
          SupportedLBAlgorithms: "roundrobin,leastconn,source",
          SupportedLBIsolation: "dedicated",
          SupportedProtocols: "tcp",
          LbSchemes: "Public",
        },
      },
      {
        service: "Dhcp",
        capabilities: { StaticLeasesOnly: "true", ClasslessStaticRoutes: "true" },
      },
      { service: "Dns", capabilities: { AllowDnsSuffixModification: "true", ReverseLookup: "true" } },
      { service: "UserData", capabilities: { MetadataFormat: "CloudStack", PasswordServer: "true" } },
    ],
  },
];

/**
 * The service → provider map of every guest network (the one network offering there is):
 * Connectivity by Ovs, L3 by the VirtualRouter. Services absent here are not offered.
 */
export const DEFAULT_SERVICE_PROVIDERS: Readonly<Partial<Record<NetworkService, ProviderName>>> = {
  Connectivity: "Ovs",
  Gateway: "VirtualRouter",
  SourceNat: "VirtualRouter",
  StaticNat: "VirtualRouter",
  PortForwarding: "VirtualRouter",
  Firewall: "VirtualRouter",
  LoadBalancing: "VirtualRouter",
  Dhcp: "VirtualRouter",
  Dns: "VirtualRouter",
  UserData: "VirtualRouter",
};

export const CanHandleVerdict = Type.Object(
  {
    networkId: Type.String({ format: "uuid" }),
    provider: ProviderNameSchema,
    service: NetworkServiceName,
    canHandle: Type.Boolean(),
    delegatedTo: Type.Optional(ProviderNameSchema),
    reason: Type.Optional(
      Type.String({ description: "Why the provider cannot handle the service; absent when it can" }),
    ),
  },
  {
    additionalProperties: false,
    $id: "CanHandleVerdict",
    examples: [
      {
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        provider: "Ovs",
        service: "Vpn",
        canHandle: false,
        reason: "service Vpn is not offered on network web-tier",
      },
    ],
  },
);
export type CanHandleVerdict = Static<typeof CanHandleVerdict>;
