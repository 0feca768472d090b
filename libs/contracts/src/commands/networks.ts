import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { ReserveNicAddresses } from "./nic-address-batch.js";
import { nextCursorField, pageRequestFields } from "../paging.js";
import { DnsDomain } from "../resources/guest-data.js";
import {
  accountIdSchema,
  AddressRange,
  DEFAULT_MTU,
  DnsServers,
  ENCAPSULATIONS,
  Encapsulation,
  ENCRYPTIONS,
  Encryption,
  GreKey,
  Ipv4Cidr,
  Mtu,
  NetworkTunnelHealth,
  mtuSchema,
  Network,
  NetworkDescription,
  NetworkId,
  NetworkName,
  NicAddress,
  NicId,
  PublicIp,
  PublicIpId,
  PublicIpRange,
  PublicIpRangeId,
  Vni,
} from "../resources/networks.js";
import { SealedSecret } from "../sealing.js";

/**
 * Durable commands of the network-guru (CloudStack's NetworkGuru and IpAddressManager).
 * Tenants see and change only their own account's networks and addresses (NOT_FOUND
 * otherwise); commands marked "admin" answer FORBIDDEN to tenants. IPv4 only.
 */

const service = "network-guru" as const;
const obj = Type.Object;
const closed = { additionalProperties: false } as const;
const ipv4 = (description: string, example: string) =>
  Type.String({ format: "ipv4", description, examples: [example] });
const byNetwork = obj({ networkId: NetworkId }, closed);

export const CreateNetwork = defineCommand({
  service,
  name: "CreateNetwork",
  delivery: "durable",
  summary:
    "Designs a guest network: validates CIDR, gateway and DNS and records it as Allocated (no key yet) on its " +
    "encapsulation (gre by default, or vxlan; fixed afterwards). UNPROCESSABLE names the bad field.",
  request: obj(
    {
      name: NetworkName,
      description: Type.Optional(NetworkDescription),
      cidr: Ipv4Cidr,
      gateway: Type.Optional(ipv4("Gateway; default the first usable address of the CIDR", "10.1.0.1")),
      dns: Type.Optional(DnsServers),
      domain: Type.Optional(DnsDomain),
      mtu: Type.Optional(mtuSchema({ default: DEFAULT_MTU })),
      encapsulation: Type.Optional(Encapsulation),
      encryption: Type.Optional(Encryption),
      accountId: Type.Optional(accountIdSchema("Owner; admins only (a tenant's networks always belong to the tenant)")),
    },
    { ...closed, examples: [{ name: "web-tier", cidr: "10.1.0.0/24", dns: ["1.1.1.1"] }] },
  ),
  response: Network,
});

export const GetNetwork = defineCommand({
  service,
  name: "GetNetwork",
  delivery: "request",
  summary: "Reads one network.",
  request: byNetwork,
  response: Network,
});

export const NetworkList = obj(
  { networks: Type.Array(Network), ...nextCursorField },
  { ...closed, $id: "NetworkList" },
);

export const ListNetworks = defineCommand({
  service,
  name: "ListNetworks",
  delivery: "request",
  summary:
    "Lists the caller's networks (admins: every network, or one account's), one page at a time, ordered by id. " +
    "VALIDATION_FAILED names a cursor that is not one this listing handed out.",
  request: obj(
    { accountId: Type.Optional(accountIdSchema("Admins: only this account")), ...pageRequestFields },
    closed,
  ),
  response: NetworkList,
});

export const UpdateNetwork = defineCommand({
  service,
  name: "UpdateNetwork",
  delivery: "durable",
  summary:
    "Changes a network's name, description, DNS servers, DNS domain or MTU. CIDR, gateway and encapsulation are " +
    "fixed once designed: CONFLICT names an encapsulation other than the network's.",
  request: obj(
    {
      networkId: NetworkId,
      name: Type.Optional(NetworkName),
      description: Type.Optional(NetworkDescription),
      dns: Type.Optional(DnsServers),
      domain: Type.Optional(DnsDomain),
      mtu: Type.Optional(Mtu),
      encapsulation: Type.Optional(
        Type.Enum([...ENCAPSULATIONS], {
          description: "Accepted only when it is the network's own (it cannot change): CONFLICT otherwise",
        }),
      ),
      encryption: Type.Optional(
        Type.Enum([...ENCRYPTIONS], {
          description: "Accepted only when it is the network's own (it cannot change): CONFLICT otherwise",
        }),
      ),
    },
    closed,
  ),
  response: Network,
});

export const ImplementNetwork = defineCommand({
  service,
  name: "ImplementNetwork",
  delivery: "durable",
  summary:
    "Gives the network its key (state Implemented): a GRE key from the GRE key pool (broadcastUri gre://<key>), " +
    "or for a vxlan network a VNI from the VNI pool (vni, broadcastUri vxlan://<vni>). Idempotent: an " +
    "implemented network is answered as it is. CONFLICT when the pool is exhausted or the network is being deleted.",
  request: byNetwork,
  response: Network,
});

export const ShutdownNetwork = defineCommand({
  service,
  name: "ShutdownNetwork",
  delivery: "durable",
  summary:
    "Returns the network's GRE key or VNI to its pool (state Shutdown). Idempotent on a shut-down network; CONFLICT " +
    "while NIC addresses remain or when the network was never implemented.",
  request: byNetwork,
  response: Network,
});

export const DeletedNetwork = obj(
  {
    id: NetworkId,
    name: NetworkName,
    releasedGreKey: Type.Optional(GreKey),
    releasedVni: Type.Optional(Vni),
  },
  { ...closed, $id: "DeletedNetwork" },
);

export const DeleteNetwork = defineCommand({
  service,
  name: "DeleteNetwork",
  delivery: "durable",
  summary:
    "Trashes a network (shutting it down first when implemented). CONFLICT naming the NICs and public IPs " +
    "that remain; nothing changes then.",
  request: byNetwork,
  response: DeletedNetwork,
});

export const ReserveNicAddress = defineCommand({
  service,
  name: "ReserveNicAddress",
  delivery: "durable",
  summary:
    "Reserves a guest address for a NIC: the requested one, or a free one. Idempotent by nicId: a retry " +
    "answers the address already held. Never the network, broadcast or gateway address, nor an excluded one.",
  request: obj(
    {
      networkId: NetworkId,
      nicId: NicId,
      ip: Type.Optional(ipv4("A specific address; UNPROCESSABLE outside the CIDR, CONFLICT when taken", "10.1.0.17")),
    },
    { ...closed, examples: [{ networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5", nicId: "nic-7f3a" }] },
  ),
  response: NicAddress,
});

export const ReleasedNicAddress = obj(
  {
    networkId: NetworkId,
    nicId: NicId,
    ip: Type.Union([ipv4("The released address", "10.1.0.17"), Type.Null()], {
      description: "The released address; null when the NIC held none (a repeated release)",
    }),
  },
  { ...closed, $id: "ReleasedNicAddress" },
);

export const ReleaseNicAddress = defineCommand({
  service,
  name: "ReleaseNicAddress",
  delivery: "durable",
  summary: "Releases a NIC's address. Idempotent: releasing again answers ip null.",
  request: obj({ networkId: NetworkId, nicId: NicId }, closed),
  response: ReleasedNicAddress,
});

export const NicAddressList = obj(
  { addresses: Type.Array(NicAddress), ...nextCursorField },
  { ...closed, $id: "NicAddressList" },
);

export const ListNicAddresses = defineCommand({
  service,
  name: "ListNicAddresses",
  delivery: "request",
  summary: "Lists the addresses reserved on a network, one page at a time, ordered by address.",
  request: obj({ networkId: NetworkId, ...pageRequestFields }, closed),
  response: NicAddressList,
});

const exclusion = obj(
  { networkId: NetworkId, start: AddressRange.properties.start, end: AddressRange.properties.end },
  closed,
);

export const AddExcludedRange = defineCommand({
  service,
  name: "AddExcludedRange",
  delivery: "durable",
  summary:
    "Admin: keeps an address range of a network out of IPAM. UNPROCESSABLE outside the CIDR; CONFLICT while " +
    "addresses in it are reserved (they are named).",
  request: exclusion,
  response: Network,
});

export const RemoveExcludedRange = defineCommand({
  service,
  name: "RemoveExcludedRange",
  delivery: "durable",
  summary: "Admin: returns an excluded range (given exactly as added) to IPAM. Idempotent.",
  request: exclusion,
  response: Network,
});

export const CreatePublicIpRange = defineCommand({
  service,
  name: "CreatePublicIpRange",
  delivery: "durable",
  summary: "Admin: defines public addresses tenants can acquire. CONFLICT when it overlaps another range.",
  request: obj(
    {
      name: Type.Optional(NetworkName),
      cidr: Ipv4Cidr,
      gateway: ipv4("Upstream gateway; inside the CIDR, outside startIp..endIp", "203.0.113.1"),
      startIp: ipv4("First address handed out", "203.0.113.10"),
      endIp: ipv4("Last address handed out (inclusive); at most 65536 addresses", "203.0.113.99"),
    },
    {
      ...closed,
      examples: [{ cidr: "203.0.113.0/24", gateway: "203.0.113.1", startIp: "203.0.113.10", endIp: "203.0.113.99" }],
    },
  ),
  response: PublicIpRange,
});

export const PublicIpRangeList = obj({ ranges: Type.Array(PublicIpRange) }, { ...closed, $id: "PublicIpRangeList" });

export const ListPublicIpRanges = defineCommand({
  service,
  name: "ListPublicIpRanges",
  delivery: "request",
  summary: "Admin: lists the public IP ranges.",
  request: obj({}, closed),
  response: PublicIpRangeList,
});

export const DeletePublicIpRange = defineCommand({
  service,
  name: "DeletePublicIpRange",
  delivery: "durable",
  summary: "Admin: deletes a public IP range. CONFLICT naming the addresses of it still held.",
  request: obj({ rangeId: PublicIpRangeId }, closed),
  response: PublicIpRange,
});

export const AcquirePublicIp = defineCommand({
  service,
  name: "AcquirePublicIp",
  delivery: "durable",
  summary:
    "Acquires a free public address for a network. The network's first one is its source NAT address. " +
    "CONFLICT when every range is exhausted.",
  request: byNetwork,
  response: PublicIp,
});

export const ReleasePublicIp = defineCommand({
  service,
  name: "ReleasePublicIp",
  delivery: "durable",
  summary: "Releases a public address. A network's source NAT address goes last: CONFLICT while it holds others.",
  request: obj({ publicIpId: PublicIpId }, closed),
  response: PublicIp,
});

export const PublicIpList = obj(
  { publicIps: Type.Array(PublicIp), ...nextCursorField },
  { ...closed, $id: "PublicIpList" },
);

export const ListPublicIps = defineCommand({
  service,
  name: "ListPublicIps",
  delivery: "request",
  summary:
    "Lists the caller's public addresses (admins: all), optionally of one network, one page at a time, ordered " +
    "by address.",
  request: obj({ networkId: Type.Optional(NetworkId), ...pageRequestFields }, closed),
  response: PublicIpList,
});

export const RecordTunnelHealth = defineCommand({
  service,
  name: "RecordTunnelHealth",
  delivery: "durable",
  summary:
    "Records the network's tunnel health summary (admins only: the ovs-element sends it when a row's BFD health " +
    "turns); GetNetwork then shows it. An older summary than the recorded one is ignored.",
  request: obj({ networkId: NetworkId, tunnelHealth: NetworkTunnelHealth }, closed),
  response: obj({ recorded: Type.Boolean({ description: "False when a newer summary was already recorded" }) }, closed),
});

export const GetNetworkTunnelSecret = defineCommand({
  service,
  name: "GetNetworkTunnelSecret",
  delivery: "request",
  summary:
    "Answers an encrypted network's IPsec pre-shared key, sealed to the hypervisor agents' sealing key (admins " +
    "only, no HTTP route: the ovs-element passes it on in ApplyTunnels, and only an agent can open it). " +
    "NOT_FOUND for a network without encryption.",
  request: byNetwork,
  response: obj(
    {
      networkId: NetworkId,
      encryption: Type.Literal("ipsec"),
      sealedPsk: SealedSecret,
    },
    closed,
  ),
});

/** Every network-guru command except CheckHealth, in the order the README lists them. */
export const NETWORK_GURU_COMMANDS = [
  CreateNetwork,
  GetNetwork,
  ListNetworks,
  UpdateNetwork,
  ImplementNetwork,
  ShutdownNetwork,
  DeleteNetwork,
  ReserveNicAddress,
  ReserveNicAddresses,
  ReleaseNicAddress,
  ListNicAddresses,
  AddExcludedRange,
  RemoveExcludedRange,
  CreatePublicIpRange,
  ListPublicIpRanges,
  DeletePublicIpRange,
  AcquirePublicIp,
  ReleasePublicIp,
  ListPublicIps,
  RecordTunnelHealth,
  GetNetworkTunnelSecret,
] as const;
