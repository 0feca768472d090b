import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "./test-support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ rateLimitPerMinute: 20, bodyLimitBytes: 2048 });
});
afterAll(async () => {
  await h?.close();
});

describe("limits", () => {
  it("limits requests per token with 429 in the error model, without touching other tokens", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await h.app.inject({ url: `/v1/accounts/${a.accountId}`, headers: bearer(a.token) })).statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    const limited = await h.app.inject({ url: `/v1/accounts/${a.accountId}`, headers: bearer(a.token) });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect((await h.app.inject({ url: `/v1/accounts/${b.accountId}`, headers: bearer(b.token) })).statusCode).toBe(200);
  });

  it("refuses a body over the limit with 413 before parsing it", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { ...bearer(h.adminToken), "content-type": "application/json" },
      payload: JSON.stringify({ name: "x".repeat(5000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });
});
