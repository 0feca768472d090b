import { bucket, bucketStore } from "@sdn/bus";
import type { Network, NetworkState, PublicIp, PublicIpRange, SealedSecret } from "@sdn/contracts";

/**
 * A network as stored: the resource plus the state to go back to if a delete is refused,
 * and an encrypted network's IPsec pre-shared key, sealed to the agents (never answered).
 */
export type NetworkRecord = Network & { restoreState?: NetworkState; sealedPsk?: SealedSecret };

/** `<greKey>` (or `<vni>`) → who holds it. The command id lets a redelivered Implement adopt its own claim. */
export interface KeyClaim {
  networkId: string;
  commandId: string;
  claimedAt: string;
}

/** `<networkId>.<nicId>` → the address the NIC holds (or is about to hold). */
export interface NicIndex {
  ip: string;
}

/** `<networkId>.<a.b.c.d>` → the NIC holding the address. Created atomically: the uniqueness guard. */
export interface AddressClaim {
  nicId: string;
  reservedAt: string;
}

/**
 * `<networkId>.<a.b.c.0>` → the claims in that /24 slice of the network, keyed by address.
 * One compare-and-swap writes any number of a batch's reservations in the block; each
 * replica follows the bucket (WatchedBlocks), so a batch reads nothing before it writes.
 */
export interface AddressBlock {
  held: Record<string, AddressClaim>;
}

/** `<a.b.c.d>` → the public IP held (uniqueness guard and record in one). */
export interface PublicIpClaim {
  id: string;
  rangeId: string;
  accountId: string;
  networkId: string;
  acquiredAt: string;
}

/** `<networkId>` → its source NAT address; created once, so two first acquisitions cannot both win. */
export interface SourceNat {
  ip: string;
}

export interface PublicRanges {
  ranges: PublicIpRange[];
}

export const PUBLIC_RANGES_KEY = "ranges";

/** How long an AcquirePublicIp command id is remembered: as long as the command stream keeps commands. */
const ACQUISITION_MEMORY_MS = 7 * 24 * 3600_000;

const GURU_BUCKETS = {
  networks: bucket<NetworkRecord>("sdn_guru_networks"),
  greKeys: bucket<KeyClaim>("sdn_guru_gre_keys"),
  /** The VNIs of vxlan networks: a pool of their own (a VNI and a GRE key never collide on the wire). */
  vnis: bucket<KeyClaim>("sdn_guru_vnis"),
  /** Legacy (one entry per NIC): moved into `addressBlocks` as a replica opens. */
  nics: bucket<NicIndex>("sdn_guru_nics"),
  /** Legacy (one entry per address): moved into `addressBlocks` as a replica opens. */
  addresses: bucket<AddressClaim>("sdn_guru_addresses"),
  addressBlocks: bucket<AddressBlock>("sdn_guru_address_blocks"),
  publicRanges: bucket<PublicRanges>("sdn_guru_public_ranges"),
  publicIps: bucket<PublicIpClaim>("sdn_guru_public_ips"),
  sourceNat: bucket<SourceNat>("sdn_guru_source_nat"),
  /** The address each AcquirePublicIp command got, by a hash of its command id. */
  acquisitions: bucket<PublicIp>("sdn_guru_public_ip_commands", { ttl: ACQUISITION_MEMORY_MS }),
};

/**
 * The guru's state: one JetStream KV bucket per kind of record, every write a
 * compare-and-swap or an atomic create, so any number of replicas can serve at once (the
 * copies a replica watches, of network records and address blocks, only answer once they have
 * caught up with the bucket). One key per claimed GRE key/VNI; guest addresses in /24 block
 * documents, a batch of reservations one write per block, while replicas start their searches
 * at different blocks.
 */
export class GuruStore extends bucketStore(GURU_BUCKETS) {}
