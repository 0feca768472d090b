import { createHash } from "node:crypto";

const TTL_MS = 60_000;

/**
 * Which account a bearer header belonged to when it last authenticated, so that the
 * request limiter (which runs before authentication, to limit unauthenticated floods too)
 * can key a known token by its account without a KV read. Bounded; entries expire, so a
 * revoked token soon falls back to being limited by address.
 */
export class AccountKeys {
  private readonly byHeader = new Map<string, { accountId: string; until: number }>();

  constructor(private readonly capacity = 10_000) {}

  accountOf(header: string): string | undefined {
    const key = digest(header);
    const hit = this.byHeader.get(key);
    if (hit === undefined) return undefined;
    if (hit.until < Date.now()) {
      this.byHeader.delete(key);
      return undefined;
    }
    return hit.accountId;
  }

  remember(header: string, accountId: string): void {
    const key = digest(header);
    this.byHeader.delete(key);
    // Map iteration is insertion order: the first key is the least recently remembered.
    if (this.byHeader.size >= this.capacity) this.byHeader.delete(this.byHeader.keys().next().value as string);
    this.byHeader.set(key, { accountId, until: Date.now() + TTL_MS });
  }
}

const digest = (header: string) => createHash("sha256").update(header).digest("base64url");
