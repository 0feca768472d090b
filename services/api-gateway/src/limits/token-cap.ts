import type { IssuedToken } from "@sdn/contracts";
import type { GatewayApp } from "../app.js";
import { isExpired, tokenExpiry } from "../auth/token-lifetime.js";
import { KeyedLock } from "./keyed-lock.js";
import { quotaReached, quotasOf } from "./quotas.js";

const locks = new KeyedLock();

/**
 * Issues a tenant token unless the account holds its `tokens` quota already: tokens are
 * cheap to mint, and each would otherwise be one more stream cap and request budget.
 * Serialised per account so that concurrent requests cannot pass the cap together. Expired
 * tokens do not count: they no longer authenticate.
 */
export const issueWithinCap = async (
  app: GatewayApp,
  accountId: string,
  opts: { name?: string | undefined; expiresInSeconds?: number | undefined } = {},
): Promise<IssuedToken> => {
  const expiresAt = tokenExpiry(opts.expiresInSeconds, app.settings.tokenMaxLifetimeSeconds);
  const release = await locks.acquire(accountId);
  try {
    const max = quotasOf(app.settings.defaultQuotas, await app.accounts.get(accountId)).tokens;
    const live = (await app.tokens.list(accountId)).filter((t) => !isExpired(t));
    if (live.length >= max) throw quotaReached("tokens", max, "tokens per account");
    return await app.tokens.issue(accountId, "tenant", { name: opts.name, expiresAt });
  } finally {
    release();
  }
};
