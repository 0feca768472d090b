import type { Account, QuotaName, Quotas } from "@sdn/contracts";
import { HttpError } from "../http-errors.js";

/** An account's quotas: what an admin set on it, the gateway's defaults for the rest. */
export const quotasOf = (defaults: Quotas, account: Account | undefined): Quotas => ({
  ...defaults,
  ...account?.quotas,
});

/** 409 naming the quota, so a caller knows which limit it hit and whom to ask. */
export const quotaReached = (quota: QuotaName, max: number, what: string): HttpError =>
  new HttpError("CONFLICT", `quota '${quota}' reached: at most ${max} ${what}; an admin can raise it`, {
    limit: quota,
    max,
  });
