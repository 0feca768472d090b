import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { OutgoingHttpHeaders } from "node:http";
import type { GatewayApp } from "./app.js";
import { sendError } from "./http-errors.js";
import type { OpenApi } from "./openapi.js";

/** Headers of the inner response that the outer one sets itself. */
const HOP_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "date"]);

/**
 * The Swagger UI on the gateway's OpenAPI document, in a Fastify instance of its own that
 * never listens: built on the first visit, not at start. Registered at start, the UI (its
 * static file server, a route per file, the logo read into memory) was part of what the idle
 * gateway held (issue 18).
 */
const buildDocsUi = async (openApi: OpenApi): Promise<FastifyInstance> => {
  const { fastifySwaggerUi } = await import("@fastify/swagger-ui");
  const docs = Fastify();
  docs.decorate("swagger", await openApi.swagger());
  docs.setNotFoundHandler((req, reply) =>
    sendError(reply, { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0] ?? ""}` }),
  );
  // Called from a plugin of our own: the package's metadata insists on @fastify/swagger being
  // registered in the same instance, and here the document comes from the gateway's OpenApi.
  // The package's plugin is an async function, though its types say callback style.
  const register = fastifySwaggerUi as unknown as (
    scope: FastifyInstance,
    opts: { routePrefix: string },
  ) => Promise<void>;
  await docs.register(async (scope) => register(scope, { routePrefix: "/docs" }));
  await docs.ready();
  return docs;
};

/** `/docs` and everything under it (public): answered by the UI's instance, built when first asked for. */
export const docsUiRoutes = async (app: GatewayApp, opts: { openApi: OpenApi }): Promise<void> => {
  let ui: Promise<FastifyInstance> | undefined;
  const forward = async (req: FastifyRequest, reply: FastifyReply) => {
    const docs = await (ui ??= buildDocsUi(opts.openApi).catch((err: unknown) => {
      // A failed build is tried again by the next visit.
      ui = undefined;
      throw err;
    }));
    const res = await docs.inject({ method: req.method as "GET" | "HEAD", url: req.url, headers: req.headers });
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(res.headers)) if (!HOP_HEADERS.has(name)) headers[name] = value;
    return reply.status(res.statusCode).headers(headers).send(res.rawPayload);
  };
  const route = { config: { public: true }, schema: { hide: true } };
  app.get("/docs", route, forward);
  app.get("/docs/*", route, forward);
};
