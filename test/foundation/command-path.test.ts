import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { apiGatewaySpec } from "@sdn/api-gateway";
import { CommandClient, GATEWAY_ORIGIN } from "@sdn/bus";
import { CheckHealth, HEADERS, answerSubject, commandSubject } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { freePort, TestNatsServer, waitFor } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { vrManagerSpec } from "@sdn/vr-manager";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Registered before any service starts, so the runtime's own set-up leaves it in place.
const spans = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register({
  propagator: new W3CTraceContextPropagator(),
});

let nats: TestNatsServer;
let nc: NatsConnection;
let baseUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const admin = { authorization: `Bearer ${adminToken}` };
// Each service with its own generated credentials, as `npm start` runs it.
const stack = new ServiceStack((name) => nats.serviceEnv(name));

beforeAll(async () => {
  nats = await TestNatsServer.startSecured();
  // The test publishes raw commands as the gateway would.
  nc = await nats.connectAs("api-gateway");
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, {
    SDN_HTTP_PORT: String(port),
    SDN_READY_TIMEOUT_MS: "300",
    SDN_ADMIN_TOKEN: adminToken,
  });
  await stack.start(networkGuruSpec);
});

afterAll(async () => {
  await stack.stop();
  await nc?.close();
  await nats?.dispose();
});

describe("the command path from HTTP to a service and back", () => {
  it("turns an HTTP call into a durable command answered by the service, in the caller's trace", async () => {
    const traceId = randomBytes(16).toString("hex");
    const res = await fetch(`${baseUrl}/v1/services/network-guru/health-checks`, {
      method: "POST",
      headers: { ...admin, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ service: "network-guru", version: "0.1.0" });
    const processed = await waitFor("the guru's span", () =>
      spans.getFinishedSpans().find((s) => s.name === "process sdn.cmd.network-guru.api-gateway.CheckHealth"),
    );
    expect(processed.spanContext().traceId).toBe(traceId);
  });

  it("answers a malformed command published straight on the bus, and the service stays up", async () => {
    const h = natsHeaders();
    h.set(HEADERS.commandId, "raw-1");
    const answer = nc.subscribe(answerSubject("network-guru", "raw-1", undefined), { max: 1 });
    nc.publish(commandSubject("network-guru", "CheckHealth", GATEWAY_ORIGIN), JSON.stringify({ surprise: 1 }), {
      headers: h,
    });
    for await (const m of answer) {
      expect(m.json()).toMatchObject({
        commandId: "raw-1",
        ok: false,
        error: { code: "INVALID_COMMAND", message: "CheckHealth is invalid: /: unknown property 'surprise'" },
      });
    }
    const res = await fetch(`${baseUrl}/v1/services/network-guru/health-checks`, { method: "POST", headers: admin });
    expect(res.status).toBe(200);
  });

  it("processes a duplicate command id once", async () => {
    const client = new CommandClient(nc);
    const first = await client.send(CheckHealth["network-guru"], {}, { commandId: "dup-42" });
    await new Promise((r) => setTimeout(r, 50));
    const second = await client.send(CheckHealth["network-guru"], {}, { commandId: "dup-42" });
    // The uptime is taken when the handler runs: equal answers mean one run.
    expect(second).toEqual(first);
  });

  it("answers a command sent while its service is down once the service starts", async () => {
    const client = new CommandClient(nc);
    const { commandId } = await client.publish(CheckHealth["ovs-element"], {});
    const waiting = client.awaitAnswer(CheckHealth["ovs-element"], commandId, 20_000, undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(await client.findAnswer(CheckHealth["ovs-element"], commandId, undefined)).toBeUndefined();
    await stack.start(ovsElementSpec);
    expect(await waiting.answer).toMatchObject({ ok: true, commandId, data: { service: "ovs-element" } });
  });

  it("reports not ready, naming the silent services, until every service answers", async () => {
    const notReady = await fetch(`${baseUrl}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { services: Record<string, { ok: boolean }> };
    expect(body.services["vr-manager"]?.ok).toBe(false);
    expect(body.services["network-guru"]?.ok).toBe(true);
    await stack.start(vrManagerSpec);
    await stack.start(hypervisorAgentSpec);
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, nats: { ok: true } });
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
  });

  it("serves an OpenAPI 3.1 document and the interactive docs", async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/healthz", "/readyz", "/v1/services/network-guru/health-checks"]),
    );
    const docs = await fetch(`${baseUrl}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("swagger");
  });

  it("answers an unknown route in the error model", async () => {
    const missing = await fetch(`${baseUrl}/v1/services/mainframe/health-checks`, { method: "POST", headers: admin });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no route POST /v1/services/mainframe/health-checks" },
    });
  });

  it("ran every service within its generated permissions (the server logged no violation)", () => {
    expect(nats.log).not.toMatch(/Violation/);
  });
});
