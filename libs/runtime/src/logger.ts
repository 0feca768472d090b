import { trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger } from "pino";
import { redact } from "./redact.js";

export type { Logger };

/** A span's trace flags as a log line's `trace_flags` field holds them: two hex digits ("01"). */
export const traceFlagsText = (traceFlags: number): string => `0${traceFlags.toString(16)}`.slice(-2);

/**
 * The ids of the span current when the line is written, so a log line leads to its trace
 * (the field names are OpenTelemetry's log data model's). Outside a span: nothing.
 */
const traceFields = (): Record<string, string> => {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlagsText(traceFlags) };
};

let stampedAt = Number.NaN;
let stamp = "";

/**
 * pino's ISO time field, made once per millisecond: a busy gateway writes several lines in
 * one (its access log) and formatting a date was a tenth of what a line cost (issue 18).
 */
const isoTime = (): string => {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
};

/**
 * JSON logs, one line per event, with the level as a name ("info", not 30), the trace and
 * span ids of the current span, and secrets removed before serialisation (see redact.ts).
 * `destination` lets tests capture what would be written.
 */
export const createLogger = (service: string, level: string, destination?: DestinationStream): Logger =>
  pino(
    {
      name: service,
      level,
      base: { service, pid: process.pid },
      timestamp: isoTime,
      mixin: traceFields,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
      hooks: {
        // Messages are strings built by our code; scrub them too in case one quotes input.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === "string" ? (redact(a) as string) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
