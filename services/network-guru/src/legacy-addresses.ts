import { parseIpv4 } from "@sdn/contracts";
import { blockKey, blockOf } from "./watched-blocks.js";
import type { GuruStore } from "./store.js";

/**
 * Moves guest address claims stored before address blocks (one `sdn_guru_addresses` entry per
 * address, one `sdn_guru_nics` entry per NIC) into the blocks, then deletes them. Run by each
 * replica as it opens, before it serves: idempotent, and a replica that dies halfway leaves
 * entries the next start moves. A NIC entry without its address claim (a reservation cut
 * short) is dropped: the NIC held nothing, and its retry reserves afresh. Answers how many
 * claims it moved.
 */
export const migrateLegacyAddresses = async (store: GuruStore): Promise<number> => {
  const claims = await store.addresses.entries(">");
  for (const { key, value } of claims) {
    const dot = key.indexOf(".");
    const networkId = key.slice(0, dot);
    const ipText = key.slice(dot + 1);
    const ip = parseIpv4(ipText);
    if (dot <= 0 || ip === undefined) continue;
    // A block claim by another NIC (not possible while every replica migrates before serving) is kept.
    await store.addressBlocks.update(blockKey(networkId, blockOf(ip)), (cur) =>
      cur?.held[ipText] !== undefined ? undefined : { held: { ...cur?.held, [ipText]: value } },
    );
    await store.addresses.delete(key);
  }
  for (const key of await store.nics.keys(">")) await store.nics.delete(key);
  return claims.length;
};
