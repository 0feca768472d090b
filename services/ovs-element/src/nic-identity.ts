import { ENCAPSULATION_OVERHEAD_BYTES, type Encapsulation } from "@sdn/contracts";
import { createHash } from "node:crypto";

/**
 * The NIC id of a plug, derived from its command id: a redelivered command (same id) finds
 * the NIC, the address and the claims of its first delivery and finishes them.
 */
export const nicIdFor = (commandId: string): string =>
  `nic-${createHash("sha256").update(commandId).digest("hex").slice(0, 20)}`;

/**
 * A unicast, locally administered MAC (first octet x2, x6, xA or xE) derived from the NIC id
 * and an attempt number, so a redelivered plug picks the same one; the next attempt gives
 * another when it is taken on the network.
 */
export const generateMac = (nicId: string, attempt: number): string => {
  const b = createHash("sha256").update(`${nicId}/${attempt}`).digest().subarray(0, 6);
  b[0] = ((b[0] as number) & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
};

/**
 * The guest MTU: the network's, at most what fits in the underlay with its encapsulation's
 * overhead (42 bytes for GRE with a key, 50 for VXLAN, over IPv4).
 */
export const guestMtu = (networkMtu: number, underlayMtu: number, encapsulation: Encapsulation): number =>
  Math.min(networkMtu, underlayMtu - ENCAPSULATION_OVERHEAD_BYTES[encapsulation]);
