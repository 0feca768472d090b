import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export interface TelemetryOptions {
  service: string;
  version: string;
  exporter: "none" | "otlp" | "console";
  otlpEndpoint: string;
  /** Extra processors (tests use an in-memory exporter). */
  processors?: SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

const exporterFor = (opts: TelemetryOptions): SpanExporter | undefined => {
  switch (opts.exporter) {
    case "otlp":
      return new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, "")}/v1/traces` });
    case "console":
      return new ConsoleSpanExporter();
    case "none":
      return undefined;
  }
};

let registered: NodeTracerProvider | undefined;

/**
 * Installs the tracer provider and the W3C propagator. The propagator is installed even
 * when export is off: trace ids must still flow from HTTP through NATS so logs and other
 * systems can correlate. One provider per process (the OTel API is global).
 */
export const setupTelemetry = (opts: TelemetryOptions): Telemetry => {
  if (registered !== undefined) return { shutdown: async () => undefined };
  const exporter = exporterFor(opts);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.service, "service.version": opts.version }),
    spanProcessors: [...(exporter === undefined ? [] : [new BatchSpanProcessor(exporter)]), ...(opts.processors ?? [])],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registered = provider;
  return {
    shutdown: async () => {
      await provider.shutdown();
      propagation.disable();
      registered = undefined;
    },
  };
};
