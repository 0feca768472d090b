/**
 * What ties an HTTP call to the logs, traces and metrics it produced: a request id
 * (the caller's `x-request-id` when it is sane, else a new one), the W3C `traceparent` of
 * the request's span on every response, span names after the OTel HTTP conventions
 * (`GET /v1/networks/:id`), request counts and latencies by route. The access log line is
 * access-log.ts's.
 */
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { CONTENT_TYPE, metrics } from "@sdn/bus";
import type { FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID_HEADER = "x-request-id";
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Fastify's genReqId: the caller's id if it is one we may echo into logs and headers, else a UUID. */
export const requestIdOf = (req: IncomingMessage): string => {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && SANE_REQUEST_ID.test(given) ? given : randomUUID();
};

/** `{method} {route}`; a request no route matched has only its method (the path would explode cardinality). */
export const httpSpanName = (method: string, route: string | undefined): string =>
  route === undefined ? method : `${method} ${route}`;

/**
 * One span per request: no child span per hook and handler (the plugin's default), which
 * made about a dozen spans of every read (issue 18: a tenth of the gateway's CPU, recorded
 * or not) and told nothing the request span and the command's `send` span do not.
 */
export const otelInstrumentation = () =>
  new FastifyOtelInstrumentation({
    registerOnInitialization: false,
    instrumentHooks: false,
    instrumentHandler: false,
    requestHook: (span, req) => span.updateName(httpSpanName(req.method, req.routeOptions.url)),
  });

/**
 * onRequest hook, after the OTel plugin's: the headers go on the raw response so that
 * they are sent whatever answers (a route, an error, the hijacked event stream).
 */
export const correlationHeaders = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
  reply.raw.setHeader(REQUEST_ID_HEADER, req.id);
  const carrier: Record<string, string> = {};
  req.opentelemetry().inject(carrier);
  if (carrier["traceparent"] !== undefined) reply.raw.setHeader("traceparent", carrier["traceparent"]);
};

const requests = metrics.counter("sdn_http_requests_total", "HTTP requests answered, by method, route and status", [
  "method",
  "route",
  "status",
]);
const requestSeconds = metrics.histogram(
  "sdn_http_request_duration_seconds",
  "Time to answer an HTTP request (an event stream: how long it stayed open), by method and route",
  ["method", "route"],
);

/** onResponse hook: one count and one latency per request. */
export const countRequest = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
  const route = req.routeOptions.url ?? "(unmatched)";
  requests.inc({ method: req.method, route, status: String(reply.statusCode) });
  requestSeconds.observe({ method: req.method, route }, reply.elapsedTime / 1000);
};

/** GET /metrics (admin token): this gateway's metrics in the Prometheus text format. */
export const serveMetrics = async (_req: FastifyRequest, reply: FastifyReply): Promise<string> => {
  void reply.header("content-type", CONTENT_TYPE);
  return metrics.expose();
};
