import Type, { type Static } from "@sdn/typebox";
import { DnsDomain } from "./guest-data.js";

/**
 * Resources of the network-guru: guest networks, their NIC address reservations, public
 * IP ranges and public IPs. IPv4 only: every address is a dotted quad, every CIDR an IPv4
 * prefix. These schemas are HTTP bodies too, hence the descriptions and examples.
 */

const ipv4 = (description: string, example: string) =>
  Type.String({ format: "ipv4", description, examples: [example] });

export const Ipv4Cidr = Type.String({
  pattern: "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$",
  maxLength: 18,
  description: "IPv4 prefix in CIDR notation, with no host bits set",
  examples: ["10.1.0.0/24"],
});

export const accountIdSchema = (description = "Tenant (account) that owns the resource") =>
  Type.String({ minLength: 1, maxLength: 128, description, examples: ["acct-42"] });
export const AccountId = accountIdSchema();

export const NetworkId = Type.String({
  format: "uuid",
  description: "Network id",
  examples: ["3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5"],
});

/** NIC ids come from the ovs-element; they must be usable as a NATS KV key token. */
export const NicId = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,128}$",
  description: "Id of the NIC the address is reserved for (letters, digits, '-' and '_')",
  examples: ["nic-7f3a"],
});

export const GreKey = Type.Integer({
  minimum: 1,
  maximum: 4294967295,
  description: "GRE key of the network: the full 32-bit range GRE allows, above 2^31-1 included",
  examples: [3000000001],
});

export const Vni = Type.Integer({
  minimum: 1,
  maximum: 16777215,
  description: "VXLAN network identifier of a VXLAN network: 24 bits, from its own pool (not the GRE keys')",
  examples: [5001],
});

export const NETWORK_STATES = ["Allocated", "Implemented", "Shutdown", "Destroy"] as const;
export const NetworkState = Type.Enum([...NETWORK_STATES], {
  description:
    "Allocated: designed, no key. Implemented: holds its key (a GRE key, or a VNI for vxlan). " +
    "Shutdown: key returned to its pool. " +
    "Destroy: a DeleteNetwork is in progress (transient).",
  examples: ["Implemented"],
});
export type NetworkState = Static<typeof NetworkState>;

export const ENCAPSULATIONS = ["gre", "vxlan"] as const;
export type Encapsulation = (typeof ENCAPSULATIONS)[number];
export const Encapsulation = Type.Enum([...ENCAPSULATIONS], {
  description:
    "Overlay encapsulation, chosen when the network is designed and fixed afterwards: `gre` (keyed GRE, the " +
    "default) or `vxlan` (UDP 4789, a 24-bit VNI)",
  examples: ["gre"],
});

export const ENCRYPTIONS = ["none", "ipsec"] as const;
export type Encryption = (typeof ENCRYPTIONS)[number];
export const Encryption = Type.Enum([...ENCRYPTIONS], {
  description:
    "Encryption of the network's tunnels, chosen when the network is designed and fixed afterwards: `none` (the " +
    "default) or `ipsec` (OVS IPsec, transport-mode ESP with a pre-shared key per network, generated and sealed " +
    "by the controller; hosts whose datapath cannot encrypt refuse the tunnels rather than carry them in clear)",
  examples: ["none"],
});

/**
 * Bytes each encapsulation adds to a guest frame over an IPv4 underlay: outer IPv4 20 +
 * GRE with a key 8 + inner Ethernet 14; outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
 */
export const ENCAPSULATION_OVERHEAD_BYTES: Readonly<Record<Encapsulation, number>> = { gre: 42, vxlan: 50 };

export const DnsServers = Type.Array(ipv4("DNS server", "10.1.0.1"), {
  maxItems: 3,
  uniqueItems: true,
  description: "DNS servers handed to guests, at most 3",
  examples: [["1.1.1.1", "9.9.9.9"]],
});

export const DEFAULT_MTU = 1450;
export const mtuSchema = (extra: { default?: number } = {}) =>
  Type.Integer({
    minimum: 576,
    maximum: 9000,
    description:
      "Guest MTU. Over a 1500-byte underlay GRE with a key carries at most 1458 (outer IPv4 20 + GRE 8 + " +
      "inner Ethernet 14), VXLAN at most 1450 (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14).",
    examples: [DEFAULT_MTU],
    ...extra,
  });
export const Mtu = mtuSchema();

export const NetworkName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
  description: "Name shown to people; letters, digits, space, '.', '_' and '-'",
  examples: ["web-tier"],
});

export const NetworkDescription = Type.String({
  maxLength: 255,
  description: "Free text",
  examples: ["front-end web servers"],
});

export const AddressRange = Type.Object(
  {
    start: ipv4("First address of the range", "10.1.0.200"),
    end: ipv4("Last address of the range (inclusive)", "10.1.0.250"),
  },
  {
    additionalProperties: false,
    $id: "AddressRange",
    description: "Inclusive range of IPv4 addresses",
    examples: [{ start: "10.1.0.200", end: "10.1.0.250" }],
  },
);
export type AddressRange = Static<typeof AddressRange>;

const timestamp = (description: string) =>
  Type.String({ format: "date-time", description, examples: ["2025-01-31T12:00:00.000Z"] });

/**
 * How the network's tunnels fare by BFD (kept by the ovs-element, recorded on the network):
 * AllUp when packets cross every path between its hosts, Degraded while any path is down,
 * Unknown while some path has not been reported (or the network has fewer than two hosts).
 */
export const NetworkTunnelHealth = Type.Object(
  {
    state: Type.Enum(["AllUp", "Degraded", "Unknown"]),
    up: Type.Integer({ minimum: 0 }),
    down: Type.Integer({ minimum: 0 }),
    unknown: Type.Integer({ minimum: 0 }),
    changedAt: Type.String({ format: "date-time" }),
  },
  {
    additionalProperties: false,
    $id: "NetworkTunnelHealth",
    description: "The network's tunnel rows by BFD health; Degraded says a path between two of its hosts is down",
  },
);
export type NetworkTunnelHealth = Static<typeof NetworkTunnelHealth>;

export const Network = Type.Object(
  {
    id: NetworkId,
    accountId: AccountId,
    name: NetworkName,
    description: Type.Optional(NetworkDescription),
    cidr: Ipv4Cidr,
    gateway: ipv4("Gateway address; never handed to a NIC", "10.1.0.1"),
    dns: DnsServers,
    domain: Type.Optional(DnsDomain),
    mtu: Mtu,
    encapsulation: Encapsulation,
    encryption: Type.Optional(Encryption),
    state: NetworkState,
    greKey: Type.Optional(GreKey),
    vni: Type.Optional(Vni),
    broadcastUri: Type.Optional(
      Type.String({
        pattern: "^(gre|vxlan)://[0-9]{1,10}$",
        description: "Broadcast domain of an implemented network, `gre://<greKey>` or `vxlan://<vni>`",
        examples: ["gre://3000000001"],
      }),
    ),
    excludedRanges: Type.Array(AddressRange, {
      maxItems: 64,
      description: "Address ranges an admin excluded from IPAM",
    }),
    createdAt: timestamp("When the network was designed"),
    updatedAt: timestamp("Last change"),
    tunnelHealth: Type.Optional(NetworkTunnelHealth),
  },
  {
    additionalProperties: false,
    $id: "Network",
    description: "An isolated guest network (IPv4)",
    examples: [
      {
        id: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        accountId: "acct-42",
        name: "web-tier",
        cidr: "10.1.0.0/24",
        gateway: "10.1.0.1",
        dns: ["10.1.0.1"],
        domain: "web-tier.internal",
        mtu: 1450,
        encapsulation: "gre",
        state: "Implemented",
        greKey: 3000000001,
        broadcastUri: "gre://3000000001",
        excludedRanges: [],
        createdAt: "2025-01-31T12:00:00.000Z",
        updatedAt: "2025-01-31T12:00:05.000Z",
      },
    ],
  },
);
export type Network = Static<typeof Network>;

export const NicAddress = Type.Object(
  {
    networkId: NetworkId,
    accountId: AccountId,
    nicId: NicId,
    ip: ipv4("The reserved address", "10.1.0.17"),
    prefixLength: Type.Integer({
      minimum: 8,
      maximum: 30,
      description: "Prefix length of the network",
      examples: [24],
    }),
    gateway: ipv4("Gateway of the network", "10.1.0.1"),
    reservedAt: timestamp("When the address was reserved"),
  },
  {
    additionalProperties: false,
    $id: "NicAddress",
    description: "A guest address reserved for one NIC on one network",
    examples: [
      {
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        accountId: "acct-42",
        nicId: "nic-7f3a",
        ip: "10.1.0.17",
        prefixLength: 24,
        gateway: "10.1.0.1",
        reservedAt: "2025-01-31T12:01:00.000Z",
      },
    ],
  },
);
export type NicAddress = Static<typeof NicAddress>;

export const PublicIpRangeId = Type.String({
  format: "uuid",
  description: "Public IP range id",
  examples: ["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
});

export const PublicIpRange = Type.Object(
  {
    id: PublicIpRangeId,
    name: Type.Optional(NetworkName),
    cidr: Ipv4Cidr,
    gateway: ipv4("Upstream gateway of the public subnet; outside startIp..endIp", "203.0.113.1"),
    startIp: ipv4("First address handed out", "203.0.113.10"),
    endIp: ipv4("Last address handed out (inclusive)", "203.0.113.99"),
    size: Type.Integer({ minimum: 1, maximum: 65536, description: "Addresses in the range", examples: [90] }),
    createdAt: timestamp("When the range was created"),
  },
  {
    additionalProperties: false,
    $id: "PublicIpRange",
    description: "Admin-defined public IPv4 addresses that tenants acquire for their networks",
    examples: [
      {
        id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        name: "edge-1",
        cidr: "203.0.113.0/24",
        gateway: "203.0.113.1",
        startIp: "203.0.113.10",
        endIp: "203.0.113.99",
        size: 90,
        createdAt: "2025-01-31T12:00:00.000Z",
      },
    ],
  },
);
export type PublicIpRange = Static<typeof PublicIpRange>;

export const PublicIpId = Type.String({
  pattern: "^pip-[0-9]{1,3}(-[0-9]{1,3}){3}-[0-9a-f]{8}$",
  description: "Public IP id; a new one each time an address is acquired",
  examples: ["pip-203-0-113-10-1a2b3c4d"],
});

export const PublicIp = Type.Object(
  {
    id: PublicIpId,
    ip: ipv4("The public address", "203.0.113.10"),
    rangeId: PublicIpRangeId,
    accountId: AccountId,
    networkId: NetworkId,
    isSourceNat: Type.Boolean({
      description: "True for the network's source NAT address (the first one it acquired)",
      examples: [true],
    }),
    acquiredAt: timestamp("When the address was acquired"),
  },
  {
    additionalProperties: false,
    $id: "PublicIp",
    description: "A public IPv4 address held by a tenant's network",
    examples: [
      {
        id: "pip-203-0-113-10-1a2b3c4d",
        ip: "203.0.113.10",
        rangeId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        accountId: "acct-42",
        networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
        isSourceNat: true,
        acquiredAt: "2025-01-31T12:02:00.000Z",
      },
    ],
  },
);
export type PublicIp = Static<typeof PublicIp>;
