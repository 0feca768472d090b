import type { IssuedToken } from "@sdn/contracts";
import type { GatewayApp } from "../app.js";
import { KeyedLock } from "./keyed-lock.js";
import { quotaReached, quotasOf } from "./quotas.js";

const locks = new KeyedLock();

/**
 * Issues a tenant token unless the account holds its `tokens` quota already: tokens are
 * cheap to mint, and each would otherwise be one more stream cap and request budget.
 * Serialised per account so that concurrent requests cannot pass the cap together.
 */
export const issueWithinCap = async (app: GatewayApp, accountId: string, name?: string): Promise<IssuedToken> => {
  const release = await locks.acquire(accountId);
  try {
    const max = quotasOf(app.settings.defaultQuotas, await app.accounts.get(accountId)).tokens;
    if ((await app.tokens.list(accountId)).length >= max) throw quotaReached("tokens", max, "tokens per account");
    return await app.tokens.issue(accountId, "tenant", name);
  } finally {
    release();
  }
};
