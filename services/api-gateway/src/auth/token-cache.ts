import type { TokenInfo } from "@sdn/contracts";

/** How long a verified token is trusted without reading KV again, should the watch that drops revoked ones stall. */
const TTL_MS = 60_000;
const CAPACITY = 10_000;

/**
 * Tokens verified lately, by token hash, so that a request does not read KV to learn who it
 * is (issue 18: that read was one of the two bus round trips of every authenticated GET).
 * Bounded (the least recently used goes first) and short-lived; correct only while
 * something drops the entries of revoked tokens (TokenStore's watch of its bucket).
 *
 * `epoch` counts drops: a lookup that read KV caches its answer only if no drop happened
 * while it read, so a revocation that overtook the read cannot be undone by its answer.
 */
export class TokenCache {
  private readonly byHash = new Map<string, { info: TokenInfo; until: number }>();
  private drops = 0;

  constructor(
    private readonly capacity = CAPACITY,
    private readonly ttlMs = TTL_MS,
  ) {}

  get epoch(): number {
    return this.drops;
  }

  get(hash: string): TokenInfo | undefined {
    const hit = this.byHash.get(hash);
    if (hit === undefined) return undefined;
    this.byHash.delete(hash);
    if (hit.until < Date.now()) return undefined;
    // Map iteration is insertion order: re-inserting makes it the most recently used.
    this.byHash.set(hash, hit);
    return hit.info;
  }

  /** Caches what a KV read found, unless a drop happened since `epoch` was taken before the read. */
  set(hash: string, info: TokenInfo, epoch: number): void {
    if (epoch !== this.drops) return;
    this.byHash.delete(hash);
    if (this.byHash.size >= this.capacity) this.byHash.delete(this.byHash.keys().next().value as string);
    this.byHash.set(hash, { info, until: Date.now() + this.ttlMs });
  }

  drop(hash: string): void {
    this.drops++;
    this.byHash.delete(hash);
  }

  clear(): void {
    this.drops++;
    this.byHash.clear();
  }
}
