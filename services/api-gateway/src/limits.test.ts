import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startHarness, type Harness } from "../test/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ rateLimitPerMinute: 20, bodyLimitBytes: 2048, quotas: { tokens: 3 } });
});
afterAll(async () => {
  await h?.close();
});

/** Each test comes from its own address, so that address budgets do not mix between tests. */
let lastOctet = 10;
const newAddress = () => `192.0.2.${++lastOctet}`;

describe("request limits", () => {
  it("limits an account over all its tokens with 429 in the error model, without touching other accounts", async () => {
    const remoteAddress = newAddress();
    const a = await h.tenant();
    const b = await h.tenant();
    const second = await h.app.inject({
      method: "POST",
      url: `/v1/accounts/${a.accountId}/tokens`,
      headers: bearer(a.token),
      payload: {},
      remoteAddress,
    });
    expect(second.statusCode).toBe(201);
    const tokens = [a.token, second.json<{ token: string }>().token];
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const token = tokens[i % 2] as string;
      statuses.push(
        (await h.app.inject({ url: `/v1/accounts/${a.accountId}`, headers: bearer(token), remoteAddress })).statusCode,
      );
    }
    // 20 a minute for the account, whichever token; the first request of the second token
    // counted against the address, as the token was not known yet.
    expect(statuses.filter((s) => s === 200)).toHaveLength(21);
    const limited = await h.app.inject({ url: `/v1/accounts/${a.accountId}`, headers: bearer(a.token), remoteAddress });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: "RATE_LIMITED", details: { limit: "requestsPerMinute" } } });
    const other = await h.app.inject({ url: `/v1/accounts/${b.accountId}`, headers: bearer(b.token), remoteAddress });
    expect(other.statusCode).toBe(200);
  });

  it("limits a flood without a valid token by address, before authentication", async () => {
    const remoteAddress = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const headers = i % 2 === 0 ? {} : bearer(`sdn_guess_${i}`);
      statuses.push((await h.app.inject({ url: "/v1/networks", headers, remoteAddress })).statusCode);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Another address is not affected.
    expect((await h.app.inject({ url: "/v1/networks", remoteAddress: newAddress() })).statusCode).toBe(401);
  });

  it("refuses a body over the limit with 413 before parsing it", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { ...bearer(h.adminToken), "content-type": "application/json" },
      payload: JSON.stringify({ name: "x".repeat(5000) }),
      remoteAddress: newAddress(),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });
});

describe("token cap", () => {
  it("refuses a token past the account's cap with 409 naming the quota, and an admin can raise it", async () => {
    const remoteAddress = newAddress();
    const t = await h.tenant();
    const issue = () =>
      h.app.inject({
        method: "POST",
        url: `/v1/accounts/${t.accountId}/tokens`,
        headers: bearer(t.token),
        payload: {},
        remoteAddress,
      });
    // The initial token and two more make three, the cap.
    const issued = await Promise.all([issue(), issue(), issue(), issue()]);
    expect(issued.map((r) => r.statusCode).sort()).toEqual([201, 201, 409, 409]);
    const refused = issued.find((r) => r.statusCode === 409);
    expect(refused?.json()).toMatchObject({ error: { code: "CONFLICT", details: { limit: "tokens", max: 3 } } });
    expect(refused?.json<{ error: { message: string } }>().error.message).toContain("quota 'tokens' reached");

    const raise = await h.app.inject({
      method: "PUT",
      url: `/v1/accounts/${t.accountId}/quotas`,
      headers: bearer(h.adminToken),
      payload: { tokens: 4 },
      remoteAddress,
    });
    expect(raise.statusCode).toBe(200);
    expect(raise.json()).toMatchObject({ tokens: 4, networks: 50 });
    expect((await issue()).statusCode).toBe(201);
    expect((await issue()).statusCode).toBe(409);
  });

  it("lets a tenant read its quotas but only an admin set them", async () => {
    const remoteAddress = newAddress();
    const t = await h.tenant();
    const own = await h.app.inject({
      url: `/v1/accounts/${t.accountId}/quotas`,
      headers: bearer(t.token),
      remoteAddress,
    });
    expect(own.json()).toEqual({ networks: 50, nics: 500, publicIps: 20, tokens: 3, rules: 1000 });
    const set = await h.app.inject({
      method: "PUT",
      url: `/v1/accounts/${t.accountId}/quotas`,
      headers: bearer(t.token),
      payload: { networks: 1000 },
      remoteAddress,
    });
    expect(set.statusCode).toBe(403);
  });
});
