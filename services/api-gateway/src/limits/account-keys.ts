const TTL_MS = 60_000;

/**
 * Which account a bearer token (by its hash) belonged to when it last authenticated, so that the
 * request limiter (which runs before authentication, to limit unauthenticated floods too)
 * can key a known token by its account without a KV read. Bounded; entries expire, so a
 * revoked token soon falls back to being limited by address.
 */
export class AccountKeys {
  private readonly byHash = new Map<string, { accountId: string; until: number }>();

  constructor(private readonly capacity = 10_000) {}

  accountOf(tokenHash: string): string | undefined {
    const hit = this.byHash.get(tokenHash);
    if (hit === undefined) return undefined;
    if (hit.until < Date.now()) {
      this.byHash.delete(tokenHash);
      return undefined;
    }
    return hit.accountId;
  }

  remember(tokenHash: string, accountId: string): void {
    this.byHash.delete(tokenHash);
    // Map iteration is insertion order: the first key is the least recently remembered.
    if (this.byHash.size >= this.capacity) this.byHash.delete(this.byHash.keys().next().value as string);
    this.byHash.set(tokenHash, { accountId, until: Date.now() + TTL_MS });
  }
}
