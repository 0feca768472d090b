import { context, propagation, trace, SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";

/** W3C trace context travels in NATS headers, as it does in HTTP ones. */
const setter = { set: (h: MsgHdrs, k: string, v: string) => h.set(k, v) };
const getter = {
  get: (h: MsgHdrs | undefined, k: string) => h?.get(k) || undefined,
  keys: (h: MsgHdrs | undefined) => (h ? h.keys() : []),
};

export const injectTrace = (h: MsgHdrs = natsHeaders()): MsgHdrs => {
  propagation.inject(context.active(), h, setter);
  return h;
};

export const extractTrace = (h: MsgHdrs | undefined): Context => propagation.extract(context.active(), h, getter);

const tracer = () => trace.getTracer("@sdn/bus");

const runInSpan = <T>(
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> =>
  tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });

const templateOf = (subject: string): string =>
  subject
    .replace(/^sdn\.agent\.[^.]+\./, "sdn.agent.{hostId}.")
    .replace(/^(sdn\.(?:cmd|req)\.[^.]+)\.acct\.[^.]+\./, "$1.acct.{accountId}.")
    .replace(/^sdn\.(ans|evt)\.[^.]+\./, "sdn.$1.{accountId}.");

/** Subjects seen lately and their templates; emptied when full (subjects carry account and host ids). */
const templates = new Map<string, string>();
const TEMPLATES_HELD = 1_024;

/**
 * The destination in a span name must have few values (OTel messaging conventions): an
 * agent subject's host token becomes `{hostId}`, and an account in a command, answer or event
 * subject `{accountId}` (the few origins and services stay). Remembered per subject: every
 * message has two spans, and the three patterns cost a microsecond a subject (issue 18).
 */
export const destinationTemplate = (subject: string): string => {
  let template = templates.get(subject);
  if (template === undefined) {
    template = templateOf(subject);
    if (templates.size >= TEMPLATES_HELD) templates.clear();
    templates.set(subject, template);
  }
  return template;
};

/** `<operation> <destination>` and the messaging attributes of the current conventions. */
const messagingSpan = (operation: "process" | "send", subject: string, extra: Record<string, string | number>) => {
  const template = destinationTemplate(subject);
  return {
    name: `${operation} ${template}`,
    attributes: {
      "messaging.system": "nats",
      "messaging.operation.name": operation,
      "messaging.operation.type": operation,
      "messaging.destination.name": subject,
      ...(template === subject ? {} : { "messaging.destination.template": template }),
      ...extra,
    },
  };
};

/** Runs `fn` in a consumer span (`process <subject>`) whose parent is the trace carried by the message headers. */
export const withConsumerSpan = <T>(
  subject: string,
  h: MsgHdrs | undefined,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> => {
  const span = messagingSpan("process", subject, attributes);
  return runInSpan(span.name, SpanKind.CONSUMER, extractTrace(h), span.attributes, fn);
};

/** Runs `fn` in a producer span (`send <subject>`) so the receiver's span becomes its child. */
export const withProducerSpan = <T>(
  subject: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> => {
  const span = messagingSpan("send", subject, attributes);
  return runInSpan(span.name, SpanKind.PRODUCER, context.active(), span.attributes, fn);
};
