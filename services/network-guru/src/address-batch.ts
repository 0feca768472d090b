import { type CommandError, formatCidr, formatIpv4, type NicAddress } from "@sdn/contracts";
import { isBlocked } from "./free-slots.js";
import { conflict, conflictingField, invalidField, notFound, tooMuchContention } from "./guru-errors.js";
import { addressPlanOf, isExcluded, type AddressPlan } from "./network-plan.js";
import type { AddressClaim, NetworkRecord } from "./store.js";
import { BLOCK_SIZE, blockOf, type WatchedBlocks } from "./watched-blocks.js";

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
  /** The stream sequence of the write that claimed it. */
  revision: number;
}

/** Reads of the network record that began after the call (GuestIpam's coalescer). */
export type FreshRead = (networkId: string) => Promise<{ value: NetworkRecord; revision: number } | undefined>;

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));

/**
 * Reserves addresses for many NICs of one network with one compare-and-swap per block
 * touched, from this replica's watched copy of the blocks: nothing is listed or read before
 * writing. Guarantees, per NIC as ReserveNicAddress always gave them:
 * - an address is never held twice: a block's claims change only by compare-and-swap against
 *   the revision the copy holds (a stale copy loses, and that block alone is read again);
 * - a NIC holds at most one address: in a network of one block the compare-and-swap settles
 *   it; across blocks, after writing, the copy is brought up to the write's sequence, and a
 *   claim whose NIC the watch showed at another address by an earlier write is taken back and
 *   tried again (the later of two writers always sees the earlier; the earlier keeps its claim);
 * - an address the copy shows held (a retry's answer, a requested address taken) is confirmed
 *   against a fresh copy first, so a release acknowledged meanwhile wins;
 * - a delete or an exclusion written meanwhile wins: the network is read again after the
 *   write, and claims it no longer allows are taken back (the delete and the exclusion check
 *   the blocks after writing the network, so one of the two sees the other).
 * Each replica starts its search at a block of its own, so replicas rarely write one block.
 */
export class AddressBatch {
  constructor(
    private readonly copy: WatchedBlocks,
    private readonly fresh: FreshRead,
    private readonly beingDeleted: (record: NetworkRecord) => Error,
    /** Where this replica's free-address search starts, in blocks (random per replica). */
    private readonly offset: number,
  ) {}

  async reserve(start: NetworkRecord, wanted: readonly Wanted[]): Promise<Map<string, Outcome>> {
    const outcomes = new Map<string, Outcome>();
    let record = start;
    let open = [...wanted];
    for (let attempt = 0; attempt < ATTEMPTS && open.length > 0; attempt++) {
      if (attempt > 0) await pause(attempt);
      const plan = addressPlanOf(record);
      const id = record.id;
      const taken = (ip: number) => this.copy.claimAt(id, ip) !== undefined;
      if (
        open.some(
          (w) => this.copy.addressesOf(id, w.nicId).length > 0 || (w.requested !== undefined && taken(w.requested)),
        )
      ) {
        await this.copy.fresh();
      }
      const granted = (nicId: string, held: AddressClaim & { ip: number }, created: boolean) =>
        outcomes.set(nicId, { address: this.addressOf(record, plan, nicId, held), created });
      const picks = new Map<number, Wanted>();
      const free: Wanted[] = [];
      for (const w of open) {
        const held = this.copy.addressesOf(id, w.nicId);
        const ip = held[0];
        // Two commands for this NIC are settling which claim stays: ask again after they have.
        if (held.length > 1) continue;
        if (ip !== undefined) {
          if (w.requested !== undefined && ip !== w.requested) {
            outcomes.set(w.nicId, { error: this.holdsOther(record, w.nicId, ip, w.requested) });
          } else granted(w.nicId, { ...(this.copy.claimAt(id, ip) as AddressClaim), ip }, false);
        } else if (w.requested === undefined) free.push(w);
        else if (taken(w.requested) || picks.has(w.requested)) {
          const message = `address ${formatIpv4(w.requested)} on network ${record.name} is already reserved for another NIC`;
          outcomes.set(w.nicId, { error: conflictingField("ip", message) });
        } else picks.set(w.requested, w);
      }
      const chosen = this.pickFree(id, plan, free.length, (ip) => taken(ip) || picks.has(ip));
      free.forEach((w, i) => {
        const ip = chosen[i];
        if (ip === undefined) outcomes.set(w.nicId, { error: this.full(record, plan) });
        else picks.set(ip, w);
      });
      const written = await this.write(id, picks);
      if (written.length > 0) {
        const kept = await this.check(record, written, blockOf(plan.lo) !== blockOf(plan.hi));
        record = kept.network;
        for (const w of kept.granted) granted(w.nicId, w, true);
        for (const w of kept.refused) outcomes.set(w.nicId, { error: w.error });
      }
      open = open.filter((w) => !outcomes.has(w.nicId));
    }
    for (const w of open) {
      outcomes.set(w.nicId, { error: tooMuchContention(`the addresses of network ${record.name}`) });
    }
    return outcomes;
  }

  /** Takes the addresses back from the NICs named (an address another NIC holds meanwhile stays); those taken back. */
  async remove<C extends { ip: number; nicId: string }>(networkId: string, claims: readonly C[]): Promise<C[]> {
    const byBlock = groupByBlock(claims, (c) => c.ip);
    const removed = await Promise.all(
      [...byBlock].map(async ([base, mine]) => {
        for (let i = 0; i < 20; i++) {
          const block = this.copy.block(networkId, base);
          const ours = mine.filter((c) => block.held[formatIpv4(c.ip)]?.nicId === c.nicId);
          if (ours.length === 0) return [];
          const held = { ...block.held };
          for (const c of ours) delete held[formatIpv4(c.ip)];
          if ((await this.copy.write(networkId, block, held)) !== undefined) return ours;
        }
        throw tooMuchContention(`the address block ${formatIpv4(base)} of network ${networkId}`);
      }),
    );
    return removed.flat();
  }

  /** Up to `n` free addresses, filling blocks from this replica's own one on, so a batch touches few blocks. */
  private pickFree(networkId: string, plan: AddressPlan, n: number, taken: (ip: number) => boolean): number[] {
    const out: number[] = [];
    if (n === 0) return out;
    const first = blockOf(plan.lo);
    const count = (blockOf(plan.hi) - first) / BLOCK_SIZE + 1;
    for (let b = 0; b < count && out.length < n; b++) {
      const base = first + ((this.offset + b) % count) * BLOCK_SIZE;
      const [lo, hi] = [Math.max(base, plan.lo), Math.min(base + BLOCK_SIZE - 1, plan.hi)];
      // A full block is passed over without a look at each address (a busy network has many).
      if (this.copy.heldIn(networkId, base) > hi - lo) continue;
      for (let ip = lo; ip <= hi && out.length < n; ip++) {
        if (!isBlocked(plan.blocked, ip) && !taken(ip)) out.push(ip);
      }
    }
    return out;
  }

  /** One compare-and-swap per block; the claims of blocks that changed meanwhile are left for the next attempt. */
  private async write(networkId: string, picks: Map<number, Wanted>): Promise<Written[]> {
    const byBlock = groupByBlock([...picks], ([ip]) => ip);
    const reservedAt = new Date().toISOString();
    const done = await Promise.all(
      [...byBlock].map(async ([base, adds]) => {
        const block = this.copy.block(networkId, base);
        const held = { ...block.held };
        for (const [ip, w] of adds) held[formatIpv4(ip)] = { nicId: w.nicId, reservedAt };
        const after = await this.copy.write(networkId, block, held);
        if (after?.revision === undefined) return [];
        const revision = after.revision;
        return adds.map(([ip, w]): Written => ({ nicId: w.nicId, ip, reservedAt, requested: !!w.requested, revision }));
      }),
    );
    return done.flat();
  }

  /**
   * After writing: the network as it is now (deleted or excluded meanwhile → take the claims
   * back) and, when the network has more than one block, the NICs of this batch seen at
   * another address once the copy holds every write up to ours (a concurrent command for the
   * same NIC → back out and retry).
   */
  private async check(record: NetworkRecord, written: Written[], acrossBlocks: boolean) {
    const newest = Math.max(...written.map((w) => w.revision));
    const [now] = await Promise.all([this.fresh(record.id), acrossBlocks ? this.copy.caughtUp(newest) : undefined]);
    if (now === undefined || now.value.state === "Destroy") {
      await this.remove(record.id, written);
      if (now === undefined) throw notFound("network", record.id);
      throw this.beingDeleted(now.value);
    }
    const back: Written[] = [];
    const refused: { nicId: string; error: CommandError }[] = [];
    const granted: Written[] = [];
    for (const w of written) {
      if (isExcluded(now.value, w.ip)) {
        back.push(w);
        if (w.requested) {
          const message = `address ${formatIpv4(w.ip)} lies in a range excluded from IPAM`;
          refused.push({ nicId: w.nicId, error: invalidField("ip", message) });
        }
      } else if (acrossBlocks && this.copy.claimedBefore(record.id, w.nicId, w.ip, w.revision)) back.push(w);
      else granted.push(w);
    }
    if (back.length > 0) await this.remove(record.id, back);
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

/** Items grouped by the block of their address. */
export const groupByBlock = <T>(items: Iterable<T>, ipOf: (item: T) => number): Map<number, T[]> => {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const base = blockOf(ipOf(item));
    out.set(base, [...(out.get(base) ?? []), item]);
  }
  return out;
};
