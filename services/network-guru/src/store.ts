import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { Network, NetworkState, PublicIp, PublicIpRange } from "@sdn/contracts";

/** A network as stored: the resource plus the state to go back to if a delete is refused. */
export type NetworkRecord = Network & { restoreState?: NetworkState };

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
 * One compare-and-swap writes any number of a batch's reservations in the block, and the
 * NIC → address index is derived from the network's blocks, so it cannot disagree with them.
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

/**
 * The guru's state: one JetStream KV bucket per kind of record, every write a
 * compare-and-swap or an atomic create. Nothing is cached, so any number of replicas can
 * serve at once. One key per claimed GRE key/VNI; guest addresses in /24 block documents, so a
 * batch of reservations is one write per block while concurrent batches of one network
 * (different blocks) do not fight over a single revision.
 */
export class GuruStore {
  private constructor(
    readonly networks: JsonBucket<NetworkRecord>,
    readonly greKeys: JsonBucket<KeyClaim>,
    /** The VNIs of vxlan networks: a pool of their own (a VNI and a GRE key never collide on the wire). */
    readonly vnis: JsonBucket<KeyClaim>,
    /** Legacy (one entry per NIC): read once at start, moved into `addressBlocks`. */
    readonly nics: JsonBucket<NicIndex>,
    /** Legacy (one entry per address): read once at start, moved into `addressBlocks`. */
    readonly addresses: JsonBucket<AddressClaim>,
    readonly addressBlocks: JsonBucket<AddressBlock>,
    readonly publicRanges: JsonBucket<PublicRanges>,
    readonly publicIps: JsonBucket<PublicIpClaim>,
    readonly sourceNat: JsonBucket<SourceNat>,
    /** The address each AcquirePublicIp command got, by a hash of its command id. */
    readonly acquisitions: JsonBucket<PublicIp>,
  ) {}

  static async open(nc: NatsConnection): Promise<GuruStore> {
    return new GuruStore(
      await JsonBucket.open<NetworkRecord>(nc, "sdn_guru_networks"),
      await JsonBucket.open<KeyClaim>(nc, "sdn_guru_gre_keys"),
      await JsonBucket.open<KeyClaim>(nc, "sdn_guru_vnis"),
      await JsonBucket.open<NicIndex>(nc, "sdn_guru_nics"),
      await JsonBucket.open<AddressClaim>(nc, "sdn_guru_addresses"),
      await JsonBucket.open<AddressBlock>(nc, "sdn_guru_address_blocks"),
      await JsonBucket.open<PublicRanges>(nc, "sdn_guru_public_ranges"),
      await JsonBucket.open<PublicIpClaim>(nc, "sdn_guru_public_ips"),
      await JsonBucket.open<SourceNat>(nc, "sdn_guru_source_nat"),
      await JsonBucket.open<PublicIp>(nc, "sdn_guru_public_ip_commands", { ttl: ACQUISITION_MEMORY_MS }),
    );
  }
}
