import { Kvm } from "@nats-io/kv";
import { createLogger } from "@sdn/runtime";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayAuditWriter } from "./audit/audit-writer.js";
import { bootstrapAdminToken } from "./auth/admin-bootstrap.js";
import { TokenStore } from "./auth/token-store.js";
import { bearer, startHarness, type Harness } from "../test/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
const audit = () => new GatewayAuditWriter(h.nc, createLogger("api-gateway", "silent"));

/** Every documented route except the public ones, with its path parameters filled in. */
const protectedRoutes = async () => {
  const doc = (await h.app.inject({ url: "/openapi.json" })).json<{ paths: Record<string, Record<string, unknown>> }>();
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter(() => path.startsWith("/v1/"))
      .map((method) => ({ method: method.toUpperCase() as "GET", url: path.replace(/\{[^}]+\}/g, "x-1") })),
  );
};

describe("authentication", () => {
  it("refuses every /v1 route without a token, or with a malformed or unknown one, with a reason", async () => {
    const routes = await protectedRoutes();
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) {
      for (const [headers, reason] of [
        [{}, "needs an 'Authorization: Bearer <token>' header"],
        [{ authorization: "Basic abc" }, "must be 'Bearer <token>'"],
        [bearer("sdn_not-a-real-token"), "not valid: unknown or revoked"],
      ] as const) {
        const res = await h.app.inject({
          method: r.method,
          url: r.url,
          headers,
          payload: r.method === "GET" ? undefined : {},
        });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: "UNAUTHORIZED" } });
        expect(res.json<{ error: { message: string } }>().error.message).toContain(reason);
      }
    }
  });

  it("lets health, readiness and docs through without a token", async () => {
    for (const url of ["/healthz", "/openapi.json", "/asyncapi.json", "/docs/"]) {
      expect((await h.app.inject({ url })).statusCode, url).toBe(200);
    }
    expect((await h.app.inject({ url: "/readyz" })).statusCode).toBe(503);
  });

  it("refuses admin routes to tenants with 403", async () => {
    const t = await h.tenant();
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: bearer(t.token),
      payload: { name: "x" },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
  });
});

describe("accounts and tokens", () => {
  it("creates an account with a token shown once, stored only as a hash", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: bearer(h.adminToken),
      payload: { name: "acme" },
    });
    expect(res.statusCode).toBe(201);
    const { account, token } = res.json<{
      account: { id: string; name: string };
      token: { id: string; token: string };
    }>();
    expect(account.name).toBe("acme");
    expect(token.token).toMatch(/^sdn_[A-Za-z0-9_-]{43}$/);
    const own = await h.app.inject({ url: `/v1/accounts/${account.id}`, headers: bearer(token.token) });
    expect(own.json()).toEqual(account);
    const listed = await h.app.inject({ url: `/v1/accounts/${account.id}/tokens`, headers: bearer(token.token) });
    expect(listed.body).not.toContain(token.token);
    const kv = await new Kvm(h.nc).open("gw_tokens");
    for await (const k of await kv.keys()) {
      expect((await kv.get(k))?.string()).not.toContain(token.token);
    }
  });

  it("hides other tenants' accounts and tokens behind 404", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    for (const [method, url] of [
      ["GET", `/v1/accounts/${b.accountId}`],
      ["GET", `/v1/accounts/${b.accountId}/tokens`],
      ["POST", `/v1/accounts/${b.accountId}/tokens`],
    ] as const) {
      const res = await h.app.inject({
        method,
        url,
        headers: bearer(a.token),
        payload: method === "POST" ? {} : undefined,
      });
      expect(res.statusCode, url).toBe(404);
    }
    const bTokens = await h.app.inject({ url: `/v1/accounts/${b.accountId}/tokens`, headers: bearer(b.token) });
    const tokenId = bTokens.json<{ items: { id: string }[] }>().items[0]?.id as string;
    expect(
      (await h.app.inject({ method: "DELETE", url: `/v1/tokens/${tokenId}`, headers: bearer(a.token) })).statusCode,
    ).toBe(404);
  });

  it("rotates: a new token works, the revoked one stops working at once", async () => {
    const t = await h.tenant();
    const issued = await h.app.inject({
      method: "POST",
      url: `/v1/accounts/${t.accountId}/tokens`,
      headers: bearer(t.token),
      payload: { name: "rotated" },
    });
    expect(issued.statusCode).toBe(201);
    const fresh = issued.json<{ token: string }>().token;
    const list = await h.app.inject({ url: `/v1/accounts/${t.accountId}/tokens`, headers: bearer(fresh) });
    const old = list.json<{ items: { id: string; name?: string }[] }>().items.find((i) => i.name === "initial");
    const revoke = await h.app.inject({ method: "DELETE", url: `/v1/tokens/${old?.id}`, headers: bearer(fresh) });
    expect(revoke.statusCode).toBe(204);
    expect((await h.app.inject({ url: `/v1/accounts/${t.accountId}`, headers: bearer(t.token) })).statusCode).toBe(401);
    expect((await h.app.inject({ url: `/v1/accounts/${t.accountId}`, headers: bearer(fresh) })).statusCode).toBe(200);
  });

  it("names every failing field of a bad body and refuses unknown fields and coercion", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: bearer(h.adminToken),
      payload: { name: 42, extra: true },
    });
    expect(res.statusCode).toBe(400);
    const issues = res.json<{ error: { details: { issues: { path: string; message: string }[] } } }>().error.details
      .issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: "body", message: "unknown property 'extra'" },
        { path: "body/name", message: "must be string" },
      ]),
    );
  });
});

describe("token expiry", () => {
  it("bounds lifetimes by the operator's maximum, which is also the default, and stops counting expired tokens", async () => {
    const g = await startHarness({ tokenMaxLifetimeSeconds: 3600, quotas: { tokens: 2 } });
    try {
      const t = await g.tenant();
      const url = `/v1/accounts/${t.accountId}/tokens`;
      const issue = (payload: object) => g.app.inject({ method: "POST", url, headers: bearer(t.token), payload });
      const tooLong = await issue({ expiresInSeconds: 7200 });
      expect(tooLong.statusCode).toBe(400);
      expect(tooLong.json()).toMatchObject({ error: { details: { issues: [{ path: "/expiresInSeconds" }] } } });
      const listed = await g.app.inject({ url, headers: bearer(t.token) });
      const initial = listed.json<{ items: { expiresAt: string }[] }>().items[0];
      expect(Date.parse(initial?.expiresAt ?? "") - Date.now()).toBeGreaterThan(3590_000);
      const short = await issue({ expiresInSeconds: 1 });
      expect(short.statusCode).toBe(201);
      // At the cap of 2 now; once the short one has expired, another may be issued.
      expect((await issue({})).statusCode).toBe(409);
      await new Promise((r) => setTimeout(r, 1100));
      const expired = await g.app.inject({ url: "/v1/events", headers: bearer(short.json<{ token: string }>().token) });
      expect(expired.statusCode).toBe(401);
      expect((await issue({})).statusCode).toBe(201);
    } finally {
      await g.close();
    }
  });
});

describe("admin token bootstrap", () => {
  it("generates a token into <dataDir>/admin-token with mode 0600 and logs only the path", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sdn-gw-"));
    try {
      const lines: string[] = [];
      const logger = createLogger("api-gateway", "info", { write: (s: string) => lines.push(s) });
      const tokens = await TokenStore.open(h.nc);
      await bootstrapAdminToken(tokens, { envToken: undefined, dataDir, logger, audit: audit() });
      const path = join(dataDir, "admin-token");
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const token = readFileSync(path, "utf8").trim();
      expect((await tokens.verify(token))?.role).toBe("admin");
      expect(lines.join("")).toContain(path);
      expect(lines.join("")).not.toContain(token);
      // A second start keeps the same token.
      await bootstrapAdminToken(tokens, { envToken: undefined, dataDir, logger, audit: audit() });
      expect(readFileSync(path, "utf8").trim()).toBe(token);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await bootstrapAdminToken(await TokenStore.open(h.nc), {
        envToken: h.adminToken,
        dataDir: h.nats.storeDir,
        logger: createLogger("api-gateway", "silent"),
        audit: audit(),
      });
    }
  });

  it("retires the generated token when SDN_ADMIN_TOKEN is set, and the variable's token when it is unset", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sdn-gw-"));
    const logger = createLogger("api-gateway", "silent");
    const tokens = await TokenStore.open(h.nc);
    try {
      await bootstrapAdminToken(tokens, { envToken: undefined, dataDir, logger, audit: audit() });
      const path = join(dataDir, "admin-token");
      const generated = readFileSync(path, "utf8").trim();
      expect((await tokens.verify(generated))?.role).toBe("admin");
      await bootstrapAdminToken(tokens, { envToken: h.adminToken, dataDir, logger, audit: audit() });
      expect(await tokens.verify(generated)).toBeUndefined();
      expect(existsSync(path)).toBe(false);
      const res = await h.app.inject({ url: "/v1/accounts", headers: bearer(generated) });
      expect(res.statusCode).toBe(401);
      // Unset again: a new generated token, and the variable's token no longer works.
      await bootstrapAdminToken(tokens, { envToken: undefined, dataDir, logger, audit: audit() });
      expect(await tokens.verify(h.adminToken)).toBeUndefined();
      expect((await tokens.verify(readFileSync(path, "utf8").trim()))?.role).toBe("admin");
    } finally {
      await bootstrapAdminToken(tokens, { envToken: h.adminToken, dataDir, logger, audit: audit() });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("lists the bootstrap admin tokens to admins and lets an admin revoke one", async () => {
    const logger = createLogger("api-gateway", "silent");
    const tokens = await TokenStore.open(h.nc);
    const listed = await h.app.inject({ url: "/v1/accounts/admin/tokens", headers: bearer(h.adminToken) });
    expect(listed.statusCode).toBe(200);
    const items = listed.json<{ items: { id: string; name?: string; role: string }[] }>().items;
    expect(items).toEqual([expect.objectContaining({ id: "bootstrap-env", name: "bootstrap", role: "admin" })]);
    expect(listed.body).not.toContain(h.adminToken);
    const t = await h.tenant();
    expect((await h.app.inject({ url: "/v1/accounts/admin/tokens", headers: bearer(t.token) })).statusCode).toBe(404);

    const revoked = await h.app.inject({
      method: "DELETE",
      url: "/v1/tokens/bootstrap-env",
      headers: bearer(h.adminToken),
    });
    expect(revoked.statusCode).toBe(204);
    expect((await h.app.inject({ url: "/v1/accounts", headers: bearer(h.adminToken) })).statusCode).toBe(401);
    await bootstrapAdminToken(tokens, { envToken: h.adminToken, dataDir: h.nats.storeDir, logger, audit: audit() });
    expect((await h.app.inject({ url: "/v1/accounts", headers: bearer(h.adminToken) })).statusCode).toBe(200);
  });

  it("retires the previous SDN_ADMIN_TOKEN when it changes", async () => {
    const tokens = await TokenStore.open(h.nc);
    const logger = createLogger("api-gateway", "silent");
    const first = `sdn_env_first_${Date.now()}_abcdefghij`;
    const second = `sdn_env_second_${Date.now()}_abcdefghij`;
    await bootstrapAdminToken(tokens, { envToken: first, dataDir: h.nats.storeDir, logger, audit: audit() });
    await bootstrapAdminToken(tokens, { envToken: second, dataDir: h.nats.storeDir, logger, audit: audit() });
    expect(await tokens.verify(first)).toBeUndefined();
    expect((await tokens.verify(second))?.role).toBe("admin");
    await bootstrapAdminToken(tokens, { envToken: h.adminToken, dataDir: h.nats.storeDir, logger, audit: audit() });
  });
});
