import { bucket, bucketStore } from "@sdn/bus";
import type { Encapsulation, Nic, NicState, SealedSecret } from "@sdn/contracts";
import type { VmOwner } from "./vm-owners.js";

/** A NIC as the mesh needs it: enough to plug it again after a host lost its bridge. */
export interface MemberNic {
  device: string;
  mac: string;
  vmId: string;
  /** The NIC's address and whether its port is held to it and its MAC (absent: entries from before port security). */
  ip?: string;
  portSecurity?: boolean;
  state: Exclude<NicState, "Unplugged">;
  /** When the state last changed: an in-flight state this old belongs to a command that died. */
  since: string;
}

export interface MemberHost {
  /** The host's tunnel endpoint. */
  ip: string;
  nics: Record<string, MemberNic>;
}

/**
 * `<networkId>` → the network's hosts and their NICs: the desired state of the mesh and
 * the one serialization point of plugs and unplugs (every change is a compare-and-swap on
 * this entry's revision). The hosts of a network are exactly the hosts with a NIC on it.
 */
export interface Membership {
  networkId: string;
  accountId: string;
  /**
   * The network's tunnel key: its GRE key, or its VNI when `encapsulation` is vxlan (the
   * field keeps the name it had before VXLAN, so memberships stored then read the same).
   */
  greKey: number;
  /** The network's encapsulation; absent in memberships stored before VXLAN (gre). */
  encapsulation?: Encapsulation;
  /**
   * An encrypted network's IPsec pre-shared key, sealed to the agents (the element cannot
   * open it); absent on a network without encryption.
   */
  ipsecPsk?: SealedSecret;
  hosts: Record<string, MemberHost>;
}

/** A membership as read from KV, with the entry's revision. */
export interface StoredMembership {
  value: Membership;
  revision: number;
}

/** One direction of a tunnel, inside its host's tunnel set. */
export interface TunnelRow {
  to: string;
  remoteIp: string;
  port: string | null;
}

/**
 * `<networkId>.<fromHostId>` → the tunnels of one host on one network. They are applied
 * together (one ApplyTunnels, one OVSDB transaction), so they share one state, one error
 * and one back-off.
 */
export interface TunnelSet {
  networkId: string;
  from: string;
  key: number;
  state: "Created" | "Established" | "Failed";
  rows: TunnelRow[];
  lastError: string | null;
  attempts: number;
  nextRetryAt: string | null;
  updatedAt: string;
  /**
   * The membership revision the set was applied from: a pass that applied an older
   * membership never overwrites the record of a newer one (absent in sets written before).
   */
  membershipRevision?: number;
}

/** A tunnel set as read from KV, with the entry's revision for the next compare-and-swap. */
export interface StoredTunnelSet {
  value: TunnelSet;
  revision: number;
}

/** `dev.<hostId>.<device>` and `mac.<networkId>.<hex>` → the NIC holding them (atomic create: uniqueness). */
export interface Claim {
  nicId: string;
  networkId: string;
}

export const deviceClaimKey = (hostId: string, device: string): string => `dev.${hostId}.${device}`;
export const macClaimKey = (networkId: string, mac: string): string =>
  `mac.${networkId}.${mac.toLowerCase().replace(/:/g, "")}`;
export const nicKey = (networkId: string, nicId: string): string => `${networkId}.${nicId}`;
export const tunnelSetKey = (networkId: string, hostId: string): string => `${networkId}.${hostId}`;

const ELEMENT_BUCKETS = {
  memberships: bucket<Membership>("sdn_element_memberships"),
  nics: bucket<Nic>("sdn_element_nics"),
  tunnels: bucket<TunnelSet>("sdn_element_tunnels"),
  claims: bucket<Claim>("sdn_element_claims"),
  vmOwners: bucket<VmOwner>("sdn_element_vm_owners"),
};

/** The element's state in JetStream KV; nothing is cached, so replicas never contradict each other. */
export class ElementStore extends bucketStore(ELEMENT_BUCKETS) {}
