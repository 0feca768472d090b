import type { JsonBucket } from "@sdn/bus";
import { CommandError, formatCidr, formatIpv4, type NicAddress } from "@sdn/contracts";
import { isBlocked } from "./free-slots.js";
import { conflict, conflictingField, invalidField, notFound, tooMuchContention } from "./guru-errors.js";
import { BLOCK_SIZE, blockOf, type BlockState, readAddresses, removeClaims, writeBlock } from "./address-blocks.js";
import { addressPlanOf, isExcluded, type AddressPlan } from "./network-plan.js";
import type { AddressBlock, AddressClaim, NetworkRecord } from "./store.js";

const ATTEMPTS = 40;

/** One NIC of a batch; `requested` is already checked against the plan. */
export interface Wanted {
  nicId: string;
  requested?: number;
}

/** A NIC's outcome: its address (`created` when this call reserved it), or its refusal. */
export type Outcome = { address: NicAddress; created: boolean } | { error: CommandError };

interface Written {
  nicId: string;
  ip: number;
  reservedAt: string;
  requested: boolean;
}

/** Reads of the network record that began after the call (GuestIpam's coalescer). */
export type FreshRead = (networkId: string) => Promise<{ value: NetworkRecord; revision: number } | undefined>;

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));

/**
 * Reserves addresses for many NICs of one network with one compare-and-swap per block
 * touched. Guarantees, per NIC as ReserveNicAddress always gave them:
 * - an address is never held twice: a block's claims change only by compare-and-swap;
 * - a NIC holds at most one address: the NIC index is derived from all blocks, read before
 *   writing; two commands for one NIC that both write (in different blocks) each read the
 *   blocks again after writing, and one that sees its NIC at another address backs out of its
 *   own claim and tries again, so the later writer always yields (it reads both) and the
 *   earlier one keeps its claim unless it saw the later one too (then both retry);
 * - a delete or an exclusion written meanwhile wins: the network is read again after the
 *   write, and claims it no longer allows are taken back (the delete and the exclusion check
 *   the blocks after writing the network, so one of the two sees the other).
 * Batches start at a random block, so concurrent batches (other replicas) rarely collide.
 */
export class AddressBatch {
  constructor(
    private readonly blocks: JsonBucket<AddressBlock>,
    private readonly fresh: FreshRead,
    private readonly beingDeleted: (record: NetworkRecord) => Error,
  ) {}

  async reserve(start: NetworkRecord, wanted: readonly Wanted[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    let record = start;
    let open = [...wanted];
    for (let attempt = 0; attempt < ATTEMPTS && open.length > 0; attempt++) {
      if (attempt > 0) await pause(attempt);
      const plan = addressPlanOf(record);
      const view = await readAddresses(this.blocks, record.id);
      const granted = (nicId: string, held: AddressClaim & { ip: number }, created: boolean) =>
        outcomes.set(nicId, { address: this.addressOf(record, plan, nicId, held), created });
      const picks = new Map<number, Wanted>();
      const free: Wanted[] = [];
      for (const w of open) {
        const held = view.holderOf(w.nicId);
        // Two commands for this NIC are settling which claim stays: ask again after they have.
        if (view.twice.has(w.nicId)) continue;
        if (held !== undefined) {
          if (w.requested !== undefined && held.ip !== w.requested) {
            outcomes.set(w.nicId, { error: this.holdsOther(record, w.nicId, held.ip, w.requested) });
          } else granted(w.nicId, held, false);
        } else if (w.requested === undefined) free.push(w);
        else if (view.claimAt(w.requested) !== undefined || picks.has(w.requested)) {
          const message = `address ${formatIpv4(w.requested)} on network ${record.name} is already reserved for another NIC`;
          outcomes.set(w.nicId, { error: conflictingField("ip", message) });
        } else picks.set(w.requested, w);
      }
      const chosen = this.pickFree(plan, free.length, (ip) => view.claimAt(ip) !== undefined || picks.has(ip));
      free.forEach((w, i) => {
        const ip = chosen[i];
        if (ip === undefined) outcomes.set(w.nicId, { error: this.full(record, plan) });
        else picks.set(ip, w);
      });
      const written = await this.write(record.id, picks, (base) => view.block(base));
      if (written.length > 0) {
        const kept = await this.check(record, written, blockOf(plan.lo) !== blockOf(plan.hi));
        record = kept.network;
        for (const w of kept.granted) granted(w.nicId, w, true);
        for (const w of kept.refused) outcomes.set(w.nicId, { error: w.error });
      }
      open = open.filter((w) => !outcomes.has(w.nicId));
    }
    for (const w of open)
      outcomes.set(w.nicId, { error: tooMuchContention(`the addresses of network ${record.name}`) });
    return outcomes;
  }

  /** Up to `n` free addresses, filling blocks from a random one on, so a batch touches few blocks. */
  private pickFree(plan: AddressPlan, n: number, taken: (ip: number) => boolean): number[] {
    const out: number[] = [];
    if (n === 0) return out;
    const first = blockOf(plan.lo);
    const count = (blockOf(plan.hi) - first) / BLOCK_SIZE + 1;
    const startAt = Math.floor(Math.random() * count);
    for (let b = 0; b < count && out.length < n; b++) {
      const base = first + ((startAt + b) % count) * BLOCK_SIZE;
      for (let ip = Math.max(base, plan.lo); ip <= Math.min(base + BLOCK_SIZE - 1, plan.hi) && out.length < n; ip++) {
        if (!isBlocked(plan.blocked, ip) && !taken(ip)) out.push(ip);
      }
    }
    return out;
  }

  /** One compare-and-swap per block; the claims of blocks that changed meanwhile are left for the next attempt. */
  private async write(networkId: string, picks: Map<number, Wanted>, blockAt: (base: number) => BlockState) {
    const byBlock = new Map<number, [number, Wanted][]>();
    for (const [ip, w] of picks) byBlock.set(blockOf(ip), [...(byBlock.get(blockOf(ip)) ?? []), [ip, w]]);
    const reservedAt = new Date().toISOString();
    const done = await Promise.all(
      [...byBlock].map(async ([base, adds]) => {
        const block = blockAt(base);
        const held = { ...block.held };
        for (const [ip, w] of adds) held[formatIpv4(ip)] = { nicId: w.nicId, reservedAt };
        const ok = await writeBlock(this.blocks, networkId, block, held);
        return ok
          ? adds.map(([ip, w]): Written => ({ nicId: w.nicId, ip, reservedAt, requested: w.requested !== undefined }))
          : [];
      }),
    );
    return done.flat();
  }

  /**
   * After writing: the network as it is now (deleted or excluded meanwhile → take the claims
   * back) and, when the network has more than one block, the NICs of this batch seen at
   * another address too (a concurrent command for the same NIC → back out and retry).
   */
  private async check(record: NetworkRecord, written: Written[], acrossBlocks: boolean) {
    const [now, after] = await Promise.all([
      this.fresh(record.id),
      acrossBlocks ? readAddresses(this.blocks, record.id) : undefined,
    ]);
    if (now === undefined || now.value.state === "Destroy") {
      await removeClaims(this.blocks, record.id, written);
      if (now === undefined) throw notFound("network", record.id);
      throw this.beingDeleted(now.value);
    }
    const back: Written[] = [];
    const refused: { nicId: string; error: CommandError }[] = [];
    const granted: (Written & AddressClaim)[] = [];
    for (const w of written) {
      if (isExcluded(now.value, w.ip)) {
        back.push(w);
        if (w.requested) {
          const message = `address ${formatIpv4(w.ip)} lies in a range excluded from IPAM`;
          refused.push({ nicId: w.nicId, error: invalidField("ip", message) });
        }
      } else if (after?.holderOf(w.nicId, w.ip) !== undefined) back.push(w);
      else granted.push(w);
    }
    if (back.length > 0) await removeClaims(this.blocks, record.id, back);
    return { network: now.value, granted, refused };
  }

  private addressOf(record: NetworkRecord, plan: AddressPlan, nicId: string, held: { ip: number; reservedAt: string }) {
    return {
      networkId: record.id,
      accountId: record.accountId,
      nicId,
      ip: formatIpv4(held.ip),
      prefixLength: plan.prefix.prefixLength,
      gateway: record.gateway,
      reservedAt: held.reservedAt,
    };
  }

  private holdsOther(record: NetworkRecord, nicId: string, held: number, requested: number): CommandError {
    return conflictingField(
      "ip",
      `NIC ${nicId} already holds ${formatIpv4(held)} on network ${record.name}; release it before asking for ${formatIpv4(requested)}`,
    );
  }

  private full(record: NetworkRecord, plan: AddressPlan): CommandError {
    return conflict(
      `no free address on network ${record.name} (${formatCidr(plan.prefix)}): every usable address is reserved, ` +
        "excluded or the gateway",
    );
  }
}
