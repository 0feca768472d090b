import { readPage, type CommandContext, type EventPublisher, type Page, type PageRequest } from "@sdn/bus";
import {
  type CreatePublicIpRange,
  formatCidr,
  formatIpv4,
  parseIpv4,
  type PublicIp,
  PublicIpAcquired,
  type PublicIpRange,
  PublicIpReleased,
  type RequestOf,
} from "@sdn/contracts";
import { createHash, randomBytes } from "node:crypto";
import { mergeIntervals, randomFree, type Interval } from "./free-slots.js";
import { conflict, invalidField, nameSome, notFound, tooMuchContention } from "./guru-errors.js";
import type { NetworkManager } from "./network-manager.js";
import { checkHostAddress, checkPrefix } from "./network-plan.js";
import { PUBLIC_RANGES_KEY, type GuruStore, type PublicIpClaim } from "./store.js";
import { canSee } from "./tenancy.js";

const MAX_RANGE_SIZE = 65536;
const RANDOM_PROBES = 6;
const ATTEMPTS = 30;

const idFromCommand = (commandId: string): string => {
  const h = createHash("sha256").update(`public-ip-range/${commandId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** The id names the address, so a release finds its record with one read; the suffix makes each acquisition unique. */
const publicIpId = (ip: string): string => `pip-${ip.replaceAll(".", "-")}-${randomBytes(4).toString("hex")}`;
const ipOfPublicIpId = (id: string): string | undefined => {
  const m = /^pip-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})-[0-9a-f]{8}$/.exec(id);
  return m === null ? undefined : m.slice(1, 5).join(".");
};

const intervalOf = (r: PublicIpRange): Interval => [parseIpv4(r.startIp) ?? 0, parseIpv4(r.endIp) ?? 0];

/**
 * Public IPAM: admin-defined ranges (one small document, changed by compare-and-swap),
 * one KV entry per acquired address (created atomically), and one source-NAT entry per
 * network, created by the network's first acquisition only.
 */
export class PublicIpam {
  constructor(
    private readonly store: GuruStore,
    private readonly networks: NetworkManager,
    private readonly events: EventPublisher,
  ) {}

  async ranges(): Promise<{ ranges: PublicIpRange[]; revision: number | undefined }> {
    const e = await this.store.publicRanges.get(PUBLIC_RANGES_KEY);
    return { ranges: e?.value.ranges ?? [], revision: e?.revision };
  }

  async createRange(req: RequestOf<typeof CreatePublicIpRange>, ctx: CommandContext): Promise<PublicIpRange> {
    const prefix = checkPrefix("cidr", req.cidr);
    const start = checkHostAddress("startIp", req.startIp, prefix, "startIp");
    const end = checkHostAddress("endIp", req.endIp, prefix, "endIp");
    if (start > end) throw invalidField("endIp", `endIp ${req.endIp} comes before startIp ${req.startIp}`);
    if (end - start + 1 > MAX_RANGE_SIZE) {
      throw invalidField(
        "endIp",
        `the range holds ${end - start + 1} addresses; at most ${MAX_RANGE_SIZE} are allowed`,
      );
    }
    const gateway = checkHostAddress("gateway", req.gateway, prefix, "gateway");
    if (gateway >= start && gateway <= end) {
      throw invalidField(
        "gateway",
        `gateway ${req.gateway} lies inside ${req.startIp}-${req.endIp}; it would be handed out`,
      );
    }
    const range: PublicIpRange = {
      id: idFromCommand(ctx.commandId),
      ...(req.name === undefined ? {} : { name: req.name }),
      cidr: formatCidr(prefix),
      gateway: formatIpv4(gateway),
      startIp: formatIpv4(start),
      endIp: formatIpv4(end),
      size: end - start + 1,
      createdAt: new Date().toISOString(),
    };
    for (let i = 0; i < ATTEMPTS; i++) {
      const { ranges, revision } = await this.ranges();
      const again = ranges.find((r) => r.id === range.id);
      if (again !== undefined) return again; // redelivered command
      const clash = ranges.find((r) => {
        const [a, b] = intervalOf(r);
        return a <= end && start <= b;
      });
      if (clash !== undefined) {
        throw conflict(
          `${range.startIp}-${range.endIp} overlaps public IP range ${clash.name ?? clash.id} (${clash.startIp}-${clash.endIp})`,
          { rangeId: clash.id },
        );
      }
      const doc = { ranges: [...ranges, range] };
      const written =
        revision === undefined
          ? await this.store.publicRanges.tryCreate(PUBLIC_RANGES_KEY, doc)
          : await this.store.publicRanges.tryUpdate(PUBLIC_RANGES_KEY, doc, revision);
      if (written !== undefined) return range;
    }
    throw tooMuchContention("the public IP ranges");
  }

  async deleteRange(rangeId: string): Promise<PublicIpRange> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const { ranges, revision } = await this.ranges();
      const range = ranges.find((r) => r.id === rangeId);
      if (range === undefined || revision === undefined) throw notFound("public IP range", rangeId);
      // Remove first, check after: an acquisition racing with us either shows here or sees the range gone.
      const rev = await this.store.publicRanges.tryUpdate(
        PUBLIC_RANGES_KEY,
        { ranges: ranges.filter((r) => r.id !== rangeId) },
        revision,
      );
      if (rev === undefined) continue;
      const [a, b] = intervalOf(range);
      const held = (await this.all()).filter((p) => {
        const ip = parseIpv4(p.ip) ?? 0;
        return ip >= a && ip <= b;
      });
      if (held.length > 0) {
        await this.store.publicRanges.update(PUBLIC_RANGES_KEY, (doc) => ({ ranges: [...(doc?.ranges ?? []), range] }));
        throw conflict(
          `public IP range ${range.name ?? range.id} still has ${held.length} acquired address(es): ` +
            `${nameSome(held.map((p) => `${p.ip} (network ${p.networkId})`))}; release them first`,
          { publicIps: held.map((p) => ({ id: p.id, ip: p.ip, networkId: p.networkId })) },
        );
      }
      return range;
    }
    throw tooMuchContention("the public IP ranges");
  }

  /**
   * Acquires an address once per command id: a command run again (redelivered, resent past
   * the stream's duplicate window, replayed) answers the address it got the first time.
   */
  async acquire(networkId: string, ctx: CommandContext): Promise<PublicIp> {
    const key = createHash("sha256").update(ctx.commandId).digest("hex");
    const earlier = await this.store.acquisitions.get(key);
    if (earlier !== undefined) return this.sameCommand(earlier.value, networkId, ctx);
    const publicIp = await this.acquireNew(networkId, ctx);
    if (await this.store.acquisitions.createIfAbsent(key, publicIp)) return publicIp;
    // A run of the same command at the same moment won: give this address back, answer theirs.
    await this.drop(publicIp.ip, publicIp.id, publicIp.isSourceNat ? publicIp.networkId : undefined);
    const winner = await this.store.acquisitions.get(key);
    if (winner === undefined) throw tooMuchContention(`command ${ctx.commandId}`);
    return this.sameCommand(winner.value, networkId, ctx);
  }

  /** A command id reused for another network or by another account is a mistake, not a repeat. */
  private sameCommand(p: PublicIp, networkId: string, ctx: CommandContext): PublicIp {
    if (p.networkId !== networkId || !canSee(ctx, p.accountId)) {
      throw conflict(`command id ${ctx.commandId} already acquired an address for another network; use a new id`);
    }
    return p;
  }

  private async acquireNew(networkId: string, ctx: CommandContext): Promise<PublicIp> {
    const { record } = await this.networks.getVisible(networkId, ctx);
    if (record.state === "Destroy") throw this.networks.beingDeleted(record);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const { ranges } = await this.ranges();
      const ip = await this.pick(ranges, attempt);
      const range = ranges.find((r) => {
        const [a, b] = intervalOf(r);
        return ip >= a && ip <= b;
      }) as PublicIpRange;
      const claim: PublicIpClaim = {
        id: publicIpId(formatIpv4(ip)),
        rangeId: range.id,
        accountId: record.accountId,
        networkId: record.id,
        acquiredAt: new Date().toISOString(),
      };
      const key = formatIpv4(ip);
      const rev = await this.store.publicIps.tryCreate(key, claim);
      if (rev === undefined) continue;
      const isSourceNat = (await this.store.sourceNat.tryCreate(record.id, { ip: key })) !== undefined;
      // Re-read what we depend on: a network delete or range delete that began meanwhile wins.
      const net = await this.store.networks.get(record.id);
      const rangeLives = (await this.ranges()).ranges.some((r) => r.id === range.id);
      if (net === undefined || net.value.state === "Destroy" || !rangeLives) {
        await this.drop(key, claim.id, isSourceNat ? record.id : undefined);
        if (net === undefined) throw notFound("network", record.id);
        if (net.value.state === "Destroy") throw this.networks.beingDeleted(net.value);
        continue;
      }
      const publicIp: PublicIp = { ...claim, ip: key, isSourceNat };
      await this.events.publish(
        PublicIpAcquired,
        { publicIp },
        { accountId: record.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.PublicIpAcquired` },
      );
      return publicIp;
    }
    throw tooMuchContention("the public IP ranges");
  }

  async release(publicIpId: string, ctx: CommandContext): Promise<PublicIp> {
    const ip = ipOfPublicIpId(publicIpId);
    const held = ip === undefined ? undefined : await this.store.publicIps.get(ip);
    if (ip === undefined || held === undefined || held.value.id !== publicIpId || !canSee(ctx, held.value.accountId)) {
      throw notFound("public IP", publicIpId);
    }
    const snat = await this.store.sourceNat.get(held.value.networkId);
    const isSourceNat = snat?.value.ip === ip;
    if (isSourceNat) {
      const others = (await this.ofNetwork(held.value.networkId)).filter((p) => p.ip !== ip);
      if (others.length > 0) {
        throw conflict(
          `${ip} is the source NAT address of network ${held.value.networkId}; release its other public IPs ` +
            `first (${nameSome(others.map((p) => p.ip))})`,
          { publicIps: others.map((p) => ({ id: p.id, ip: p.ip })) },
        );
      }
    }
    if (!(await this.store.publicIps.tryDelete(ip, held.revision))) throw notFound("public IP", publicIpId);
    if (isSourceNat && snat !== undefined) await this.store.sourceNat.tryDelete(held.value.networkId, snat.revision);
    const publicIp: PublicIp = { ...held.value, ip, isSourceNat };
    await this.events.publish(
      PublicIpReleased,
      { publicIp },
      { accountId: held.value.accountId, commandId: ctx.commandId, eventId: `${ctx.commandId}.PublicIpReleased` },
    );
    return publicIp;
  }

  /** One page of the public IPs the caller sees (of one network, or all), ordered by address. */
  async list(ctx: CommandContext, networkId: string | undefined, page: PageRequest): Promise<Page<PublicIp>> {
    if (networkId !== undefined) await this.networks.getVisible(networkId, ctx);
    // One read of a network's source NAT entry per page, however many of its addresses the page holds.
    const snats = new Map<string, Promise<string | undefined>>();
    const sourceNatOf = (id: string) => {
      let ip = snats.get(id);
      if (ip === undefined) {
        ip = this.store.sourceNat.get(id).then((e) => e?.value.ip);
        snats.set(id, ip);
      }
      return ip;
    };
    return readPage(this.store.publicIps, page, {
      filter: ">",
      isKey: (key) => parseIpv4(key) !== undefined,
      order: (a, b) => (parseIpv4(a) ?? 0) - (parseIpv4(b) ?? 0),
      itemsOf: async (ip, claim) =>
        canSee(ctx, claim.accountId) && (networkId === undefined || claim.networkId === networkId)
          ? [{ ...claim, ip, isSourceNat: (await sourceNatOf(claim.networkId)) === ip }]
          : [],
    });
  }

  /** The public IPs of one network (for DeleteNetwork's check). */
  async ofNetwork(networkId: string): Promise<PublicIp[]> {
    return (await this.all()).filter((p) => p.networkId === networkId);
  }

  /** Every acquired address, ordered by address. Public ranges are small (at most 65536 each). */
  private async all(): Promise<PublicIp[]> {
    const [claims, snats] = await Promise.all([this.store.publicIps.entries(), this.store.sourceNat.entries()]);
    const snatOf = new Map(snats.map((s) => [s.key, s.value.ip]));
    return claims
      .map((c) => ({ ...c.value, ip: c.key, isSourceNat: snatOf.get(c.value.networkId) === c.key }))
      .sort((a, b) => (parseIpv4(a.ip) ?? 0) - (parseIpv4(b.ip) ?? 0));
  }

  private async drop(ip: string, id: string, sourceNatOf: string | undefined): Promise<void> {
    const held = await this.store.publicIps.get(ip);
    if (held !== undefined && held.value.id === id) await this.store.publicIps.tryDelete(ip, held.revision);
    if (sourceNatOf !== undefined) {
      const snat = await this.store.sourceNat.get(sourceNatOf);
      if (snat?.value.ip === ip) await this.store.sourceNat.tryDelete(sourceNatOf, snat.revision);
    }
  }

  private async pick(ranges: readonly PublicIpRange[], attempt: number): Promise<number> {
    if (ranges.length === 0) {
      throw conflict("no public IP range is defined; an admin creates one with CreatePublicIpRange");
    }
    const total = ranges.reduce((n, r) => n + r.size, 0);
    if (attempt < RANDOM_PROBES) {
      let n = Math.floor(Math.random() * total);
      for (const r of ranges) {
        if (n < r.size) return intervalOf(r)[0] + n;
        n -= r.size;
      }
    }
    const taken = (await this.store.publicIps.keys()).map((k) => {
      const ip = parseIpv4(k) ?? 0;
      return [ip, ip] as const;
    });
    for (const r of [...ranges].sort(() => Math.random() - 0.5)) {
      const [a, b] = intervalOf(r);
      const ip = randomFree(a, b, mergeIntervals(a, b, taken));
      if (ip !== undefined) return ip;
    }
    throw conflict(`every public IP range is exhausted: all ${total} addresses are acquired`, { total });
  }
}
