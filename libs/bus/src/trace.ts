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

/** Runs `fn` in a span whose parent is the trace carried by the message headers. */
export const withConsumerSpan = <T>(
  name: string,
  h: MsgHdrs | undefined,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> => runInSpan(name, SpanKind.CONSUMER, extractTrace(h), attributes, fn);

/** Runs `fn` in a producer span so the receiver's span becomes its child. */
export const withProducerSpan = <T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> => runInSpan(name, SpanKind.PRODUCER, context.active(), attributes, fn);
