import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { freePort, parsePrometheus, TestNatsServer, waitFor } from "@sdn/testkit";
import { ServiceStack } from "@sdn/testkit/stack";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Registered before any service starts, so the runtime's own set-up leaves it in place.
const spans = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register({
  propagator: new W3CTraceContextPropagator(),
});

let nats: TestNatsServer;
let nc: NatsConnection;
let baseUrl: string;
let guruMetrics: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
const stack = new ServiceStack(() => ({ NATS_URL: nats.url }));

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(await res.text());
};

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  await stack.start(apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: adminToken });
  const guru = await stack.start(networkGuruSpec, { SDN_METRICS_PORT: "0" });
  guruMetrics = `${guru.metricsUrl ?? "(no listener)"}/metrics`;
});

afterAll(async () => {
  await stack.stop();
  await nc?.close();
  await nats?.dispose();
});

describe("metrics", () => {
  it("counts commands by name and outcome with their latency, and reads the consumer's lag", async () => {
    const created = await fetch(`${baseUrl}/v1/networks`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: `m-${randomUUID().slice(0, 6)}`, cidr: "10.77.0.0/24" }),
    });
    expect(created.status).toBe(201);
    const missing = await fetch(`${baseUrl}/v1/networks/${randomUUID()}`, { headers: admin });
    expect(missing.status).toBe(404);

    const s = await scrape(guruMetrics);
    expect(s.value("sdn_commands_total", { command: "CreateNetwork", outcome: "ok" })).toBe(1);
    expect(s.value("sdn_commands_total", { command: "GetNetwork", outcome: "NOT_FOUND" })).toBe(1);
    expect(s.value("sdn_command_duration_seconds_count", { command: "CreateNetwork", outcome: "ok" })).toBe(1);
    expect(s.value("sdn_command_duration_seconds_sum", { command: "CreateNetwork", outcome: "ok" })).toBeGreaterThan(0);
    expect(s.value("sdn_consumer_pending_messages", { stream: "SDN_COMMANDS", consumer: "cmd-network-guru" })).toBe(0);
    expect(s.value("sdn_consumer_ack_pending_messages", { consumer: "cmd-network-guru" })).toBe(0);
    expect(s.find("sdn_service_info", { service: "network-guru" })).toHaveLength(1);
    expect(s.find("sdn_metrics_collector_failures_total")).toEqual([]);
  });

  it("serves the gateway's /metrics to an admin token only", async () => {
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(401);
    const account = await fetch(`${baseUrl}/v1/accounts`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: `t-${randomUUID().slice(0, 6)}` }),
    });
    const { token } = ((await account.json()) as { token: { token: string } }).token;
    expect((await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
    const s = await scrape(`${baseUrl}/metrics`, { authorization: `Bearer ${adminToken}` });
    expect(s.value("sdn_http_requests_total", { method: "POST", route: "/v1/networks", status: "201" })).toBe(1);
    expect(s.value("sdn_http_request_duration_seconds_count", { method: "POST", route: "/v1/networks" })).toBe(1);
    expect(s.value("sdn_http_requests_total", { route: "/metrics", status: "403" })).toBe(1);
  });

  it("shows per-command figures in $SRV.STATS", async () => {
    const stats = new Svcm(nc).client().stats("network-guru");
    const found: unknown[] = [];
    for await (const s of await stats) found.push(s);
    expect(found).toHaveLength(1);
    const [reply] = found as { endpoints: { name: string; data: { commands: Record<string, unknown> } }[] }[];
    expect(reply?.endpoints[0]?.data.commands["CreateNetwork"]).toMatchObject({ num_requests: 1, num_errors: 0 });
    expect(reply?.endpoints[0]?.data.commands["GetNetwork"]).toMatchObject({ num_requests: 1, num_errors: 1 });
  });
});

describe("request ids and traces on HTTP", () => {
  it("echoes a sane x-request-id, makes one otherwise, and returns the request's traceparent", async () => {
    const echoed = await fetch(`${baseUrl}/healthz`, { headers: { "x-request-id": "req-42.a" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-42.a");
    const made = await fetch(`${baseUrl}/healthz`, { headers: { "x-request-id": "no spaces <allowed>" } });
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const traceId = randomBytes(16).toString("hex");
    const traced = await fetch(`${baseUrl}/v1/networks/${randomUUID()}`, {
      headers: { ...admin, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
    });
    expect(traced.status).toBe(404);
    expect(traced.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(traced.headers.get("x-request-id")).not.toBeNull();
  });

  it("names spans after the OTel conventions: HTTP route and messaging operation with destination", async () => {
    const names = await waitFor("the spans of the create", () => {
      const all = new Set(spans.getFinishedSpans().map((s) => s.name));
      return all.has("process sdn.cmd.network-guru.api-gateway.CreateNetwork") ? all : undefined;
    });
    expect(names).toContain("POST /v1/networks");
    expect(names).toContain("GET /v1/networks/:id");
    expect(names).toContain("send sdn.cmd.network-guru.api-gateway.CreateNetwork");
    const processed = spans
      .getFinishedSpans()
      .find((s) => s.name === "process sdn.cmd.network-guru.api-gateway.CreateNetwork");
    expect(processed?.attributes).toMatchObject({
      "messaging.system": "nats",
      "messaging.operation.name": "process",
      "messaging.destination.name": "sdn.cmd.network-guru.api-gateway.CreateNetwork",
      "messaging.consumer.group.name": "cmd-network-guru",
    });
  });
});
