import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Quotas } from "@sdn/contracts";
import type { Logger } from "@sdn/runtime";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccountStore } from "./auth/account-store.js";
import { authenticate } from "./auth/authenticate.js";
import "./auth/principal.js";
import type { TokenStore } from "./auth/token-store.js";
import { buildAsyncApi } from "./asyncapi.js";
import type { GatewayBus } from "./gateway-bus.js";
import { errorHandler, sendError } from "./http-errors.js";
import type { IdempotencyStore, JobStore } from "./jobs/job-store.js";
import { buildLazySerializer } from "./lazy-serializers.js";
import { EventStreams, type EventStreamLimits } from "./limits/event-streams.js";
import { registerQuotaChecks } from "./limits/quota-hook.js";
import type { QuotaLocks } from "./limits/quota-locks.js";
import { registerRequestLimiter } from "./limits/request-limiter.js";
import { logRequest } from "./access-log.js";
import { correlationHeaders, countRequest, otelInstrumentation, requestIdOf, serveMetrics } from "./observability.js";
import { auditGatewayChanges } from "./audit/audited-routes.js";
import { GatewayAuditWriter } from "./audit/audit-writer.js";
import { accountRoutes } from "./routes/accounts.js";
import { auditRoutes } from "./routes/audit.js";
import { busCredentialRoutes } from "./routes/bus-credentials.js";
import type { BusCredentialStore } from "./bus-credentials/credential-store.js";
import { diagnosticsRoutes } from "./routes/diagnostics.js";
import { docsUiRoutes } from "./docs-ui.js";
import { OpenApi } from "./openapi.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { jobRoutes } from "./routes/jobs.js";
import { hostRoutes } from "./routes/hosts.js";
import { networkRoutes } from "./routes/networks.js";
import { quotaRoutes } from "./routes/quotas.js";
import { elementRoutes } from "./routes/element.js";
import { routerRoutes } from "./routes/routers.js";
import { validatorCompiler } from "./validator.js";
import { webUiRoutes } from "./web-ui.js";

export type GatewayApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface GatewaySettings {
  commandWaitMs: number;
  readyTimeoutMs: number;
  /** Quotas of accounts an admin has not set their own for. */
  defaultQuotas: Quotas;
  /** Longest lifetime of a new token, and the lifetime of one created without its own; undefined: tokens may never expire. */
  tokenMaxLifetimeSeconds?: number | undefined;
}

declare module "fastify" {
  interface FastifyInstance {
    bus: GatewayBus;
    settings: GatewaySettings;
    tokens: TokenStore;
    accounts: AccountStore;
    jobs: JobStore;
    idempotency: IdempotencyStore;
    eventStreams: EventStreams;
  }
}

export interface GatewayOptions {
  bus: GatewayBus;
  logger: Logger;
  version: string;
  settings: GatewaySettings;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  eventStreams: EventStreamLimits;
  /** NATS_URL, for the AsyncAPI document's servers (host and port only). */
  natsUrl?: string;
  stores: {
    tokens: TokenStore;
    accounts: AccountStore;
    jobs: JobStore;
    idempotency: IdempotencyStore;
    quotaLocks: QuotaLocks;
  };
  /** Issues external systems' bus credentials; absent when the gateway has no issuing keys. */
  busCredentials?: BusCredentialStore;
}

/** Builds the HTTP API; `listen` is the caller's business so tests can `inject`. */
export const buildGateway = async (opts: GatewayOptions): Promise<GatewayApp> => {
  // pino's Logger is wider than Fastify's logger type; widen it once here.
  const loggerInstance: FastifyBaseLogger = opts.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: opts.bodyLimitBytes,
    connectionTimeout: 30_000,
    requestTimeout: 60_000,
    routerOptions: { maxParamLength: 200 },
    genReqId: requestIdOf,
    // One access line per request instead (logRequest).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    schemaController: { compilersFactory: { buildSerializer: buildLazySerializer } },
    // Errors Fastify raises before routing (a URL that does not decode, bad headers) skip the
    // error handler; give them the same error model.
    frameworkErrors: (err, _req, reply) => {
      void sendError(reply, { code: "VALIDATION_FAILED", message: err.message });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate("bus", opts.bus);
  app.decorate("settings", opts.settings);
  app.decorate("tokens", opts.stores.tokens);
  app.decorate("accounts", opts.stores.accounts);
  app.decorate("jobs", opts.stores.jobs);
  app.decorate("idempotency", opts.stores.idempotency);
  app.decorate("eventStreams", new EventStreams(opts.eventStreams));
  const stopRevocationWatch = await opts.stores.tokens.watchRevoked((tokenId) => app.eventStreams.revoked(tokenId));
  app.addHook("onClose", async () => stopRevocationWatch());
  app.decorateRequest("principal", undefined);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0] ?? ""}` }),
  );

  // Reads the caller's `traceparent` and makes the request span current, so the
  // commands a route sends continue the caller's trace.
  await app.register(otelInstrumentation().plugin());
  app.addHook("onRequest", correlationHeaders);
  app.addHook("onResponse", countRequest);
  app.addHook("onResponse", logRequest);

  // Before authentication, so that floods without a valid token are limited too.
  await registerRequestLimiter(app, opts.rateLimitPerMinute);
  app.addHook("onRequest", authenticate(opts.stores.tokens));
  registerQuotaChecks(app, opts.settings.defaultQuotas, opts.stores.quotaLocks);
  // The gateway's own changes (accounts, tokens, quotas, bus credentials) are not bus commands: recorded here.
  app.addHook("onSend", auditGatewayChanges(new GatewayAuditWriter(opts.bus.nc, opts.logger)));

  // Routes are noted from here on; the document is built at its first request (openapi.ts).
  const openApi = new OpenApi(app, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "GRE SDN controller API",
        version: opts.version,
        description:
          "Guest networks over a GRE overlay on Open vSwitch hosts. Every route but health and docs needs " +
          "`Authorization: Bearer <token>`. Mutating calls wait for their answer up to a limit, then answer 202 " +
          "with a job to poll at /v1/jobs/{id}; send `Idempotency-Key` to make retries safe. Errors are " +
          "`{ error: { code, message, details? } }`.",
      },
      // Relative: the gateway that served this document, whatever name a proxy gives it.
      servers: [{ url: "/", description: "This gateway" }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
      tags: [
        { name: "Health", description: "Liveness and readiness (no token needed)" },
        { name: "Accounts", description: "Tenants and their tokens" },
        { name: "Jobs", description: "Async jobs of calls that outlived their wait time" },
        { name: "Events", description: "Server-sent events" },
        { name: "Diagnostics", description: "Command-path checks (admin)" },
        { name: "Audit", description: "Who changed what, when, with what outcome" },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
    },
    convertConstToEnum: false,
  });
  await app.register(docsUiRoutes, { openApi });
  // Built when first asked for: a gateway nobody reads the document of does not hold it (idle memory).
  let asyncApi: ReturnType<typeof buildAsyncApi> | undefined;
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => openApi.document());
  app.get(
    "/asyncapi.json",
    { config: { public: true }, schema: { hide: true } },
    async () => (asyncApi ??= buildAsyncApi(opts.version, opts.natsUrl)),
  );
  // For Prometheus (docs/observability.md); a scraper without the admin token uses SDN_METRICS_PORT.
  app.get("/metrics", { config: { adminOnly: true }, schema: { hide: true } }, serveMetrics);

  await app.register(healthRoutes, { readyTimeoutMs: opts.settings.readyTimeoutMs });
  await app.register(accountRoutes);
  await app.register(quotaRoutes);
  await app.register(busCredentialRoutes, { store: opts.busCredentials });
  await app.register(jobRoutes);
  await app.register(auditRoutes);
  await app.register(eventRoutes);
  await app.register(diagnosticsRoutes);
  await app.register(networkRoutes);
  await app.register(hostRoutes);
  await app.register(elementRoutes);
  await app.register(routerRoutes);
  await app.register(webUiRoutes);
  return app;
};
