import { createLogger } from "@sdn/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "../test/harness.js";

let h: Harness;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  h = await startHarness({ commandWaitMs: 300, logger: createLogger("api-gateway", "info", destination) });
});

afterAll(async () => {
  await h?.close();
});

/** The lines a call wrote (the harness logs nothing else while it runs). */
const logged = async (call: () => Promise<unknown>) => {
  const from = lines.length;
  await call();
  return lines.slice(from);
};

describe("access log", () => {
  it("writes one info line per request with method, route template, status, duration, account and trace id", async () => {
    const { accountId, token } = await h.tenant();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const read = await logged(() =>
      h.app.inject({
        url: "/v1/networks/3b0c1d9e-0000-4000-8000-000000000001",
        headers: { ...bearer(token), traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      }),
    );
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({
      level: "info",
      msg: "request",
      method: "GET",
      route: "/v1/networks/:id",
      // No guru serves the read in this harness: the request tier says so at once.
      status: 503,
      account: accountId,
    });
    expect(read[0]?.["ms"]).toEqual(expect.any(Number));
    expect(read[0]?.["trace_id"]).toBe(traceId);
    expect(JSON.stringify(read)).not.toContain(token);
  });

  it("logs public and refused requests too, without an account, and nothing more", async () => {
    const health = await logged(() => h.app.inject({ url: "/healthz" }));
    expect(health).toEqual([expect.objectContaining({ msg: "request", route: "/healthz", status: 200 })]);
    expect(health[0]?.["account"]).toBeUndefined();
    const refused = await logged(() => h.app.inject({ url: "/v1/networks", headers: bearer("sdn_nope") }));
    expect(refused).toEqual([expect.objectContaining({ msg: "request", route: "/v1/networks", status: 401 })]);
    const unmatched = await logged(() => h.app.inject({ url: "/v1/nowhere/1" }));
    expect(unmatched).toEqual([expect.objectContaining({ route: "(unmatched)", status: 401 })]);
  });
});
