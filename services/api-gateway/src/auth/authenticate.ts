import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "../http-errors.js";
import { tokenHashOf } from "./bearer.js";
import { isExpired } from "./token-lifetime.js";
import type { TokenStore } from "./token-store.js";

/**
 * onRequest hook: every route needs a valid bearer token unless its config says
 * `public`; routes marked `adminOnly` refuse tenants with 403.
 */
export const authenticate =
  (tokens: TokenStore) =>
  async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    req.principal = undefined;
    const config = req.routeOptions.config;
    if (config.public === true) return;
    const header = req.headers.authorization;
    if (header === undefined) {
      throw new HttpError("UNAUTHORIZED", "this route needs an 'Authorization: Bearer <token>' header");
    }
    const hash = tokenHashOf(req);
    if (hash === undefined) {
      throw new HttpError("UNAUTHORIZED", "the Authorization header must be 'Bearer <token>'");
    }
    const info = await tokens.verifyHash(hash);
    if (info === undefined) throw new HttpError("UNAUTHORIZED", "the token is not valid: unknown or revoked");
    if (isExpired(info)) {
      throw new HttpError("UNAUTHORIZED", `the token expired at ${info.expiresAt}: create a new one`);
    }
    req.principal = { accountId: info.accountId, role: info.role, tokenId: info.id, expiresAt: info.expiresAt };
    if (config.adminOnly === true && info.role !== "admin") {
      throw new HttpError("FORBIDDEN", "only an admin token may call this route");
    }
  };

/** The caller of an authenticated route (the hook guarantees it is set). */
export const principalOf = (req: FastifyRequest) => {
  if (req.principal === undefined) throw new HttpError("UNAUTHORIZED", "not authenticated");
  return req.principal;
};
