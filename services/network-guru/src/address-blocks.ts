import type { JsonBucket } from "@sdn/bus";
import { formatIpv4, parseIpv4 } from "@sdn/contracts";
import { tooMuchContention } from "./guru-errors.js";
import type { AddressBlock, AddressClaim } from "./store.js";

/** Addresses per block document: a /24 slice, so a network of /24 or smaller is one document. */
export const BLOCK_SIZE = 256;

/** The first address of the block holding `ip`. */
export const blockOf = (ip: number): number => ip - (ip % BLOCK_SIZE);

/** `<networkId>.<a.b.c.0>`: the block's key in `sdn_guru_address_blocks`. */
export const blockKey = (networkId: string, base: number): string => `${networkId}.${formatIpv4(base)}`;

/** One block as read: its claims and revision (undefined: the document does not exist yet). */
export interface BlockState {
  base: number;
  held: Record<string, AddressClaim>;
  revision: number | undefined;
}

/** A claim of the network, with its address as a number. */
export interface HeldAddress extends AddressClaim {
  ip: number;
}

/**
 * Every block of one network as of one fresh read: which NIC holds which address, and the
 * reverse index by NIC id that idempotency needs (derived, never stored twice).
 */
export class NetworkAddresses {
  private readonly byNic = new Map<string, HeldAddress>();
  /** A NIC seen at two addresses: two commands for it raced (each backs out of its own). */
  readonly twice = new Set<string>();

  constructor(readonly blocks: Map<number, BlockState>) {
    for (const block of blocks.values()) {
      for (const [ipText, claim] of Object.entries(block.held)) {
        if (this.byNic.has(claim.nicId)) this.twice.add(claim.nicId);
        this.byNic.set(claim.nicId, { ...claim, ip: parseIpv4(ipText) ?? 0 });
      }
    }
  }

  /** The NIC's address; with `except`, one other than that. */
  holderOf(nicId: string, except?: number): HeldAddress | undefined {
    if (except === undefined || !this.twice.has(nicId)) {
      const held = this.byNic.get(nicId);
      return held?.ip === except ? undefined : held;
    }
    return this.all().find((a) => a.nicId === nicId && a.ip !== except);
  }

  claimAt(ip: number): AddressClaim | undefined {
    return this.blocks.get(blockOf(ip))?.held[formatIpv4(ip)];
  }

  block(base: number): BlockState {
    return this.blocks.get(base) ?? { base, held: {}, revision: undefined };
  }

  /** Every claim, ordered by address. */
  all(): HeldAddress[] {
    return [...this.blocks.values()]
      .flatMap((b) => Object.entries(b.held).map(([ip, c]) => ({ ...c, ip: parseIpv4(ip) ?? 0 })))
      .sort((a, b) => a.ip - b.ip);
  }
}

/** A network's blocks, read fresh in one listing (every write acknowledged before is in it). */
export const readAddresses = async (bucket: JsonBucket<AddressBlock>, networkId: string): Promise<NetworkAddresses> => {
  const prefix = `${networkId}.`;
  const blocks = new Map<number, BlockState>();
  for (const [key, { value, revision }] of await bucket.latest(`${networkId}.>`)) {
    const base = parseIpv4(key.slice(prefix.length));
    if (base !== undefined) blocks.set(base, { base, held: value.held, revision });
  }
  return new NetworkAddresses(blocks);
};

/** Writes a block from the state it was read in; false when another write came first. */
export const writeBlock = async (
  bucket: JsonBucket<AddressBlock>,
  networkId: string,
  block: BlockState,
  held: Record<string, AddressClaim>,
): Promise<boolean> => {
  const key = blockKey(networkId, block.base);
  if (block.revision === undefined) return (await bucket.tryCreate(key, { held })) !== undefined;
  if (Object.keys(held).length === 0) return bucket.tryDelete(key, block.revision);
  return (await bucket.tryUpdate(key, { held }, block.revision)) !== undefined;
};

/** Takes the addresses back from the NICs named (an address another NIC holds meanwhile stays). */
export const removeClaims = async (
  bucket: JsonBucket<AddressBlock>,
  networkId: string,
  claims: readonly { ip: number; nicId: string }[],
): Promise<void> => {
  const byBlock = new Map<number, { ip: number; nicId: string }[]>();
  for (const c of claims) byBlock.set(blockOf(c.ip), [...(byBlock.get(blockOf(c.ip)) ?? []), c]);
  await Promise.all(
    [...byBlock].map(async ([base, mine]) => {
      for (let i = 0; i < 20; i++) {
        const found = await bucket.get(blockKey(networkId, base));
        if (found === undefined) return;
        const held = { ...found.value.held };
        for (const c of mine) if (held[formatIpv4(c.ip)]?.nicId === c.nicId) delete held[formatIpv4(c.ip)];
        if (Object.keys(held).length === Object.keys(found.value.held).length) return;
        if (await writeBlock(bucket, networkId, { base, held: found.value.held, revision: found.revision }, held)) {
          return;
        }
      }
      throw tooMuchContention(`the address block ${formatIpv4(base)} of network ${networkId}`);
    }),
  );
};
