import { ROOT_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { parseResourceAttributes, setupTelemetry, telemetryResource, UNEXPORTED_SAMPLER } from "./telemetry.js";

const base = { service: "network-guru", version: "1.2.3", instanceId: "network-guru-abcd", exporter: "none" as const };

describe("telemetry resource", () => {
  it("parses OTEL_RESOURCE_ATTRIBUTES, percent-decoding values", () => {
    expect(parseResourceAttributes("deployment.environment.name=prod, team=net%20ops,,")).toEqual({
      "deployment.environment.name": "prod",
      team: "net ops",
    });
    expect(parseResourceAttributes(undefined)).toEqual({});
    expect(() => parseResourceAttributes("novalue")).toThrow(ConfigError);
    expect(() => parseResourceAttributes("k=%E0%A4%A")).toThrow(/OTEL_RESOURCE_ATTRIBUTES/);
  });

  it("lets OTEL_SERVICE_NAME win over service.name given in the attributes and over the default", () => {
    expect(
      telemetryResource({
        ...base,
        otlpEndpoint: "",
        resourceAttributes: "service.name=from-attrs,region=eu",
        serviceName: "sdn-guru",
      }),
    ).toEqual({
      "service.name": "sdn-guru",
      "service.version": "1.2.3",
      "service.instance.id": "network-guru-abcd",
      region: "eu",
    });
  });

  it("puts the resource on every exported span", async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = await setupTelemetry({
      ...base,
      otlpEndpoint: "",
      resourceAttributes: "deployment.environment.name=lab",
      processors: [new SimpleSpanProcessor(exporter)],
    });
    try {
      trace.getTracer("t").startSpan("x").end();
      const [span] = exporter.getFinishedSpans();
      expect(span?.resource.attributes).toMatchObject({
        "service.name": "network-guru",
        "service.instance.id": "network-guru-abcd",
        "deployment.environment.name": "lab",
      });
    } finally {
      await telemetry.shutdown();
    }
  });
});

describe("sampling with export off", () => {
  const sample = (parent: Context) =>
    UNEXPORTED_SAMPLER.shouldSample(parent, "4bf92f3577b34da6a3ce929d0e0e4736", "span", SpanKind.SERVER, {}, [])
      .decision;

  it("records no span of its own, but keeps a caller's sampled trace sampled", () => {
    expect(sample(ROOT_CONTEXT)).toBe(SamplingDecision.NOT_RECORD);
    const parent = (traceFlags: TraceFlags) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        traceFlags,
        isRemote: true,
      });
    expect(sample(parent(TraceFlags.SAMPLED))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(sample(parent(TraceFlags.NONE))).toBe(SamplingDecision.NOT_RECORD);
  });
});
