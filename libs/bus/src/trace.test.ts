import { context, propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterEach, describe, expect, it } from "vitest";
import { injectTrace, withConsumerSpan, withProducerSpan } from "./trace.js";

const spans = new InMemorySpanExporter();

const useProvider = (sampler: Sampler) =>
  new NodeTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(spans)] }).register({
    propagator: new W3CTraceContextPropagator(),
  });

afterEach(() => {
  spans.reset();
  trace.disable();
  context.disable();
  propagation.disable();
});

/** A send and the process of what it sent, as a caller and a service do. */
const sendAndProcess = async (subject: string, attributesBuilt: string[]) =>
  withProducerSpan(
    subject,
    () => (attributesBuilt.push("send"), { "messaging.message.id": "c-1" }),
    async () => {
      const headers = injectTrace();
      await withConsumerSpan(
        subject,
        headers,
        () => (attributesBuilt.push("process"), { "messaging.consumer.group.name": "g" }),
        async () => undefined,
      );
      return headers.get("traceparent");
    },
  );

describe("bus spans", () => {
  it("name recorded spans after the messaging conventions, with their attributes, the process a child of the send", async () => {
    useProvider(new AlwaysOnSampler());
    const built: string[] = [];
    await sendAndProcess("sdn.req.network-guru.acct.a-1.GetNetwork", built);
    const [processed, sent] = spans.getFinishedSpans();
    expect(sent?.name).toBe("send sdn.req.network-guru.acct.{accountId}.GetNetwork");
    expect(sent?.attributes).toEqual({
      "messaging.system": "nats",
      "messaging.operation.name": "send",
      "messaging.operation.type": "send",
      "messaging.destination.name": "sdn.req.network-guru.acct.a-1.GetNetwork",
      "messaging.destination.template": "sdn.req.network-guru.acct.{accountId}.GetNetwork",
      "messaging.message.id": "c-1",
    });
    expect(processed?.name).toBe("process sdn.req.network-guru.acct.{accountId}.GetNetwork");
    expect(processed?.attributes).toMatchObject({
      "messaging.operation.name": "process",
      "messaging.consumer.group.name": "g",
    });
    expect(processed?.parentSpanContext?.spanId).toBe(sent?.spanContext().spanId);
    expect(built).toEqual(["send", "process"]);
  });

  it("build no attributes for unsampled spans, which still carry the trace on", async () => {
    useProvider(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    const built: string[] = [];
    const traceparent = await sendAndProcess("sdn.req.network-guru.api-gateway.GetNetwork", built);
    expect(spans.getFinishedSpans()).toEqual([]);
    expect(built).toEqual([]);
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
