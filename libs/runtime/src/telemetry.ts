import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ConfigError } from "./config.js";

export interface TelemetryOptions {
  service: string;
  version: string;
  /** `service.instance.id`: this process among the service's replicas. */
  instanceId: string;
  /** OTEL_SERVICE_NAME: overrides `service` as `service.name` (the OTel SDK rule). */
  serviceName?: string | undefined;
  /** OTEL_RESOURCE_ATTRIBUTES: `key=value,key=value`, values percent-encoded. */
  resourceAttributes?: string | undefined;
  exporter: "none" | "otlp" | "console";
  otlpEndpoint: string;
  /** Extra processors (tests use an in-memory exporter). */
  processors?: SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * The OTLP exporter (HTTP client, protobuf/JSON serialisers) is loaded only when it is
 * configured: with export off (the default) a service does not hold it (idle memory, issue 18).
 */
const exporterFor = async (opts: TelemetryOptions): Promise<SpanExporter | undefined> => {
  switch (opts.exporter) {
    case "otlp": {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      return new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/$/, "")}/v1/traces` });
    }
    case "console":
      return new ConsoleSpanExporter();
    case "none":
      return undefined;
  }
};

/** Parses OTEL_RESOURCE_ATTRIBUTES as the OTel specification defines it; a malformed pair is a ConfigError. */
export const parseResourceAttributes = (text: string | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || key === "") {
      throw new ConfigError([{ variable: "OTEL_RESOURCE_ATTRIBUTES", problem: `'${pair}' is not key=value` }]);
    }
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError([
        { variable: "OTEL_RESOURCE_ATTRIBUTES", problem: `the value of '${key}' is badly encoded` },
      ]);
    }
  }
  return out;
};

/** The resource every span carries: ours, then the operator's attributes, then OTEL_SERVICE_NAME. */
export const telemetryResource = (opts: TelemetryOptions): Record<string, string> => ({
  "service.name": opts.service,
  "service.version": opts.version,
  "service.instance.id": opts.instanceId,
  ...parseResourceAttributes(opts.resourceAttributes),
  ...(opts.serviceName === undefined || opts.serviceName === "" ? {} : { "service.name": opts.serviceName }),
});

/**
 * The sampler of a provider with nothing to export to: a recorded span would be work thrown
 * away (issue 18: about a tenth of the gateway's CPU on a read). Unsampled spans still get
 * trace and span ids, so ids keep flowing to logs, responses and commands; a trace the
 * caller sampled stays sampled, for the services downstream that export.
 */
export const UNEXPORTED_SAMPLER: Sampler = new ParentBasedSampler({ root: new AlwaysOffSampler() });

let registered: NodeTracerProvider | undefined;

/**
 * Installs the tracer provider and the W3C propagator. The propagator is installed even
 * when export is off: trace ids must still flow from HTTP through NATS so logs and other
 * systems can correlate. One provider per process (the OTel API is global).
 */
export const setupTelemetry = async (opts: TelemetryOptions): Promise<Telemetry> => {
  if (registered !== undefined) return { shutdown: async () => undefined };
  const resource = resourceFromAttributes(telemetryResource(opts));
  const exporter = await exporterFor(opts);
  // Another call may have registered while the exporter loaded.
  if (registered !== undefined) return { shutdown: async () => undefined };
  const spanProcessors = [
    ...(exporter === undefined ? [] : [new BatchSpanProcessor(exporter)]),
    ...(opts.processors ?? []),
  ];
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors,
    ...(spanProcessors.length === 0 ? { sampler: UNEXPORTED_SAMPLER } : {}),
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
