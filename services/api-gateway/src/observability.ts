/**
 * What ties an HTTP call to the logs, traces and metrics it produced: a request id
 * (the caller's `x-request-id` when it is sane, else a new one), the W3C `traceparent` of
 * the request's span on every response, span names after the OTel HTTP conventions
 * (`GET /v1/networks/:id`), request counts and latencies by route, and one access log line
 * per request.
 */
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { isSpanContextValid } from "@opentelemetry/api";
import { CONTENT_TYPE, metrics } from "@sdn/bus";
import type { Logger } from "@sdn/runtime";
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

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The request span's trace id (recorded or not: with export off spans are unsampled but
 * still carry ids); without tracing set up, the one the caller's `traceparent` names.
 */
const traceIdOf = (req: FastifyRequest): string | undefined => {
  const span = req.opentelemetry().span;
  if (span !== null && isSpanContextValid(span.spanContext())) return span.spanContext().traceId;
  const given = req.headers["traceparent"];
  return typeof given === "string" ? TRACEPARENT.exec(given)?.[1] : undefined;
};

/**
 * onResponse hook: the access log, one `info` line per request (Fastify's own two lines,
 * which carry neither route nor status together, are off: `disableRequestLogging`). The
 * route is the template, so lines group like the metrics; the account and the trace id tie
 * the line to a caller and to its spans. Nothing is built when `info` is off.
 */
export const logRequest = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
  // The gateway's logger is pino (buildGateway), which Fastify's logger type does not say.
  if (!(req.log as unknown as Pick<Logger, "isLevelEnabled">).isLevelEnabled("info")) return;
  req.log.info(
    {
      method: req.method,
      route: req.routeOptions.url ?? "(unmatched)",
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      account: req.principal?.accountId,
      trace_id: traceIdOf(req),
    },
    "request",
  );
};

/** GET /metrics (admin token): this gateway's metrics in the Prometheus text format. */
export const serveMetrics = async (_req: FastifyRequest, reply: FastifyReply): Promise<string> => {
  void reply.header("content-type", CONTENT_TYPE);
  return metrics.expose();
};
