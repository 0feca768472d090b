import { Parser } from "@asyncapi/parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import { AGENT_TIER_COMMANDS, ALL_COMMANDS, ALL_EVENTS } from "@sdn/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAsyncApi } from "./asyncapi.js";
import { startHarness, type Harness } from "../test/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("API documents", () => {
  it("serves an OpenAPI 3.1 document that a validator accepts, covering every route", async () => {
    const doc = (await h.app.inject({ url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(doc.openapi).toBe("3.1.0");
    // Built at that first request (idle memory): the OpenAPI plugin was never registered in the gateway.
    expect(h.app.hasDecorator("swagger")).toBe(false);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const documented = Object.keys(doc.paths);
    const routes = h.app
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .map((l) => /(\/v1\/[^\s(]*)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/:([A-Za-z]+)/g, "{$1}"));
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) expect(documented, r).toContain(r);
  });

  it("names every operation with a unique camelCase operationId", async () => {
    const doc = (await h.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, { operationId?: string }>>;
    }>();
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, id: op.operationId })),
    );
    expect(operations.length).toBeGreaterThan(50);
    expect(operations.filter((o) => o.id === undefined).map((o) => o.at)).toEqual([]);
    for (const o of operations) expect(o.id, o.at).toMatch(/^[a-z]+[A-Z][A-Za-z0-9]*$/);
    const seen = new Map<string, string>();
    const duplicates = operations.filter((o) => seen.has(o.id ?? "") || (seen.set(o.id ?? "", o.at), false));
    expect(duplicates.map((d) => `${d.id}: ${d.at} and ${seen.get(d.id ?? "")}`)).toEqual([]);
  });

  it("documents the event stream as text/event-stream and its errors as JSON", async () => {
    const doc = (await h.app.inject({ url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, unknown> }> }>>;
    }>();
    const responses = doc.paths["/v1/events"]?.["get"]?.responses ?? {};
    expect(Object.keys(responses["200"]?.content ?? {})).toEqual(["text/event-stream"]);
    for (const status of ["401", "429", "503"]) {
      expect(Object.keys(responses[status]?.content ?? {}), status).toEqual(["application/json"]);
    }
    const unauthenticated = await h.app.inject({ url: "/v1/events" });
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("serves an AsyncAPI 3 document that the AsyncAPI parser accepts, naming every command and event", async () => {
    const doc = (await h.app.inject({ url: "/asyncapi.json" })).json<{
      channels: Record<string, { address: string | null }>;
    }>();
    const { diagnostics } = await new Parser().parse(doc as never);
    // Severity 0 is "error" in the parser's diagnostics.
    const errors = diagnostics.filter((d) => Number(d.severity) === 0);
    expect(errors.map((e) => `${e.path.join(".")}: ${e.message}`)).toEqual([]);
    const addresses = Object.values(doc.channels).map((c) => c.address);
    for (const c of ALL_COMMANDS.filter((c) => c.delivery === "durable")) {
      expect(addresses).toContain(`sdn.cmd.${c.service}.{origin}.${c.name}`);
    }
    for (const c of ALL_COMMANDS.filter((c) => c.delivery === "request" && !AGENT_TIER_COMMANDS.includes(c))) {
      expect(addresses).toContain(`sdn.req.${c.service}.{origin}.${c.name}`);
    }
    for (const c of AGENT_TIER_COMMANDS) expect(addresses).toContain(`sdn.agent.{hostId}.${c.name}`);
    expect(addresses).toContain("sdn.req.network-guru.{origin}.GetNetwork");
    for (const e of ALL_EVENTS) expect(addresses).toContain(`sdn.evt.{account}.${e.service}.${e.name}`);
  });

  it("names every AsyncAPI payload (no AnonymousSchema for generators) and fills in the servers", async () => {
    const raw = (await h.app.inject({ url: "/asyncapi.json" })).json<Record<string, unknown>>();
    const { document } = await new Parser().parse(raw as never);
    const payloads = (document?.allMessages().all() ?? []).map((m) => m.payload());
    expect(payloads.length).toBe(ALL_COMMANDS.length * 2 + ALL_EVENTS.length);
    const ids = payloads.map((p) => p?.id());
    expect(ids.filter((i) => i === undefined || i.includes("anonymous"))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of payloads) expect(p?.title()).toBe(p?.id());
    expect(raw["servers"]).toEqual({
      nats: {
        host: "127.0.0.1:4222",
        protocol: "nats",
        security: [{ $ref: "#/components/securitySchemes/natsCredentials" }],
      },
    });
    expect(buildAsyncApi("1", "nats://svc:s3cret@nats-a:4223, tls://nats-b")["servers"]).toEqual({
      nats: {
        host: "nats-a:4223",
        protocol: "nats",
        security: [{ $ref: "#/components/securitySchemes/natsCredentials" }],
      },
      nats2: {
        host: "nats-b:4222",
        protocol: "tls",
        security: [{ $ref: "#/components/securitySchemes/natsCredentials" }],
      },
    });
    const openapi = (await h.app.inject({ url: "/openapi.json" })).json<{ servers: { url: string }[] }>();
    expect(openapi.servers.map((s) => s.url)).toEqual(["/"]);
  });

  it("serves the Swagger UI built at the first visit, with its files, the document and the error model", async () => {
    // Nothing of the UI is registered at start (idle memory): its routes live in their own instance.
    expect(h.app.printRoutes({ commonPrefix: false })).not.toContain("swagger-initializer.js");
    const page = await h.app.inject({ url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("swagger");
    const script = await h.app.inject({ url: "/docs/static/swagger-initializer.js" });
    expect(script.statusCode).toBe(200);
    expect(Number(script.headers["content-length"])).toBe(script.rawPayload.length);
    const doc = (await h.app.inject({ url: "/docs/json" })).json<{ openapi: string }>();
    expect(doc.openapi).toBe("3.1.0");
    const missing = await h.app.inject({ url: "/docs/nowhere" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: "NOT_FOUND", message: "no route GET /docs/nowhere" } });
  });
});
