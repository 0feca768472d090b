/**
 * The access log: one `info` line per request (Fastify's own two lines, which carry neither
 * route nor status together, are off: `disableRequestLogging`), written when the response is
 * sent. The route is the template, so lines group like the metrics; the account and the
 * trace id tie the line to a caller and to its spans.
 */
import { isSpanContextValid, trace, type SpanContext } from "@opentelemetry/api";
import { traceFlagsText, writePrebuiltInfo, type Logger } from "@sdn/runtime";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

const json = JSON.stringify;

/** The request span's (finished by now, but its context stays the request's). */
const spanContextOf = (req: FastifyRequest): SpanContext | undefined => {
  const ctx = req.opentelemetry().context;
  return ctx === null ? undefined : trace.getSpanContext(ctx);
};

/**
 * The request span's ids (recorded or not: with export off spans are unsampled but still
 * carry ids); without tracing set up, the trace id the caller's `traceparent` names.
 */
const traceMembers = (req: FastifyRequest): string => {
  const span = spanContextOf(req);
  // Valid means hex digits of the right length (their regex test): nothing to escape.
  if (span !== undefined && isSpanContextValid(span)) {
    return `,"trace_id":"${span.traceId}","span_id":"${span.spanId}","trace_flags":"${traceFlagsText(span.traceFlags)}"`;
  }
  const given = req.headers["traceparent"];
  const traceId = typeof given === "string" ? TRACEPARENT.exec(given)?.[1] : undefined;
  return traceId === undefined ? "" : `,"trace_id":"${traceId}"`;
};

/**
 * The line's own fields, as JSON members. Every value is a number or a string this gateway
 * made (a method Node's parser accepted, a route template, an account id it issued, ids of
 * hex digits): none can hold a secret, so the line skips the logger's redaction copy
 * (writePrebuiltInfo). Every string but the checked hex ids still goes through JSON.stringify,
 * so that no value can end the line or add a field.
 */
const accessFields = (req: FastifyRequest, reply: FastifyReply): string => {
  const account = req.principal?.accountId;
  return (
    `${traceMembers(req)},"method":${json(req.method)},"route":${json(req.routeOptions.url ?? "(unmatched)")}` +
    `,"status":${reply.statusCode},"ms":${Math.round(reply.elapsedTime * 10) / 10}` +
    (account === undefined ? "" : `,"account":${json(account)}`)
  );
};

/**
 * onResponse hook, in the callback style (no promise per request). Written on the request's
 * logger, so the line carries its `reqId`; nothing is built when `info` is off.
 */
export const logRequest = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
  // The gateway's logger is pino (buildGateway), which Fastify's logger type does not say.
  const log = req.log as unknown as Logger;
  if (log.isLevelEnabled("info")) writePrebuiltInfo(log, accessFields(req, reply), "request");
  done();
};
