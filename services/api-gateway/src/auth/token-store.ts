import type { NatsConnection } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { Role, TokenInfo } from "@sdn/contracts";
import { randomUUID } from "node:crypto";
import { TokenCache } from "./token-cache.js";
import { generateToken, hashToken } from "./token-secret.js";

interface TokenRecord extends TokenInfo {
  hash: string;
}

/**
 * Tokens in KV, stored only as hashes. Two keys per token: `h.<hash>` answers "who is
 * this?" in one read per request; `i.<accountId>.<tokenId>` lists and revokes.
 *
 * While `watchRevoked` runs, verified tokens are cached (TokenCache) and the watch drops a
 * token's entry as soon as its `h.` key changes, whichever replica revoked it; without the
 * watch every verification reads KV.
 */
export class TokenStore {
  private readonly cache = new TokenCache();
  private caching = false;

  private constructor(private readonly bucket: JsonBucket<TokenRecord>) {}

  static async open(nc: NatsConnection): Promise<TokenStore> {
    return new TokenStore(await JsonBucket.open<TokenRecord>(nc, "gw_tokens"));
  }

  async issue(
    accountId: string,
    role: Role,
    opts: { name?: string | undefined; expiresAt?: string | undefined } = {},
  ): Promise<TokenInfo & { token: string }> {
    const token = generateToken();
    const info = await this.store(token, {
      id: randomUUID(),
      accountId,
      role,
      ...(opts.name === undefined ? {} : { name: opts.name }),
      ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt }),
    });
    return { ...info, token };
  }

  /**
   * Makes `token` valid under a fixed id (the bootstrap admin token), replacing whatever
   * token held that id before, so a changed SDN_ADMIN_TOKEN retires the old one. Whether
   * anything changed (false: that very token was installed already).
   */
  async install(token: string, id: string, accountId: string, role: Role): Promise<boolean> {
    const previous = await this.bucket.get(`i.${accountId}.${id}`);
    const hash = hashToken(token);
    if (previous?.value.hash === hash) return false;
    if (previous !== undefined) {
      await this.bucket.delete(`h.${previous.value.hash}`);
      this.cache.drop(previous.value.hash);
    }
    await this.store(token, { id, accountId, role, name: "bootstrap" });
    return true;
  }

  async verify(token: string): Promise<TokenInfo | undefined> {
    return this.verifyHash(hashToken(token));
  }

  /** verify, given the token's hash (bearer.ts works it out once per request). */
  async verifyHash(hash: string): Promise<TokenInfo | undefined> {
    const cached = this.caching ? this.cache.get(hash) : undefined;
    if (cached !== undefined) return cached;
    const epoch = this.cache.epoch;
    const found = await this.bucket.get(`h.${hash}`);
    if (found === undefined) return undefined;
    const info = this.info(found.value);
    if (this.caching) this.cache.set(hash, info, epoch);
    return info;
  }

  async list(accountId: string): Promise<TokenInfo[]> {
    return (await this.bucket.entries(`i.${accountId}.*`)).map((e) => this.info(e.value));
  }

  /** Finds a token by id in any account (admins revoke across accounts). */
  async find(tokenId: string): Promise<TokenInfo | undefined> {
    const [key] = await this.bucket.keys(`i.*.${tokenId}`);
    if (key === undefined) return undefined;
    const found = await this.bucket.get(key);
    return found === undefined ? undefined : this.info(found.value);
  }

  async revoke(token: TokenInfo): Promise<void> {
    const found = await this.bucket.get(`i.${token.accountId}.${token.id}`);
    if (found === undefined) return;
    // Hash first: once it is gone the token no longer authenticates, whatever happens next.
    await this.bucket.delete(`h.${found.value.hash}`);
    this.cache.drop(found.value.hash);
    await this.bucket.delete(`i.${token.accountId}.${token.id}`);
  }

  /**
   * Calls `onRevoked` with the id of every token revoked from now on (by any gateway
   * replica: it follows the bucket), so that open event streams of that token end; and
   * caches verified tokens for as long as it follows the bucket.
   */
  async watchRevoked(onRevoked: (tokenId: string) => void): Promise<() => void> {
    const it = await this.bucket.kv.watch({ key: ">", include: "updates" });
    this.caching = true;
    void (async () => {
      try {
        for await (const e of it) {
          // Any change of a hash key (a revocation, a replaced bootstrap token) ends its cache entry.
          if (e.key.startsWith("h.")) this.cache.drop(e.key.slice(2));
          else if (e.operation !== "PUT") onRevoked(e.key.split(".").slice(2).join("."));
        }
      } finally {
        // Nothing follows revocations any more: every verification reads KV again.
        this.caching = false;
        this.cache.clear();
      }
    })();
    return () => it.stop();
  }

  private async store(token: string, base: Omit<TokenInfo, "createdAt">): Promise<TokenInfo> {
    const record: TokenRecord = { ...base, createdAt: new Date().toISOString(), hash: hashToken(token) };
    await this.bucket.put(`h.${record.hash}`, record);
    await this.bucket.put(`i.${record.accountId}.${record.id}`, record);
    return this.info(record);
  }

  private info(r: TokenRecord): TokenInfo {
    const { hash: _hash, ...info } = r;
    return info;
  }
}
