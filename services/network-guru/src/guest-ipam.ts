import { Coalescer, readPage, type CommandContext, type EventPublisher, type Page, type PageRequest } from "@sdn/bus";
import {
  type AddExcludedRange,
  formatCidr,
  formatIpv4,
  type Network,
  type NicAddress,
  NicAddressReleased,
  NicAddressReserved,
  parseIpv4,
  type RequestOf,
  type ReserveNicAddress,
} from "@sdn/contracts";
import { mergeIntervals, randomFree, isBlocked } from "./free-slots.js";
import { conflict, conflictingField, invalidField, nameSome, notFound, tooMuchContention } from "./guru-errors.js";
import type { NetworkManager } from "./network-manager.js";
import {
  addressPlanOf,
  checkHostAddress,
  checkRequestedAddress,
  isExcluded,
  type AddressPlan,
} from "./network-plan.js";
import type { GuruStore, NetworkRecord } from "./store.js";
import { canSee } from "./tenancy.js";

/** Random probes before listing the claimed addresses (a dense network). */
const RANDOM_PROBES = 6;
const ATTEMPTS = 40;

/** The NIC's index entry as this call last saw it. */
interface HeldIndex {
  ip: number;
  revision: number;
}

/**
 * Guest IPAM. Two KV entries per reservation, both created atomically:
 * `addresses/<net>.<ip>` (the address is taken, by which NIC: the uniqueness guard) and
 * `nics/<net>.<nicId>` (which address the NIC holds: idempotency by NIC id). The NIC entry
 * is written first, so a command interrupted at any point is finished, not leaked, by its
 * retry. Addresses are picked at random so that many concurrent reservations on one
 * network rarely collide; a dense network falls back to listing the claimed addresses.
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
    private readonly store: GuruStore,
    private readonly networks: NetworkManager,
    private readonly events: EventPublisher,
  ) {
    this.reads = new Coalescer((id) => this.store.networks.get(id));
  }

  async reserve(req: RequestOf<typeof ReserveNicAddress>, ctx: CommandContext): Promise<NicAddress> {
    const found = await this.reads.request(req.networkId);
    if (found === undefined || !canSee(ctx, found.value.accountId)) throw notFound("network", req.networkId);
    const record = found.value;
    if (record.state === "Destroy") throw this.networks.beingDeleted(record);
    const plan = addressPlanOf(record);
    const requested = req.ip === undefined ? undefined : checkRequestedAddress(plan, req.ip);
    const nicKey = `${record.id}.${req.nicId}`;
    let index: HeldIndex | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (index === undefined) {
        const candidate = requested ?? (await this.pick(record, plan, attempt));
        const rev = await this.store.nics.tryCreate(nicKey, { ip: formatIpv4(candidate) });
        if (rev !== undefined) index = { ip: candidate, revision: rev };
        else {
          const held = await this.store.nics.get(nicKey);
          if (held === undefined) continue;
          index = { ip: parseIpv4(held.value.ip) ?? 0, revision: held.revision };
          if (requested !== undefined && index.ip !== requested) {
            throw conflictingField(
              "ip",
              `NIC ${req.nicId} already holds ${held.value.ip} on network ${record.name}; release it before asking for ${req.ip}`,
            );
          }
        }
      }
      const claim = await this.claim(record.id, index.ip, req.nicId);
      if (claim.holder !== req.nicId) {
        if (requested !== undefined) {
          // The NIC holds nothing then: its index entry must not point at another NIC's address.
          await this.store.nics.tryDelete(nicKey, index.revision);
          throw conflictingField(
            "ip",
            `address ${req.ip} on network ${record.name} is already reserved for another NIC`,
          );
        }
        // Taken by another NIC: point the NIC entry at a new candidate and try that one.
        const held = index;
        const next = await this.pick(record, plan, attempt + 1).catch(async (err: unknown) => {
          // None left: the NIC holds nothing, so its entry must not point at another NIC's address.
          await this.store.nics.tryDelete(nicKey, held.revision);
          throw err;
        });
        const rev = await this.store.nics.tryUpdate(nicKey, { ip: formatIpv4(next) }, index.revision);
        index = rev === undefined ? undefined : { ip: next, revision: rev };
        continue;
      }
      // Re-read the network: a delete or an exclusion that began meanwhile wins, and we back out.
      const now = await this.reads.request(record.id);
      if (now === undefined || now.value.state === "Destroy" || isExcluded(now.value, index.ip)) {
        await this.releaseHeld(record.id, req.nicId);
        if (now === undefined) throw notFound("network", record.id);
        if (now.value.state === "Destroy") throw this.networks.beingDeleted(now.value);
        if (requested !== undefined) throw invalidField("ip", `address ${req.ip} lies in a range excluded from IPAM`);
        index = undefined;
        continue;
      }
      const address: NicAddress = {
        networkId: record.id,
        accountId: record.accountId,
        nicId: req.nicId,
        ip: formatIpv4(index.ip),
        prefixLength: plan.prefix.prefixLength,
        gateway: record.gateway,
        reservedAt: claim.reservedAt,
      };
      if (claim.created) {
        await this.events.publish(
          NicAddressReserved,
          { address },
          { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicAddressReserved` },
        );
      }
      return address;
    }
    throw tooMuchContention(`the addresses of network ${record.name}`);
  }

  async release(networkId: string, nicId: string, ctx: CommandContext): Promise<string | null> {
    const { record } = await this.networks.getVisible(networkId, ctx);
    const ip = await this.releaseHeld(record.id, nicId);
    if (ip !== null) {
      await this.events.publish(
        NicAddressReleased,
        { networkId: record.id, nicId, ip },
        { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.NicAddressReleased` },
      );
    }
    return ip;
  }

  async list(networkId: string, ctx: CommandContext, page: PageRequest): Promise<Page<NicAddress>> {
    const { record } = await this.networks.getVisible(networkId, ctx);
    const plan = addressPlanOf(record);
    const prefix = `${record.id}.`;
    const ipOf = (key: string) => parseIpv4(key.slice(prefix.length));
    return readPage(this.store.addresses, page, {
      filter: `${record.id}.>`,
      isKey: (key) => key.startsWith(prefix) && ipOf(key) !== undefined,
      order: (a, b) => (ipOf(a) ?? 0) - (ipOf(b) ?? 0),
      itemsOf: (key, claim) => [
        {
          networkId: record.id,
          accountId: record.accountId,
          nicId: claim.nicId,
          ip: key.slice(prefix.length),
          prefixLength: plan.prefix.prefixLength,
          gateway: record.gateway,
          reservedAt: claim.reservedAt,
        },
      ],
    });
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

  /** The addresses reserved in start..end, ordered by address: only those entries are read. */
  private async reservedIn(networkId: string, start: number, end: number): Promise<{ ip: string; nicId: string }[]> {
    const prefix = `${networkId}.`;
    const keys = (await this.store.addresses.keys(`${networkId}.>`))
      .map((key) => ({ key, ip: parseIpv4(key.slice(prefix.length)) ?? -1 }))
      .filter(({ ip }) => ip >= start && ip <= end)
      .sort((a, b) => a.ip - b.ip);
    const claims = await Promise.all(
      keys.map(async ({ key }) => ({ key, claim: await this.store.addresses.get(key) })),
    );
    return claims.flatMap(({ key, claim }) =>
      claim === undefined ? [] : [{ ip: key.slice(prefix.length), nicId: claim.value.nicId }],
    );
  }

  async removeExclusion(req: RequestOf<typeof AddExcludedRange>, ctx: CommandContext): Promise<Network> {
    const same = (r: { start: string; end: string }) => r.start === req.start && r.end === req.end;
    const removed = await this.networks.changeExclusions(req.networkId, ctx, (ranges) =>
      ranges.some(same) ? ranges.filter((r) => !same(r)) : undefined,
    );
    if (removed.changed) await this.networks.announceUpdate(removed.network, ctx);
    return removed.network;
  }

  /** Takes `<net>.<ip>` for the NIC, or reports who has it. */
  private async claim(
    networkId: string,
    ip: number,
    nicId: string,
  ): Promise<{ holder: string | undefined; reservedAt: string; created: boolean }> {
    const key = `${networkId}.${formatIpv4(ip)}`;
    for (let i = 0; i < 3; i++) {
      const reservedAt = new Date().toISOString();
      if ((await this.store.addresses.tryCreate(key, { nicId, reservedAt })) !== undefined) {
        return { holder: nicId, reservedAt, created: true };
      }
      const held = await this.store.addresses.get(key);
      if (held !== undefined) return { holder: held.value.nicId, reservedAt: held.value.reservedAt, created: false };
    }
    return { holder: undefined, reservedAt: "", created: false };
  }

  /** Deletes the NIC's address claim (if it is the NIC's) and its index entry; the released address or null. */
  private async releaseHeld(networkId: string, nicId: string): Promise<string | null> {
    const nicKey = `${networkId}.${nicId}`;
    for (let i = 0; i < 10; i++) {
      const index = await this.store.nics.get(nicKey);
      if (index === undefined) return null;
      const addrKey = `${networkId}.${index.value.ip}`;
      const claim = await this.store.addresses.get(addrKey);
      const ours = claim !== undefined && claim.value.nicId === nicId;
      if (ours && !(await this.store.addresses.tryDelete(addrKey, claim.revision))) continue;
      if (!(await this.store.nics.tryDelete(nicKey, index.revision))) continue;
      return ours ? index.value.ip : null;
    }
    throw tooMuchContention(`NIC ${nicId}`);
  }

  /** A candidate address: random while probing, else a random one among the gaps of the claimed set. */
  private async pick(net: Network, plan: AddressPlan, attempt: number): Promise<number> {
    if (attempt < RANDOM_PROBES) {
      for (let draw = 0; draw < 64; draw++) {
        const ip = plan.lo + Math.floor(Math.random() * (plan.hi - plan.lo + 1));
        if (!isBlocked(plan.blocked, ip)) return ip;
      }
    }
    const prefix = `${net.id}.`;
    const claimed = (await this.store.addresses.keys(`${net.id}.>`)).map((k) => {
      const ip = parseIpv4(k.slice(prefix.length)) ?? 0;
      return [ip, ip] as const;
    });
    const ip = randomFree(plan.lo, plan.hi, mergeIntervals(plan.lo, plan.hi, [...plan.blocked, ...claimed]));
    if (ip === undefined) {
      throw conflict(
        `no free address on network ${net.name} (${formatCidr(plan.prefix)}): every usable address is reserved, ` +
          "excluded or the gateway",
      );
    }
    return ip;
  }
}
