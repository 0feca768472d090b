import { connect, type NatsConnection } from "@nats-io/transport-node";
import { CommandClient, ensureStreams } from "@sdn/bus";
import type { Quotas } from "@sdn/contracts";
import { createLogger, type Logger } from "@sdn/runtime";
import { TestNatsServer } from "@sdn/testkit";
import { randomBytes } from "node:crypto";
import { buildGateway, type GatewayApp } from "../src/app.js";
import { GatewayAuditWriter } from "../src/audit/audit-writer.js";
import { AccountStore } from "../src/auth/account-store.js";
import { bootstrapAdminToken } from "../src/auth/admin-bootstrap.js";
import { TokenStore } from "../src/auth/token-store.js";
import { IdempotencyStore, JobStore } from "../src/jobs/job-store.js";
import { QuotaLocks } from "../src/limits/quota-locks.js";
import type { EventStreamLimits } from "../src/limits/event-streams.js";

/*
 * The gateway's test harness (`@sdn/api-gateway/testing`, source only: never in dist/). The
 * gateway's own tests and the suites under test/ that need a gateway they can `inject` into
 * use it; `commandRoute` lets a test add routes for its own commands before the first request.
 */
export { commandRoute } from "../src/command-route.js";

export interface Harness {
  nats: TestNatsServer;
  nc: NatsConnection;
  app: GatewayApp;
  adminToken: string;
  /** Creates an account through the API and returns its id and first token. */
  tenant(name?: string): Promise<{ accountId: string; token: string }>;
  close(): Promise<void>;
}

/**
 * A gateway on a real nats-server, not yet listening (tests use `inject`), so a test can
 * add routes with `commandRoute` before the first request.
 */
export const startHarness = async (
  opts: {
    commandWaitMs?: number;
    rateLimitPerMinute?: number;
    bodyLimitBytes?: number;
    eventStreams?: Partial<EventStreamLimits>;
    quotas?: Partial<Quotas>;
    tokenMaxLifetimeSeconds?: number;
    /** Authentication on: the gateway connects with its own generated credentials. */
    secured?: boolean;
    /** Where the gateway logs; silent by default. */
    logger?: Logger;
  } = {},
): Promise<Harness> => {
  const nats = opts.secured === true ? await TestNatsServer.startSecured() : await TestNatsServer.start();
  // Without async traces, as the running gateway connects (connectBus): the client would
  // otherwise capture two stacks per request, which the HTTP benchmark would count.
  const nc =
    opts.secured === true
      ? await nats.connectAs("api-gateway")
      : await connect({ servers: nats.url, noAsyncTraces: true });
  await ensureStreams(nc);
  const logger = opts.logger ?? createLogger("api-gateway", "silent");
  const tokens = await TokenStore.open(nc);
  const adminToken = `sdn_test_${randomBytes(24).toString("base64url")}`;
  await bootstrapAdminToken(tokens, {
    envToken: adminToken,
    dataDir: nats.storeDir,
    logger,
    audit: new GatewayAuditWriter(nc, logger),
  });
  const app = await buildGateway({
    bus: { nc, commands: new CommandClient(nc) },
    logger,
    version: "0.0.0-test",
    settings: {
      commandWaitMs: opts.commandWaitMs ?? 1000,
      readyTimeoutMs: 200,
      defaultQuotas: { networks: 50, nics: 500, publicIps: 20, tokens: 20, rules: 1000, ...opts.quotas },
      tokenMaxLifetimeSeconds: opts.tokenMaxLifetimeSeconds,
    },
    bodyLimitBytes: opts.bodyLimitBytes ?? 65_536,
    rateLimitPerMinute: opts.rateLimitPerMinute ?? 100_000,
    eventStreams: { perAccount: 10, total: 500, bufferBytes: 1_048_576, ...opts.eventStreams },
    stores: {
      tokens,
      accounts: await AccountStore.open(nc),
      jobs: await JobStore.open(nc),
      idempotency: await IdempotencyStore.open(nc),
      quotaLocks: await QuotaLocks.open(nc),
    },
  });
  let n = 0;
  return {
    nats,
    nc,
    app,
    adminToken,
    tenant: async (name) => {
      const res = await app.inject({
        method: "POST",
        url: "/v1/accounts",
        headers: { authorization: `Bearer ${adminToken}` },
        payload: { name: name ?? `tenant-${++n}` },
      });
      if (res.statusCode !== 201) throw new Error(`account creation failed: ${res.statusCode} ${res.body}`);
      const body = res.json<{ account: { id: string }; token: { token: string } }>();
      return { accountId: body.account.id, token: body.token.token };
    },
    close: async () => {
      await app.close();
      await nc.close();
      await nats.dispose();
    },
  };
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
