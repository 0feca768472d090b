import { apiGatewaySpec } from "@sdn/api-gateway";
import { networkGuruSpec } from "@sdn/network-guru";
import { callApi, createTenant, freePort, TestNatsServer } from "@sdn/testkit";
import { startStack, type ServiceStack } from "@sdn/testkit/stack";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let nats: TestNatsServer;
let baseUrl: string;
/** A second gateway replica on the same bus. */
let secondUrl: string;
const adminToken = `sdn_${randomBytes(32).toString("base64url")}`;
let stack: ServiceStack | undefined;

const call = (method: string, path: string, token: string, body?: unknown, base = baseUrl) =>
  callApi(base, token, method, path, body);

const newAccount = async (name: string) => {
  const { accountId, token } = await createTenant(baseUrl, adminToken, name);
  return { id: accountId, token };
};

const newTenant = async (name: string): Promise<string> => (await newAccount(name)).token;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  const port = await freePort();
  const port2 = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  secondUrl = `http://127.0.0.1:${port2}`;
  stack = await startStack({ NATS_URL: nats.url }, [
    [apiGatewaySpec, { SDN_HTTP_PORT: String(port), SDN_ADMIN_TOKEN: adminToken }],
    [apiGatewaySpec, { SDN_HTTP_PORT: String(port2), SDN_ADMIN_TOKEN: adminToken }],
    [networkGuruSpec],
  ]);
});

afterAll(async () => {
  await stack?.stop();
  await nats?.dispose();
});

describe("network and public IP routes", () => {
  it("creates, reads, updates, lists and deletes a network over HTTP, in the error model", async () => {
    const token = await newTenant("http-net");
    const created = await call("POST", "/v1/networks", token, { name: "web", cidr: "10.9.0.0/24" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "web", state: "Allocated", gateway: "10.9.0.1" });
    const id = created.body["id"] as string;

    expect((await call("GET", `/v1/networks/${id}`, token)).body).toEqual(created.body);
    const patched = await call("PATCH", `/v1/networks/${id}`, token, { mtu: 1400 });
    expect(patched.status).toBe(200);
    expect(patched.body["mtu"]).toBe(1400);
    const listed = await call("GET", "/v1/networks", token);
    expect((listed.body["networks"] as { id: string }[]).map((n) => n.id)).toEqual([id]);

    const bad = await call("POST", "/v1/networks", token, { name: "bad", cidr: "10.9.0.5/24" });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({
      error: { code: "UNPROCESSABLE", details: { issues: [{ path: "/cidr" }] } },
    });
    const other = await newTenant("http-other");
    expect((await call("GET", `/v1/networks/${id}`, other)).status).toBe(404);

    expect((await call("DELETE", `/v1/networks/${id}`, token)).status).toBe(200);
    expect((await call("GET", `/v1/networks/${id}`, token)).status).toBe(404);
  });

  it("lets admins define ranges and tenants acquire and release public IPs; a held IP blocks the delete (409)", async () => {
    const token = await newTenant("http-pip");
    const range = { cidr: "192.0.2.0/24", gateway: "192.0.2.1", startIp: "192.0.2.10", endIp: "192.0.2.20" };
    expect((await call("POST", "/v1/public-ip-ranges", token, range)).status).toBe(403);
    const made = await call("POST", "/v1/public-ip-ranges", adminToken, range);
    expect(made.status).toBe(201);
    expect(((await call("GET", "/v1/public-ip-ranges", adminToken)).body["ranges"] as unknown[]).length).toBe(1);

    const net = (await call("POST", "/v1/networks", token, { name: "edge", cidr: "10.10.0.0/24" })).body;
    const ip = await call("POST", "/v1/public-ips", token, { networkId: net["id"] });
    expect(ip.status).toBe(201);
    expect(ip.body).toMatchObject({ isSourceNat: true, networkId: net["id"] });
    const listed = await call("GET", `/v1/public-ips?networkId=${String(net["id"])}`, token);
    expect((listed.body["publicIps"] as { id: string }[]).map((p) => p.id)).toEqual([ip.body["id"]]);

    const held = await call("DELETE", `/v1/networks/${String(net["id"])}`, token);
    expect(held.status).toBe(409);
    expect((held.body["error"] as { message: string }).message).toContain(String(ip.body["ip"]));

    expect((await call("DELETE", `/v1/public-ips/${String(ip.body["id"])}`, token)).status).toBe(200);
    expect((await call("DELETE", `/v1/networks/${String(net["id"])}`, token)).status).toBe(200);
    expect((await call("DELETE", `/v1/public-ip-ranges/${String(made.body["id"])}`, adminToken)).status).toBe(200);
  });

  it("pages GET /v1/networks with limit and cursor query parameters; bad ones are a 400 naming the field", async () => {
    const token = await newTenant("http-pages");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        (await call("POST", "/v1/networks", token, { name: `p${i}`, cidr: "10.11.0.0/24" })).body["id"] as string,
      );
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let query = "?limit=2";
    for (;;) {
      const page = await call("GET", `/v1/networks${query}`, token);
      expect(page.status).toBe(200);
      const ids = (page.body["networks"] as { id: string }[]).map((n) => n.id);
      seen.push(...ids);
      sizes.push(ids.length);
      const next = page.body["nextCursor"] as string | undefined;
      if (next === undefined) break;
      query = `?limit=2&cursor=${next}`;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...made].sort());

    const unknown = await call("GET", `/v1/networks?cursor=${Buffer.from("elsewhere").toString("base64url")}`, token);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({
      error: { code: "VALIDATION_FAILED", details: { issues: [{ path: "/cursor" }] } },
    });
    for (const [q, field] of [
      ["limit=0", "querystring/limit"],
      ["limit=1001", "querystring/limit"],
      ["limit=ten", "querystring/limit"],
      ["cursor=%2F%2F", "querystring/cursor"],
    ] as const) {
      const bad = await call("GET", `/v1/networks?${q}`, token);
      expect(bad.status, q).toBe(400);
      expect(bad.body, q).toMatchObject({
        error: { code: "VALIDATION_FAILED", details: { issues: [{ path: field }] } },
      });
    }
  });
});

describe("network quota", () => {
  it("refuses a tenant's network past its quota with 409 naming it; other tenants are not affected", async () => {
    const a = await newAccount("quota-a");
    const b = await newAccount("quota-b");
    expect((await call("PUT", `/v1/accounts/${a.id}/quotas`, adminToken, { networks: 3 })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await call("POST", "/v1/networks", a.token, { name: `a-${i}`, cidr: "10.1.0.0/24" })).status).toBe(201);
    }
    const refused = await call("POST", "/v1/networks", a.token, { name: "a-3", cidr: "10.1.0.0/24" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: "CONFLICT", details: { limit: "networks", max: 3 } } });
    expect((refused.body["error"] as { message: string }).message).toContain("quota 'networks' reached");
    expect((await call("POST", "/v1/networks", b.token, { name: "b-0", cidr: "10.1.0.0/24" })).status).toBe(201);
  });

  it("takes an admin's value for the account, and lets concurrent creates through only up to it", async () => {
    const t = await newAccount("quota-c");
    const set = await call("PUT", `/v1/accounts/${t.id}/quotas`, adminToken, { networks: 5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ networks: 5 });
    expect((await call("GET", `/v1/accounts/${t.id}`, t.token)).body).toMatchObject({ quotas: { networks: 5 } });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("POST", "/v1/networks", t.token, { name: `c-${i}`, cidr: "10.2.0.0/24" }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 409)).toHaveLength(3);
    const listed = await call("GET", "/v1/networks", t.token);
    expect((listed.body["networks"] as unknown[]).length).toBe(5);
  });

  it("lets concurrent creates spread over two gateway replicas through only up to the quota", async () => {
    const t = await newAccount("quota-e");
    expect((await call("PUT", `/v1/accounts/${t.id}/quotas`, adminToken, { networks: 3 })).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("POST", "/v1/networks", t.token, { name: `e-${i}`, cidr: "10.5.0.0/24" }, i % 2 ? secondUrl : baseUrl),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
    const listed = await call("GET", "/v1/networks", t.token, undefined, secondUrl);
    expect((listed.body["networks"] as unknown[]).length).toBe(3);
  });

  it("gives a retry with the same Idempotency-Key the first result even when that create filled the quota", async () => {
    const t = await newAccount("quota-d");
    expect((await call("PUT", `/v1/accounts/${t.id}/quotas`, adminToken, { networks: 1 })).status).toBe(200);
    const send = () =>
      fetch(`${baseUrl}/v1/networks`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.token}`,
          "content-type": "application/json",
          "idempotency-key": "create-d-0",
        },
        body: JSON.stringify({ name: "d-0", cidr: "10.4.0.0/24" }),
      });
    const first = await send();
    expect(first.status).toBe(201);
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    expect((await call("POST", "/v1/networks", t.token, { name: "d-1", cidr: "10.4.0.0/24" })).status).toBe(409);
  });

  it("does not limit admins", async () => {
    for (let i = 0; i < 2; i++) {
      expect((await call("POST", "/v1/networks", adminToken, { name: `adm-${i}`, cidr: "10.3.0.0/24" })).status).toBe(
        201,
      );
    }
  });
});
