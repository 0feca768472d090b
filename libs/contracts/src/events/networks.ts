import Type from "@sdn/typebox";
import { defineEvent } from "../definitions.js";
import { GreKey, Network, NetworkId, NicAddress, NicId, PublicIp, Vni } from "../resources/networks.js";

const service = "network-guru" as const;
const closed = { additionalProperties: false } as const;

export const NetworkDesigned = defineEvent({
  service,
  name: "NetworkDesigned",
  summary: "A network was designed (state Allocated).",
  data: Type.Object({ network: Network }, closed),
});

export const NetworkUpdated = defineEvent({
  service,
  name: "NetworkUpdated",
  summary: "A network's name, description, DNS, MTU or excluded ranges changed.",
  data: Type.Object({ network: Network }, closed),
});

export const NetworkImplemented = defineEvent({
  service,
  name: "NetworkImplemented",
  summary: "A network took its key: a GRE key, or a VNI for a vxlan network (state Implemented).",
  data: Type.Object({ network: Network }, closed),
});

export const NetworkShutdown = defineEvent({
  service,
  name: "NetworkShutdown",
  summary:
    "A network returned its key to its pool (state Shutdown): releasedGreKey for a gre network, releasedVni " +
    "for a vxlan one.",
  data: Type.Object(
    { network: Network, releasedGreKey: Type.Optional(GreKey), releasedVni: Type.Optional(Vni) },
    closed,
  ),
});

export const NetworkDeleted = defineEvent({
  service,
  name: "NetworkDeleted",
  summary: "A network was trashed.",
  data: Type.Object(
    { networkId: NetworkId, releasedGreKey: Type.Optional(GreKey), releasedVni: Type.Optional(Vni) },
    closed,
  ),
});

export const NicAddressReserved = defineEvent({
  service,
  name: "NicAddressReserved",
  summary: "A guest address was reserved for a NIC.",
  data: Type.Object({ address: NicAddress }, closed),
});

export const NicAddressesReserved = defineEvent({
  service,
  name: "NicAddressesReserved",
  summary: "Guest addresses were reserved for NICs of one network by one ReserveNicAddresses command.",
  data: Type.Object({ networkId: NetworkId, addresses: Type.Array(NicAddress) }, closed),
});

export const NicAddressReleased = defineEvent({
  service,
  name: "NicAddressReleased",
  summary: "A NIC's guest address was released.",
  data: Type.Object({ networkId: NetworkId, nicId: NicId, ip: Type.String({ format: "ipv4" }) }, closed),
});

export const PublicIpAcquired = defineEvent({
  service,
  name: "PublicIpAcquired",
  summary: "A network acquired a public address.",
  data: Type.Object({ publicIp: PublicIp }, closed),
});

export const PublicIpReleased = defineEvent({
  service,
  name: "PublicIpReleased",
  summary: "A public address returned to its range.",
  data: Type.Object({ publicIp: PublicIp }, closed),
});

export const NETWORK_GURU_EVENTS = [
  NetworkDesigned,
  NetworkUpdated,
  NetworkImplemented,
  NetworkShutdown,
  NetworkDeleted,
  NicAddressReserved,
  NicAddressesReserved,
  NicAddressReleased,
  PublicIpAcquired,
  PublicIpReleased,
] as const;
