import rateLimit from "@fastify/rate-limit";
import type { GatewayApp } from "../app.js";
import { tokenHashOf } from "../auth/bearer.js";
import { HttpError } from "../http-errors.js";
import { AccountKeys } from "./account-keys.js";

/**
 * The global request budget, as the first onRequest hook: it runs before authentication, so
 * a flood without a valid token is limited too (by address). A token seen before counts
 * against its account, so minting more tokens does not buy more requests.
 */
export const registerRequestLimiter = async (app: GatewayApp, perMinute: number): Promise<void> => {
  const accounts = new AccountKeys();
  await app.register(rateLimit, {
    global: false,
    max: perMinute,
    timeWindow: 60_000,
    cache: 10_000,
    keyGenerator: (req) => {
      const hash = tokenHashOf(req);
      const accountId = hash === undefined ? undefined : accounts.accountOf(hash);
      return accountId === undefined ? `ip:${req.ip}` : `account:${accountId}`;
    },
    errorResponseBuilder: (_req, ctx) =>
      new HttpError("RATE_LIMITED", `too many requests: at most ${ctx.max} per minute; retry in ${ctx.after}`, {
        limit: "requestsPerMinute",
        max: ctx.max,
      }),
  });
  app.addHook("onRequest", app.rateLimit());
  app.addHook("onResponse", async (req) => {
    const hash = tokenHashOf(req);
    if (req.principal !== undefined && hash !== undefined) accounts.remember(hash, req.principal.accountId);
  });
};
