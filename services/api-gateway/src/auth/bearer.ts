import type { FastifyRequest } from "fastify";
import { hashToken } from "./token-secret.js";

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/;

/** The token of an `Authorization: Bearer <token>` header; undefined when the header is not one. */
export const bearerToken = (header: string | undefined): string | undefined =>
  header === undefined ? undefined : BEARER.exec(header)?.[1];

const hashes = new WeakMap<FastifyRequest, string | undefined>();

/**
 * The hash of the request's bearer token (as tokens are stored), worked out once per request:
 * the request limiter keys by it before authentication, authentication looks the token up by
 * it and the limiter remembers its account by it after the response (issue 18: three SHA-256
 * of one header were a few percent of a read). Undefined without a well-formed bearer header.
 */
export const tokenHashOf = (req: FastifyRequest): string | undefined => {
  if (hashes.has(req)) return hashes.get(req);
  const token = bearerToken(req.headers.authorization);
  const hash = token === undefined ? undefined : hashToken(token);
  hashes.set(req, hash);
  return hash;
};
