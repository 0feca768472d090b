import {
  Batcher,
  Coalescer,
  cursorAfter,
  keyOfCursor,
  type CommandContext,
  type EventPublisher,
  type Page,
  type PageRequest,
} from "@sdn/bus";
import {
  type AddExcludedRange,
  CommandError,
  DEFAULT_PAGE_LIMIT,
  formatIpv4,
  type Network,
  type NicAddress,
  NicAddressesReserved,
  NicAddressReleased,
  NicAddressReserved,
  parseIpv4,
  type RequestOf,
  type ReserveNicAddress,
  type ReserveNicAddresses,
  type ResponseOf,
} from "@sdn/contracts";
import { AddressBatch, type Outcome, type Wanted } from "./address-batch.js";
import { conflict, invalidField, nameSome, notFound } from "./guru-errors.js";
import type { NetworkManager } from "./network-manager.js";
import { addressPlanOf, checkHostAddress, checkRequestedAddress } from "./network-plan.js";
import type { GuruStore, NetworkRecord } from "./store.js";
import { canSee } from "./tenancy.js";
import { BLOCK_SIZE, type WatchedBlocks } from "./watched-blocks.js";

/** The most reservations one run writes: two full ReserveNicAddresses commands. */
const MAX_RUN = 512;

interface Queued {
  networkId: string;
  nic: { nicId: string; ip?: string | undefined };
  ctx: CommandContext;
}

/** An error's details for an answer, when it has any. */
const detailsOf = (err: CommandError): { details?: unknown } =>
  err.details === undefined ? {} : { details: err.details };

/** The NIC ids given more than once in a batch. */
const repeated = (nicIds: readonly string[]): string[] => nicIds.filter((id, i) => nicIds.indexOf(id) !== i);

/**
 * Guest IPAM. The claims of a network live in /24 block documents (`sdn_guru_address_blocks`,
 * see AddressBatch), which each replica follows (WatchedBlocks): a reservation, or a batch of
 * them, is one compare-and-swap per block it touches, and the NIC → address index for
 * idempotency is kept from the watched blocks. Listings and the checks of exclusions and
 * deletes use the copy once it holds every write acknowledged before they asked.
 */
export class GuestIpam {
  /**
   * Reads of a network record shared by the reservations waiting for one: each gets a read
   * that began after it asked (so the read after its claim still sees an exclusion or a
   * delete written before), and a hundred reservations at once cost a few reads, not two
   * hundred.
   */
  private readonly reads: Coalescer<{ value: NetworkRecord; revision: number } | undefined>;

  constructor(
    store: GuruStore,
    private readonly copy: WatchedBlocks,
    private readonly networks: NetworkManager,
    private readonly events: EventPublisher,
  ) {
    this.reads = new Coalescer((id) => store.networks.get(id));
    // A /16 has 256 blocks: replicas starting at random ones rarely write the same block.
    const offset = Math.floor(Math.random() * BLOCK_SIZE);
    this.batch = new AddressBatch(
      copy,
      (id) => this.reads.request(id),
      (r) => networks.beingDeleted(r),
      offset,
    );
  }

  private readonly batch: AddressBatch;
  private readonly releases = new Batcher<string, string | null>(
    (networkId, nicIds) => this.releaseMany(networkId, nicIds),
    MAX_RUN,
  );
  private readonly batcher = new Batcher<Queued, { record: NetworkRecord; outcome: Outcome }>(
    (_key, items) => this.runBatch(items),
    MAX_RUN,
  );

  async reserve(req: RequestOf<typeof ReserveNicAddress>, ctx: CommandContext): Promise<NicAddress> {
    const { record, outcomes } = await this.reserveAll(req.networkId, [req], ctx);
    const outcome = outcomes[0];
    if (outcome === undefined) throw new Error("a batch of one answered nothing");
    if ("error" in outcome) throw outcome.error;
    if (outcome.created) {
      await this.events.publish(
        NicAddressReserved,
        { address: outcome.address },
        { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicAddressReserved` },
      );
    }
    return outcome.address;
  }

  /** A batch: one outcome per NIC in request order, one event for the addresses it reserved. */
  async reserveMany(
    req: RequestOf<typeof ReserveNicAddresses>,
    ctx: CommandContext,
  ): Promise<ResponseOf<typeof ReserveNicAddresses>> {
    const twice = repeated(req.nics.map((n) => n.nicId));
    if (twice.length > 0) {
      const message = `NIC ids given more than once: ${nameSome(twice)}`;
      throw new CommandError("VALIDATION_FAILED", message, { issues: [{ path: "/nics", message }] });
    }
    const { record, outcomes } = await this.reserveAll(req.networkId, req.nics, ctx);
    const created = outcomes.flatMap((o) => ("address" in o && o.created ? [o.address] : []));
    if (created.length > 0) {
      await this.events.publish(
        NicAddressesReserved,
        { networkId: record.id, addresses: created },
        { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicAddressesReserved` },
      );
    }
    return {
      networkId: record.id,
      nics: req.nics.map((n, i) => {
        const o = outcomes[i] as Outcome;
        return "error" in o
          ? { nicId: n.nicId, error: { code: o.error.code, message: o.error.message, ...detailsOf(o.error) } }
          : { nicId: n.nicId, address: o.address };
      }),
    };
  }

  /**
   * Reservations of one network (for one account and role) that arrive while a batch of it
   * runs on this replica go together into the next: concurrent single reservations cost a few
   * writes, not a few each, and do not fight each other over the same block.
   */
  private async reserveAll(
    networkId: string,
    nics: readonly { nicId: string; ip?: string | undefined }[],
    ctx: CommandContext,
  ): Promise<{ record: NetworkRecord; outcomes: Outcome[] }> {
    const key = `${networkId}|${ctx.accountId ?? ""}|${ctx.role}`;
    const done = await Promise.all(
      this.batcher.submitAll(
        key,
        nics.map((nic) => ({ networkId, nic, ctx })),
      ),
    );
    const record = done[0]?.record;
    if (record === undefined) throw new Error("a batch answered nothing");
    return { record, outcomes: done.map((d) => d.outcome) };
  }

  /** One batch; a NIC given twice (two commands for it at once) waits for the next round. */
  private async runBatch(items: Queued[]): Promise<{ record: NetworkRecord; outcome: Outcome }[]> {
    const first = items[0];
    if (first === undefined) return [];
    const out = new Map<Queued, { record: NetworkRecord; outcome: Outcome }>();
    let left = items;
    while (left.length > 0) {
      const round = left.filter((q, i) => left.findIndex((o) => o.nic.nicId === q.nic.nicId) === i);
      left = left.filter((q) => !round.includes(q));
      const { record, outcomes } = await this.reserveRound(
        first.networkId,
        round.map((q) => q.nic),
        first.ctx,
      );
      round.forEach((q, i) => out.set(q, { record, outcome: outcomes[i] as Outcome }));
    }
    return items.map((q) => out.get(q) as { record: NetworkRecord; outcome: Outcome });
  }

  private async reserveRound(
    networkId: string,
    nics: readonly { nicId: string; ip?: string | undefined }[],
    ctx: CommandContext,
  ): Promise<{ record: NetworkRecord; outcomes: Outcome[] }> {
    const found = await this.reads.request(networkId);
    if (found === undefined || !canSee(ctx, found.value.accountId)) throw notFound("network", networkId);
    const record = found.value;
    if (record.state === "Destroy") throw this.networks.beingDeleted(record);
    const plan = addressPlanOf(record);
    const refused = new Map<string, Outcome>();
    const wanted: Wanted[] = [];
    for (const n of nics) {
      try {
        wanted.push(
          n.ip === undefined ? { nicId: n.nicId } : { nicId: n.nicId, requested: checkRequestedAddress(plan, n.ip) },
        );
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        refused.set(n.nicId, { error: err });
      }
    }
    const done = wanted.length === 0 ? new Map<string, Outcome>() : await this.batch.reserve(record, wanted);
    return {
      record,
      outcomes: nics.map((n) => refused.get(n.nicId) ?? (done.get(n.nicId) as Outcome)),
    };
  }

  async release(networkId: string, nicId: string, ctx: CommandContext): Promise<string | null> {
    const { record } = await this.networks.getVisible(networkId, ctx);
    const ip = await this.releases.submit(record.id, nicId);
    if (ip !== null) {
      await this.events.publish(
        NicAddressReleased,
        { networkId: record.id, nicId, ip },
        { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicAddressReleased` },
      );
    }
    return ip;
  }

  /**
   * One page of the network's addresses, ordered by address. The cursor names the page's last
   * address as `<networkId>.<ip>` (as when every address had a key of its own), so an address
   * reserved or released between pages neither repeats nor shifts the ones after it.
   */
  async list(networkId: string, ctx: CommandContext, page: PageRequest): Promise<Page<NicAddress>> {
    const { record } = await this.networks.getVisible(networkId, ctx);
    const plan = addressPlanOf(record);
    const prefix = `${record.id}.`;
    const ipOfKey = (key: string) => (key.startsWith(prefix) ? parseIpv4(key.slice(prefix.length)) : undefined);
    const after =
      page.cursor === undefined ? undefined : ipOfKey(keyOfCursor(page.cursor, (k) => ipOfKey(k) !== undefined));
    const limit = page.limit ?? DEFAULT_PAGE_LIMIT;
    await this.copy.fresh();
    const rest = this.copy.all(record.id).filter((a) => after === undefined || a.ip > after);
    const items = rest.slice(0, limit).map((a) => ({
      networkId: record.id,
      accountId: record.accountId,
      nicId: a.nicId,
      ip: formatIpv4(a.ip),
      prefixLength: plan.prefix.prefixLength,
      gateway: record.gateway,
      reservedAt: a.reservedAt,
    }));
    const last = items[items.length - 1];
    return rest.length > limit && last !== undefined
      ? { items, nextCursor: cursorAfter(`${prefix}${last.ip}`) }
      : { items };
  }

  /** Admin: excludes a range; refused (and undone) while addresses in it are reserved. */
  async addExclusion(req: RequestOf<typeof AddExcludedRange>, ctx: CommandContext): Promise<Network> {
    const { record } = await this.networks.getVisible(req.networkId, ctx);
    const plan = addressPlanOf(record);
    const start = checkHostAddress("start", req.start, plan.prefix, "start");
    const end = checkHostAddress("end", req.end, plan.prefix, "end");
    if (start > end) throw invalidField("end", `end ${req.end} comes before start ${req.start}`);
    const range = { start: formatIpv4(start), end: formatIpv4(end) };
    const same = (r: { start: string; end: string }) => r.start === range.start && r.end === range.end;
    const added = await this.networks.changeExclusions(record.id, ctx, (ranges) => {
      if (ranges.some(same)) return undefined;
      if (ranges.length >= 64) throw invalidField("start", `network ${record.name} already has 64 excluded ranges`);
      return [...ranges, range];
    });
    if (!added.changed) return added.network;
    // Checked after the write: a reservation racing with us either shows here or sees the exclusion.
    const held = await this.reservedIn(record.id, start, end);
    if (held.length > 0) {
      await this.networks.changeExclusions(record.id, ctx, (ranges) =>
        ranges.some(same) ? ranges.filter((r) => !same(r)) : undefined,
      );
      throw conflict(
        `${held.length} address(es) in ${range.start}-${range.end} are reserved: ` +
          `${nameSome(held.map((a) => `${a.ip} (${a.nicId})`))}; release them before excluding the range`,
        { reserved: held.map((a) => ({ ip: a.ip, nicId: a.nicId })) },
      );
    }
    await this.networks.announceUpdate(added.network, ctx);
    return added.network;
  }

  /** The addresses reserved in start..end, ordered by address. */
  private async reservedIn(networkId: string, start: number, end: number): Promise<{ ip: string; nicId: string }[]> {
    const held = await this.holders(networkId);
    return held.filter((a) => a.ipNumber >= start && a.ipNumber <= end).map(({ ip, nicId }) => ({ ip, nicId }));
  }

  /** Every NIC holding an address on the network, each claim acknowledged before the call included. */
  async holders(networkId: string): Promise<{ nicId: string; ip: string; ipNumber: number }[]> {
    await this.copy.fresh();
    return this.copy.all(networkId).map((a) => ({ nicId: a.nicId, ip: formatIpv4(a.ip), ipNumber: a.ip }));
  }

  async removeExclusion(req: RequestOf<typeof AddExcludedRange>, ctx: CommandContext): Promise<Network> {
    const same = (r: { start: string; end: string }) => r.start === req.start && r.end === req.end;
    const removed = await this.networks.changeExclusions(req.networkId, ctx, (ranges) =>
      ranges.some(same) ? ranges.filter((r) => !same(r)) : undefined,
    );
    if (removed.changed) await this.networks.announceUpdate(removed.network, ctx);
    return removed.network;
  }

  /**
   * Takes NICs' addresses back, those of one network released at once on this replica in one
   * compare-and-swap per block; each NIC's released address, or null. The copy is brought up
   * to date first, so an address reserved through another replica just before is released.
   */
  private async releaseMany(networkId: string, nicIds: string[]): Promise<(string | null)[]> {
    await this.copy.fresh();
    const claims = [...new Set(nicIds)].flatMap((nicId) =>
      this.copy.addressesOf(networkId, nicId).map((ip) => ({ ip, nicId })),
    );
    const released = new Map((await this.batch.remove(networkId, claims)).map((c) => [c.nicId, formatIpv4(c.ip)]));
    // A NIC named twice in one run was released by its first command; the second finds nothing.
    return nicIds.map((id, i) => (nicIds.indexOf(id) === i ? (released.get(id) ?? null) : null));
  }
}
