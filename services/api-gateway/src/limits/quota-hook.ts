import type { QuotaName, Quotas } from "@sdn/contracts";
import type { FastifyRequest } from "fastify";
import type { GatewayApp } from "../app.js";
import { principalOf } from "../auth/authenticate.js";
import { KeyedLock } from "./keyed-lock.js";
import type { QuotaLocks } from "./quota-locks.js";
import { countNetworks, countNics, countPublicIps, countRules, type QuotaCount } from "./quota-counts.js";
import { quotaReached, quotasOf } from "./quotas.js";

interface QuotaRule {
  quota: QuotaName;
  what: string;
  count: QuotaCount;
}

/** The create routes a quota guards, by method and route URL. */
const QUOTA_ROUTES = new Map<string, QuotaRule>([
  ["POST /v1/networks", { quota: "networks", what: "networks", count: countNetworks }],
  ["POST /v1/networks/:id/nics", { quota: "nics", what: "NICs", count: countNics }],
  ["POST /v1/public-ips", { quota: "publicIps", what: "public IPs", count: countPublicIps }],
  ...["port-forwards", "static-nats", "firewall-rules", "egress-rules", "load-balancers"].map(
    (path): [string, QuotaRule] => [
      `POST /v1/networks/:id/${path}`,
      { quota: "rules", what: "L3 rules over all its networks", count: countRules },
    ],
  ),
]);

/**
 * Tenants' resource quotas, checked by the gateway before it sends the create command
 * (admins are not limited). The count and the create run under a lock per account and
 * quota, held until the response is sent: first this replica's own, then the one shared by
 * every gateway replica (QuotaLocks), so concurrent creates cannot overshoot, whichever
 * gateway they reach. Overshoot is possible only through creates still running as jobs (202)
 * when the next is counted.
 */
export const registerQuotaChecks = (app: GatewayApp, defaults: Quotas, shared: QuotaLocks): void => {
  const locks = new KeyedLock();
  const held = new WeakMap<FastifyRequest, () => void>();
  // A renamed route must not silently lose its quota.
  app.addHook("onReady", async () => {
    for (const route of QUOTA_ROUTES.keys()) {
      const [method, url] = route.split(" ") as ["POST", string];
      if (!app.hasRoute({ method, url })) throw new Error(`quota route ${route} is not registered`);
    }
  });
  app.addHook("onResponse", async (req) => held.get(req)?.());
  app.addHook("preHandler", async (req, reply) => {
    const rule = QUOTA_ROUTES.get(`${req.method} ${req.routeOptions.url ?? ""}`);
    if (rule === undefined) return;
    const principal = principalOf(req);
    if (principal.role === "admin") return;
    // A retry with a used Idempotency-Key resends the first command: it creates nothing new,
    // and must get the first result even when that create filled the quota.
    const idempotencyKey = req.headers["idempotency-key"];
    if (typeof idempotencyKey === "string" && (await app.idempotency.used(principal.accountId, idempotencyKey))) return;
    const max = quotasOf(defaults, await app.accounts.get(principal.accountId))[rule.quota];
    const key = `${principal.accountId}.${rule.quota}`;
    const releaseLocal = await locks.acquire(key);
    let releaseShared: () => void;
    try {
      releaseShared = await shared.acquire(key, app.settings.commandWaitMs);
    } catch (err) {
      releaseLocal();
      throw err;
    }
    const release = () => {
      releaseShared();
      releaseLocal();
    };
    held.set(req, release);
    reply.raw.once("close", release);
    try {
      if (max === 0 || (await rule.count(app, req, max)) >= max) throw quotaReached(rule.quota, max, rule.what);
    } catch (err) {
      release();
      throw err;
    }
  });
};
