import { createLogger, setupTelemetry, type Telemetry } from "@sdn/runtime";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "../test/harness.js";

let h: Harness;
let telemetry: Telemetry;
const lines: string[] = [];
/** An account id no account store would hold: quotes, a newline, a would-be field. */
const HOSTILE_ACCOUNT = 'a"},"level":"fatal","x":"\n{"y":"\u2028\\';

beforeAll(async () => {
  // As a running gateway (startService): spans with ids, not recorded (export off).
  telemetry = await setupTelemetry({
    service: "api-gateway",
    version: "0",
    instanceId: "api-gateway-test",
    exporter: "none",
    otlpEndpoint: "",
  });
  const destination = { write: (text: string) => void lines.push(text) };
  h = await startHarness({ commandWaitMs: 300, logger: createLogger("api-gateway", "info", destination) });
  h.app.get("/test/hostile-account", { config: { public: true } }, async (req) => {
    req.principal = { accountId: HOSTILE_ACCOUNT, role: "tenant", tokenId: "t" };
    return { ok: true };
  });
});

afterAll(async () => {
  await h?.close();
  await telemetry?.shutdown();
});

/**
 * The lines a call wrote (the harness logs nothing else while it runs). An access line is
 * written at the end of its turn of the event loop: an earlier call's is waited for first.
 */
const logged = async (call: () => Promise<unknown>) => {
  await nextTurn();
  const from = lines.length;
  await call();
  await nextTurn();
  return lines
    .slice(from)
    .join("")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe("access log", () => {
  it("writes one info line per request with method, route template, status, duration, account and trace id", async () => {
    const { accountId, token } = await h.tenant();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const read = await logged(() =>
      h.app.inject({
        url: "/v1/networks/3b0c1d9e-0000-4000-8000-000000000001",
        headers: { ...bearer(token), traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "req-1" },
      }),
    );
    expect(read).toHaveLength(1);
    expect(read[0]).toEqual({
      level: "info",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: "api-gateway",
      pid: process.pid,
      name: "api-gateway",
      reqId: "req-1",
      trace_id: traceId,
      // The request span's, a child of the caller's; sampled as the caller's is.
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      trace_flags: "01",
      msg: "request",
      method: "GET",
      route: "/v1/networks/:id",
      // No guru serves the read in this harness: the request tier says so at once.
      status: 503,
      ms: expect.any(Number),
      account: accountId,
    });
    expect(read[0]?.["span_id"]).not.toBe("00f067aa0ba902b7");
    expect(JSON.stringify(read)).not.toContain(token);
  });

  it("carries the request span's trace id when the caller sent none: the one its response names", async () => {
    const res = await h.app.inject({ url: "/healthz" });
    await nextTurn();
    const traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(res.headers["traceparent"]));
    const line = JSON.parse(lines.at(-1) ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ route: "/healthz", trace_id: traceparent?.[1], span_id: traceparent?.[2] });
  });

  it("logs public and refused requests too, without an account, and nothing more", async () => {
    const health = await logged(() => h.app.inject({ url: "/healthz" }));
    expect(health).toEqual([expect.objectContaining({ msg: "request", route: "/healthz", status: 200 })]);
    expect(health[0]).not.toHaveProperty("account");
    const refused = await logged(() => h.app.inject({ url: "/v1/networks", headers: bearer("sdn_nope") }));
    expect(refused).toEqual([expect.objectContaining({ msg: "request", route: "/v1/networks", status: 401 })]);
    const unmatched = await logged(() => h.app.inject({ url: "/v1/nowhere/1" }));
    expect(unmatched).toEqual([expect.objectContaining({ route: "(unmatched)", status: 401 })]);
  });

  it("keeps a hostile value inside its own field: one line, no field added or replaced", async () => {
    const before = lines.join("").split("\n").length;
    const [line, ...more] = await logged(() => h.app.inject({ url: "/test/hostile-account" }));
    expect(more).toEqual([]);
    expect(lines.join("").split("\n").length).toBe(before + 1);
    expect(line).toMatchObject({ level: "info", account: HOSTILE_ACCOUNT, status: 200, msg: "request" });
    expect(Object.keys(line ?? {})).not.toContain("x");
  });

  it("writes nothing when info is off", async () => {
    h.app.log.level = "warn";
    try {
      expect(await logged(() => h.app.inject({ url: "/healthz" }))).toEqual([]);
    } finally {
      h.app.log.level = "info";
    }
  });
});
