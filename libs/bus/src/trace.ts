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

type Attributes = Record<string, string | number>;

/**
 * Runs `fn` in an active span. The attributes are built and set only when the span records:
 * with export off every span is unsampled (UNEXPORTED_SAMPLER) and the SDK would still copy
 * and check each attribute of the two bus spans of every message, only to drop them (issue
 * 18). Set after the start, they are not the sampler's input; no sampler the runtime
 * configures reads attributes.
 */
const runInSpan = <T>(
  name: string,
  kind: SpanKind,
  parent: Context,
  attributes: () => Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> =>
  tracer().startActiveSpan(name, { kind }, parent, async (span) => {
    if (span.isRecording()) span.setAttributes(attributes());
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

/** The messaging attributes of the current conventions. */
const messagingAttributes = (
  operation: "process" | "send",
  subject: string,
  template: string,
  extra: Attributes,
): Attributes => ({
  "messaging.system": "nats",
  "messaging.operation.name": operation,
  "messaging.operation.type": operation,
  "messaging.destination.name": subject,
  ...(template === subject ? {} : { "messaging.destination.template": template }),
  ...extra,
});

/** Runs `fn` in a consumer span (`process <subject>`) whose parent is the trace carried by the message headers. */
export const withConsumerSpan = <T>(
  subject: string,
  h: MsgHdrs | undefined,
  attributes: () => Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> => {
  const template = destinationTemplate(subject);
  return runInSpan(
    `process ${template}`,
    SpanKind.CONSUMER,
    extractTrace(h),
    () => messagingAttributes("process", subject, template, attributes()),
    fn,
  );
};

/** Runs `fn` in a producer span (`send <subject>`) so the receiver's span becomes its child. */
export const withProducerSpan = <T>(
  subject: string,
  attributes: () => Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> => {
  const template = destinationTemplate(subject);
  return runInSpan(
    `send ${template}`,
    SpanKind.PRODUCER,
    context.active(),
    () => messagingAttributes("send", subject, template, attributes()),
    fn,
  );
};
