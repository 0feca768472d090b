import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Logger } from "@sdn/runtime";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccountStore } from "./auth/account-store.js";
import { authenticate } from "./auth/authenticate.js";
import "./auth/principal.js";
import type { TokenStore } from "./auth/token-store.js";
import { buildAsyncApi } from "./asyncapi.js";
import type { GatewayBus } from "./gateway-bus.js";
import { errorHandler, HttpError, sendError } from "./http-errors.js";
import type { IdempotencyStore, JobStore } from "./jobs/job-store.js";
import { correlationHeaders, countRequest, otelInstrumentation, requestIdOf, serveMetrics } from "./observability.js";
import { accountRoutes } from "./routes/accounts.js";
import { diagnosticsRoutes } from "./routes/diagnostics.js";
import { eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { jobRoutes } from "./routes/jobs.js";
import { hostRoutes } from "./routes/hosts.js";
import { networkRoutes } from "./routes/networks.js";
import { elementRoutes } from "./routes/element.js";
import { routerRoutes } from "./routes/routers.js";
import { validatorCompiler } from "./validator.js";

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
}

declare module "fastify" {
  interface FastifyInstance {
    bus: GatewayBus;
    settings: GatewaySettings;
    tokens: TokenStore;
    accounts: AccountStore;
    jobs: JobStore;
    idempotency: IdempotencyStore;
  }
}

export interface GatewayOptions {
  bus: GatewayBus;
  logger: Logger;
  version: string;
  settings: GatewaySettings;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  /** NATS_URL, for the AsyncAPI document's servers (host and port only). */
  natsUrl?: string;
  stores: { tokens: TokenStore; accounts: AccountStore; jobs: JobStore; idempotency: IdempotencyStore };
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
    return503OnClosing: true,
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

  // Per-token (else per-address) request budget, in a bounded in-memory LRU.
  await app.register(rateLimit, {
    global: true,
    max: opts.rateLimitPerMinute,
    timeWindow: 60_000,
    cache: 10_000,
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      return typeof auth === "string" ? createHash("sha256").update(auth).digest("hex") : req.ip;
    },
    errorResponseBuilder: (_req, ctx) =>
      new HttpError("RATE_LIMITED", `too many requests: at most ${ctx.max} per minute; retry in ${ctx.after}`),
  });
  app.addHook("onRequest", authenticate(opts.stores.tokens));

  // Documentation is public: mark every route the docs plugins add.
  app.addHook("onRoute", (route) => {
    if (route.url.startsWith("/docs")) route.config = { ...(route.config as object), public: true };
  });

  await app.register(swagger, {
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
      ],
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
    },
    convertConstToEnum: false,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  const asyncApi = buildAsyncApi(opts.version, opts.natsUrl);
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get("/asyncapi.json", { config: { public: true }, schema: { hide: true } }, async () => asyncApi);
  // For Prometheus (docs/observability.md); a scraper without the admin token uses SDN_METRICS_PORT.
  app.get("/metrics", { config: { adminOnly: true }, schema: { hide: true } }, serveMetrics);

  await app.register(healthRoutes, { readyTimeoutMs: opts.settings.readyTimeoutMs });
  await app.register(accountRoutes);
  await app.register(jobRoutes);
  await app.register(eventRoutes);
  await app.register(diagnosticsRoutes);
  await app.register(networkRoutes);
  await app.register(hostRoutes);
  await app.register(elementRoutes);
  await app.register(routerRoutes);
  return app;
};
