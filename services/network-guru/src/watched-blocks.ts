import { Coalescer, type JsonBucket } from "@sdn/bus";
import { CommandError, formatIpv4, parseIpv4 } from "@sdn/contracts";
import type { AddressBlock, AddressClaim } from "./store.js";

/** Addresses per block document: a /24 slice, so a network of /24 or smaller is one document. */
export const BLOCK_SIZE = 256;

/** The first address of the block holding `ip`. */
export const blockOf = (ip: number): number => ip - (ip % BLOCK_SIZE);

/** `<networkId>.<a.b.c.0>`: the block's key in `sdn_guru_address_blocks`. */
export const blockKey = (networkId: string, base: number): string => `${networkId}.${formatIpv4(base)}`;

/** One block as this replica knows it: its claims and revision (undefined: not written yet). */
export interface BlockState {
  base: number;
  held: Readonly<Record<string, AddressClaim>>;
  revision: number | undefined;
  /** How many addresses it holds (counted once, as the block is applied). */
  count: number;
}

/** A claim of a network, with its address as a number. */
export interface HeldAddress extends AddressClaim {
  ip: number;
}

const unavailable = (why: string): CommandError => new CommandError("UNAVAILABLE", `${why}; retry the command`);

/** What a KV watch of the blocks yields. */
type BlockWatch = Awaited<ReturnType<JsonBucket<AddressBlock>["kv"]["watch"]>>;

/** How long a wait for the watch lasts before the watch is taken as stalled and started again. */
const STALL_MS = 2_000;
/** The pause before a watch that ended under us is started again. */
const RESTART_MS = 250;

/**
 * How long a command waits for the watch to reach a write before it gives up (the bus is in
 * trouble then). Longer than a stream leader election (a Raft follower waits 4-9 s before it
 * campaigns) plus a stalled watch's restart: at 10 s, reservations made while the leader was
 * killed failed UNAVAILABLE on a loaded CI machine.
 */
const CATCH_UP_MS = 20_000;

interface Network {
  blocks: Map<number, BlockState>;
  /** NIC id → the addresses it holds in these blocks (two only while two commands for it race). */
  byNic: Map<string, Set<number>>;
}

/**
 * This replica's copy of every network's address blocks, kept by a KV watch and by its own
 * writes (their compare-and-swap answers are applied at once, so a batch sees the batches
 * before it). A block's copy only moves forward: an update older than what the copy holds
 * (the watch delivering a write already applied) is ignored. A copy may lag other replicas'
 * writes; a compare-and-swap against a stale block fails and that block alone is read again,
 * and `fresh()` waits until the copy holds every write acknowledged before it was called.
 */
export class WatchedBlocks {
  private readonly networks = new Map<string, Network>();
  /** Each block as the watch last delivered it (the copy may be ahead by this replica's writes). */
  private readonly watched = new Map<string, Readonly<Record<string, AddressClaim>>>();
  /**
   * `<networkId>.<nicId>` → address → the stream sequence of the write that first showed the
   * claim, in the watch's order, which every replica sees alike (claims older than the watch:
   * the sequence of their block then, still before any write this replica makes).
   */
  private readonly firstSeen = new Map<string, Map<number, number>>();
  /** Blocks this replica wrote, by revision, until the watch delivers them. */
  private readonly written = new Map<number, Record<string, AddressClaim>>();
  /** The newest stream sequence the watch delivered. */
  private seq = 0;
  private waiters: { seq: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  private over = false;
  /**
   * The bucket's newest stream sequence, asked once for the callers waiting meanwhile (each
   * gets an answer asked after it called, so every write acknowledged before it is counted).
   */
  private readonly lastSeq = new Coalescer(async () => (await this.bucket.kv.status()).streamInfo.state.last_seq);
  /** The watch now followed (replaced when it ends or stalls under us). */
  private watch: { stop(): void } | undefined;
  private stopped = false;
  /** When the watch was last (re)started, so a stall restarts it at most once per STALL_MS. */
  private startedAt = 0;

  private constructor(private readonly bucket: JsonBucket<AddressBlock>) {}

  /** Follows the bucket; answers once the copy holds every block written before the call. */
  static async open(bucket: JsonBucket<AddressBlock>): Promise<WatchedBlocks> {
    const copy = new WatchedBlocks(bucket);
    void copy.follow(await copy.start());
    try {
      await copy.fresh();
    } catch (err) {
      copy.stop();
      throw err;
    }
    return copy;
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
  }

  /** A watch from the first block, or after a watch that ended, from the sequence after the last delivered. */
  private async start() {
    const it = await this.bucket.kv.watch({ key: ">", ...(this.seq > 0 ? { resumeFromRevision: this.seq + 1 } : {}) });
    this.watch = it;
    this.startedAt = Date.now();
    return it;
  }

  /**
   * Applies what the watch delivers. A watch that ends under us (its server went away, or a
   * stall stopped it) is started again from where it stopped, so the copy catches up rather
   * than stays behind; only stop() ends the following.
   */
  private async follow(first: BlockWatch): Promise<void> {
    let it: BlockWatch | undefined = first;
    while (!this.stopped) {
      try {
        if (it === undefined) it = await this.start();
        for await (const e of it) {
          // This replica's own writes come back as they were sent: not parsed again.
          const own = this.written.get(e.revision);
          this.written.delete(e.revision);
          this.delivered(e.key, own ?? (e.operation === "PUT" ? e.json<AddressBlock>().held : {}), e.revision);
        }
      } catch {
        // Started again below, after a pause.
      }
      it = undefined;
      if (!this.stopped) await new Promise((r) => setTimeout(r, RESTART_MS));
    }
    this.ended();
  }

  /** Resolves once the copy holds every write to the bucket acknowledged before this call. */
  async fresh(): Promise<void> {
    await this.caughtUp(await this.lastSeq.request(""));
  }

  /** Resolves once the watch delivered stream sequence `seq` (and so every write before it). */
  caughtUp(seq: number): Promise<void> {
    if (this.seq >= seq) return Promise.resolve();
    if (this.over) return Promise.reject(unavailable("the guest address watch of this replica ended"));
    return new Promise((resolve, reject) => {
      // A watch that delivers nothing while writes wait may have lost its server: start it again.
      const stall = setTimeout(() => {
        if (Date.now() - this.startedAt >= STALL_MS) this.watch?.stop();
      }, STALL_MS);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(unavailable(`the guest address copy is ${CATCH_UP_MS} ms behind`));
      }, CATCH_UP_MS);
      const done = () => {
        clearTimeout(timer);
        clearTimeout(stall);
        resolve();
      };
      const fail = (err: Error) => {
        clearTimeout(timer);
        clearTimeout(stall);
        reject(err);
      };
      this.waiters.push({ seq, resolve: done, reject: fail });
    });
  }

  /** The watch ended (stopped, or the bus failed it): nothing waiting for it will be answered. */
  private ended(): void {
    this.over = true;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(unavailable("the guest address watch of this replica ended"));
  }

  /** The block as this replica knows it (an empty one when nothing was written there). */
  block(networkId: string, base: number): BlockState {
    return this.networks.get(networkId)?.blocks.get(base) ?? { base, held: {}, revision: undefined, count: 0 };
  }

  /** How many addresses of the block are held. */
  heldIn(networkId: string, base: number): number {
    return this.block(networkId, base).count;
  }

  claimAt(networkId: string, ip: number): AddressClaim | undefined {
    return this.block(networkId, blockOf(ip)).held[formatIpv4(ip)];
  }

  /** The addresses the NIC holds on the network, as far as this replica knows. */
  addressesOf(networkId: string, nicId: string): number[] {
    return [...(this.networks.get(networkId)?.byNic.get(nicId) ?? [])];
  }

  /**
   * Whether the watch showed the NIC holding an address other than `ip` by a write before
   * `seq` (the write that claimed `ip`); call after `caughtUp(seq)`. Of two claims of one NIC
   * written at once through two replicas, the later sees the earlier and backs out, while the
   * earlier never backs out for the later: exactly one stays.
   */
  claimedBefore(networkId: string, nicId: string, ip: number, seq: number): boolean {
    return [...(this.firstSeen.get(`${networkId}.${nicId}`) ?? [])].some(([other, at]) => other !== ip && at < seq);
  }

  /** Every claim of the network, ordered by address. */
  all(networkId: string): HeldAddress[] {
    const blocks = [...(this.networks.get(networkId)?.blocks.values() ?? [])];
    return blocks
      .flatMap((b) => Object.entries(b.held).map(([ip, c]) => ({ ...c, ip: parseIpv4(ip) ?? 0 })))
      .sort((a, b) => a.ip - b.ip);
  }

  /** Reads one block again (after a lost compare-and-swap) and applies it. */
  async reread(networkId: string, base: number): Promise<BlockState> {
    const found = await this.bucket.get(blockKey(networkId, base));
    if (found !== undefined) this.apply(networkId, base, found.value.held, found.revision);
    return this.block(networkId, base);
  }

  /**
   * Writes a block from the state the copy holds; the new state (applied to the copy at
   * once), or undefined when another write came first (that block is read again).
   */
  async write(
    networkId: string,
    from: BlockState,
    held: Record<string, AddressClaim>,
  ): Promise<BlockState | undefined> {
    const key = blockKey(networkId, from.base);
    const revision =
      from.revision === undefined
        ? await this.bucket.tryCreate(key, { held })
        : await this.bucket.tryUpdate(key, { held }, from.revision);
    if (revision === undefined) {
      await this.reread(networkId, from.base);
      return undefined;
    }
    if (revision > this.seq) this.written.set(revision, held);
    this.apply(networkId, from.base, held, revision);
    return this.block(networkId, from.base);
  }

  /** A block as the watch delivers it: `<networkId>.<a.b.c.0>`, the network id a UUID, the address its last four parts. */
  private delivered(key: string, held: Record<string, AddressClaim>, revision: number): void {
    const parts = key.split(".");
    const base = parseIpv4(parts.slice(-4).join("."));
    const networkId = parts[0] as string;
    if (parts.length === 5 && base !== undefined) {
      this.apply(networkId, base, held, revision);
      const before = this.watched.get(key) ?? {};
      for (const [ip, c] of Object.entries(before)) {
        if (held[ip]?.nicId === c.nicId) continue;
        const seen = this.firstSeen.get(`${networkId}.${c.nicId}`);
        seen?.delete(parseIpv4(ip) ?? 0);
        if (seen?.size === 0) this.firstSeen.delete(`${networkId}.${c.nicId}`);
      }
      for (const [ip, c] of Object.entries(held)) {
        if (before[ip]?.nicId === c.nicId) continue;
        const seen = this.firstSeen.get(`${networkId}.${c.nicId}`) ?? new Map<number, number>();
        seen.set(parseIpv4(ip) ?? 0, revision);
        this.firstSeen.set(`${networkId}.${c.nicId}`, seen);
      }
      this.watched.set(key, held);
    }
    this.reached(revision);
  }

  private apply(networkId: string, base: number, held: Record<string, AddressClaim>, revision: number): void {
    let net = this.networks.get(networkId);
    if (net === undefined) {
      net = { blocks: new Map(), byNic: new Map() };
      this.networks.set(networkId, net);
    }
    const before = net.blocks.get(base);
    if (before?.revision !== undefined && before.revision >= revision) return;
    for (const [ip, c] of Object.entries(before?.held ?? {})) {
      if (held[ip]?.nicId === c.nicId) continue;
      const mine = net.byNic.get(c.nicId);
      mine?.delete(parseIpv4(ip) ?? 0);
      if (mine?.size === 0) net.byNic.delete(c.nicId);
    }
    for (const [ip, c] of Object.entries(held)) {
      if (before?.held[ip]?.nicId === c.nicId) continue;
      const mine = net.byNic.get(c.nicId) ?? new Set<number>();
      mine.add(parseIpv4(ip) ?? 0);
      net.byNic.set(c.nicId, mine);
    }
    net.blocks.set(base, { base, held, revision, count: Object.keys(held).length });
  }

  private reached(seq: number): void {
    this.seq = Math.max(this.seq, seq);
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.seq <= this.seq);
    this.waiters = this.waiters.filter((w) => w.seq > this.seq);
    for (const w of due) w.resolve();
  }
}
