import { CommandFailedError, CommandTimeoutError } from "@sdn/bus";
import {
  CountRules,
  ListNetworks,
  ListNics,
  ListPublicIps,
  MAX_PAGE_LIMIT,
  type CommandDefinition,
  type RequestOf,
  type ResponseOf,
} from "@sdn/contracts";
import type { FastifyRequest } from "fastify";
import type { GatewayApp } from "../app.js";
import { principalOf } from "../auth/authenticate.js";
import { HttpError } from "../http-errors.js";

/** Counts what the caller holds of one kind, up to `max` (enough to tell "at the limit"). */
export type QuotaCount = (app: GatewayApp, req: FastifyRequest, max: number) => Promise<number>;

/** Asks a service as the caller, so the answer holds only what the caller's account sees. */
const ask = async <C extends CommandDefinition>(
  app: GatewayApp,
  req: FastifyRequest,
  def: C,
  body: RequestOf<C>,
): Promise<ResponseOf<C>> => {
  const { accountId, role } = principalOf(req);
  try {
    return await app.bus.commands.call(def, body, { accountId, role, timeoutMs: app.settings.commandWaitMs });
  } catch (err) {
    if (err instanceof CommandTimeoutError) {
      const message = `could not check the quota: ${def.service} did not answer; retry shortly`;
      throw new HttpError("UNAVAILABLE", message, undefined, { cause: err });
    }
    if (err instanceof CommandFailedError) {
      throw new HttpError(err.code, `could not check the quota: ${err.message}`, undefined, { cause: err });
    }
    throw err;
  }
};

/** Every network of the caller's account (a quota bounds how many there are). */
const ownNetworkIds = async (app: GatewayApp, req: FastifyRequest): Promise<string[]> => {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ask(app, req, ListNetworks, {
      limit: MAX_PAGE_LIMIT,
      ...(cursor === undefined ? {} : { cursor }),
    });
    ids.push(...page.networks.map((n) => n.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return ids;
};

const pageLimit = (max: number) => Math.min(Math.max(max, 1), MAX_PAGE_LIMIT);

export const countNetworks: QuotaCount = async (app, req, max) =>
  (await ask(app, req, ListNetworks, { limit: pageLimit(max) })).networks.length;

export const countPublicIps: QuotaCount = async (app, req, max) =>
  (await ask(app, req, ListPublicIps, { limit: pageLimit(max) })).publicIps.length;

/**
 * The account's NICs over all its networks: one ListNics per network, in parallel. The
 * networks quota bounds that fan-out, and it runs only when a NIC is plugged.
 */
export const countNics: QuotaCount = async (app, req, max) => {
  const { accountId } = principalOf(req);
  const counts = await Promise.all(
    (await ownNetworkIds(app, req)).map(async (networkId) => {
      const page = await ask(app, req, ListNics, { networkId, limit: pageLimit(max) });
      return page.nics.filter((n) => n.accountId === accountId).length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
};

/**
 * The account's L3 rules over all its networks: its network ids (one ListNetworks page per
 * 1000), then one CountRules to the vr-manager, which reads the rule books themselves.
 */
export const countRules: QuotaCount = async (app, req) => {
  const ids = await ownNetworkIds(app, req);
  let rules = 0;
  for (let i = 0; i < ids.length; i += MAX_PAGE_LIMIT) {
    rules += (await ask(app, req, CountRules, { networkIds: ids.slice(i, i + MAX_PAGE_LIMIT) })).rules;
  }
  return rules;
};
