import { FastifyOtelInstrumentation } from "@fastify/otel";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Logger } from "@sdn/runtime";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayBus } from "./gateway-bus.js";
import { errorHandler, sendError } from "./http-errors.js";
import { diagnosticsRoutes } from "./routes/diagnostics.js";
import { healthRoutes } from "./routes/health.js";
import { validatorCompiler } from "./validator.js";

export type GatewayApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module "fastify" {
  interface FastifyInstance {
    bus: GatewayBus;
  }
}

export interface GatewayOptions {
  bus: GatewayBus;
  logger: Logger;
  version: string;
  bodyLimitBytes: number;
  commandWaitMs: number;
  readyTimeoutMs: number;
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
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate("bus", opts.bus);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0] ?? ""}` }),
  );

  // Reads the caller's `traceparent` and makes the request span current, so the
  // commands a route sends continue the caller's trace.
  await app.register(new FastifyOtelInstrumentation({ registerOnInitialization: false }).plugin());

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "GRE SDN controller API",
        version: opts.version,
        description:
          "Guest networks over a GRE overlay on Open vSwitch hosts. Mutating calls send a command on the bus and wait for its answer.",
      },
      tags: [
        { name: "Health", description: "Liveness and readiness" },
        { name: "Diagnostics", description: "Command-path checks" },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
    },
    convertConstToEnum: false,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { readyTimeoutMs: opts.readyTimeoutMs });
  await app.register(diagnosticsRoutes, { waitMs: opts.commandWaitMs });
  return app;
};
