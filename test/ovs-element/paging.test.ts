/**
 * Paging of the ovs-element's listings through the real gateway, network-guru and
 * ovs-element on a real nats-server. The tunnel sets and NICs are written straight into
 * the element's KV buckets (as the mesh stores them), so that a network of 200 hosts
 * costs no hosts: what is under test is how they are listed, not how they are made (and
 * what of them a tenant sees: no underlay addresses, no host errors).
 */
import { JsonBucket } from "@sdn/bus";
import type { Nic, Tunnel } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpGateway, type HttpGateway } from "../foundation/http-gateway.js";

let gw: HttpGateway;
let tenantToken: string;

interface Reply<T> {
  status: number;
  body: T;
  bytes: number;
}

const get = async <T>(path: string, token = tenantToken): Promise<Reply<T>> => {
  const res = await fetch(`${gw.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, bytes: Buffer.byteLength(text) };
};

const post = async <T>(path: string, body: unknown, token: string): Promise<T> => {
  const res = await fetch(`${gw.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as T;
};

/** Every page of a listing with this limit: the replies in order, following nextCursor. */
const pages = async <T extends { nextCursor?: string }>(path: string, limit: number): Promise<Reply<T>[]> => {
  const out: Reply<T>[] = [];
  let cursor: string | undefined;
  do {
    const page = await get<T>(`${path}?limit=${limit}${cursor === undefined ? "" : `&cursor=${cursor}`}`);
    expect(page.status).toBe(200);
    out.push(page);
    cursor = page.body.nextCursor;
  } while (cursor !== undefined);
  return out;
};

const newNetwork = (name: string, cidr: string) => post<{ id: string }>("/v1/networks", { name, cidr }, tenantToken);

/** The tunnel sets of a full mesh of `hosts` on a network, as the element stores them. */
const seedMesh = async (networkId: string, hosts: string[]): Promise<void> => {
  const sets = await JsonBucket.open<object>(gw.nc, "sdn_element_tunnels");
  const ipOf = (i: number) => `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const now = new Date().toISOString();
  await Promise.all(
    hosts.map(async (from) => {
      const rows = hosts
        .map((to, i) => ({ to, remoteIp: ipOf(i), port: `gre-${to.slice(0, 11)}` }))
        .filter((r) => r.to !== from);
      const set = { networkId, from, key: 4242, state: "Established", rows, lastError: null, attempts: 0 };
      await sets.kv.put(`${networkId}.${from}`, JSON.stringify({ ...set, nextRetryAt: null, updatedAt: now }));
    }),
  );
};

beforeAll(async () => {
  gw = await startHttpGateway([
    [networkGuruSpec],
    // No hosts exist: nothing to reconcile, and a round must not touch the seeded entries.
    [ovsElementSpec, { SDN_RECONCILE_INTERVAL_MS: "3600000" }],
  ]);
  tenantToken = (await post<{ token: { token: string } }>("/v1/accounts", { name: "pager" }, gw.adminToken)).token
    .token;
});

afterAll(async () => {
  await gw?.stop();
});

describe("ListTunnels pages", () => {
  it("pages a 12-host mesh by whole tunnel sets: at most limit rows, ordered by from and to, none lost", async () => {
    const net = await newNetwork("mesh-12", "10.60.0.0/24");
    const hosts = Array.from({ length: 12 }, () => randomUUID());
    await seedMesh(net.id, hosts);
    const path = `/v1/networks/${net.id}/tunnels`;

    const replies = await pages<{ tunnels: Tunnel[]; nextCursor?: string }>(path, 30);
    // 11 rows a set: two sets (22 rows) fit in 30, a third would not.
    expect(replies.map((r) => r.body.tunnels.length)).toEqual([22, 22, 22, 22, 22, 22]);
    const froms = replies.map((r) => new Set(r.body.tunnels.map((t) => t.from)));
    const all = replies.flatMap((r) => r.body.tunnels);
    for (const host of hosts)
      expect(
        froms.filter((f) => f.has(host)),
        "one page per set",
      ).toHaveLength(1);
    const pairs = all.map((t) => `${t.from}>${t.to}`);
    expect(new Set(pairs).size).toBe(12 * 11);
    expect(pairs).toEqual([...pairs].sort());

    const whole = await get<{ tunnels: Tunnel[]; nextCursor?: string }>(path);
    expect(whole.body.tunnels.map((t) => `${t.from}>${t.to}`)).toEqual(pairs);
    expect(whole.body.nextCursor).toBeUndefined();
  });

  it("still answers a set larger than the limit, alone on its page", async () => {
    const net = await newNetwork("mesh-small-limit", "10.61.0.0/24");
    const hosts = Array.from({ length: 8 }, () => randomUUID());
    await seedMesh(net.id, hosts);
    const replies = await pages<{ tunnels: Tunnel[]; nextCursor?: string }>(`/v1/networks/${net.id}/tunnels`, 3);
    expect(replies.map((r) => r.body.tunnels.length)).toEqual(Array.from({ length: 8 }, () => 7));
    expect(replies.map((r) => r.body.tunnels[0]?.from)).toEqual([...hosts].sort());
  });

  it("lists 200 hosts (39,800 rows, more than one NATS message holds) page by page", async () => {
    const net = await newNetwork("mesh-200", "10.62.0.0/24");
    const hosts = Array.from({ length: 200 }, () => randomUUID());
    await seedMesh(net.id, hosts);
    const replies = await pages<{ tunnels: Tunnel[]; nextCursor?: string }>(`/v1/networks/${net.id}/tunnels`, 500);
    const all = replies.flatMap((r) => r.body.tunnels);
    expect(all).toHaveLength(200 * 199);
    expect(new Set(all.map((t) => `${t.from}>${t.to}`)).size).toBe(200 * 199);
    // The whole list would not fit NATS's default 1 MB payload; every page does, with room.
    expect(replies.reduce((n, r) => n + r.bytes, 0)).toBeGreaterThan(1024 * 1024);
    expect(Math.max(...replies.map((r) => r.bytes))).toBeLessThan(512 * 1024);
    expect(Math.max(...replies.map((r) => r.body.tunnels.length))).toBeLessThanOrEqual(500);
  });

  it("refuses a cursor of another listing with 400 naming cursor; another tenant still gets 404", async () => {
    const net = await newNetwork("mesh-cursor", "10.63.0.0/24");
    const other = await newNetwork("mesh-other", "10.64.0.0/24");
    const path = `/v1/networks/${net.id}/tunnels`;
    const foreignKey = Buffer.from(`${other.id}.${randomUUID()}`).toString("base64url");
    for (const cursor of [foreignKey, Buffer.from("nonsense").toString("base64url")]) {
      const bad = await get<object>(`${path}?cursor=${cursor}`);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({
        error: { code: "VALIDATION_FAILED", details: { issues: [{ path: "/cursor" }] } },
      });
    }
    const limitBad = await get<object>(`${path}?limit=0`);
    expect(limitBad.body).toMatchObject({ error: { details: { issues: [{ path: "querystring/limit" }] } } });

    const stranger = (await post<{ token: { token: string } }>("/v1/accounts", { name: "stranger" }, gw.adminToken))
      .token.token;
    expect((await get<object>(`${path}?cursor=${foreignKey}`, stranger)).status).toBe(404);
  });
});

describe("tunnel rows a tenant sees", () => {
  it("shows a tenant hosts, ports and states but no underlay address or host error; an admin all", async () => {
    const net = await newNetwork("mesh-view", "10.66.0.0/24");
    const hosts = [randomUUID(), randomUUID()];
    await seedMesh(net.id, hosts);
    const sets = await JsonBucket.open<{ state: string; lastError: string | null }>(gw.nc, "sdn_element_tunnels");
    const failed = `${net.id}.${hosts[0]}`;
    const hostError = "ovs-vsctl: cannot reach 10.200.0.9 via eth1 (route to 192.0.2.1)";
    await sets.update(failed, (s) => (s === undefined ? undefined : { ...s, state: "Failed", lastError: hostError }));
    const path = `/v1/networks/${net.id}/tunnels`;

    const tenantRows = (await get<{ tunnels: Tunnel[] }>(path)).body.tunnels;
    expect(tenantRows).toHaveLength(2);
    const text = JSON.stringify(tenantRows);
    expect(text).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(tenantRows.map((t) => [t.from, t.to, t.port, t.state, "remoteIp" in t])).toEqual(
      [...hosts].sort().map((from) => {
        const to = hosts.find((h) => h !== from) as string;
        const state = `${net.id}.${from}` === failed ? "Failed" : "Established";
        return [from, to, `gre-${to.slice(0, 11)}`, state, false];
      }),
    );
    expect(tenantRows.find((t) => t.state === "Failed")?.lastError).toBe(
      "the host could not apply the tunnels; an operator can see why",
    );

    const adminRows = (await get<{ tunnels: Tunnel[] }>(path, gw.adminToken)).body.tunnels;
    expect(adminRows.map((t) => t.remoteIp)).toEqual(expect.arrayContaining(["10.200.0.1", "10.200.0.2"]));
    expect(adminRows.find((t) => t.state === "Failed")?.lastError).toBe(hostError);
  });
});

describe("ListNics pages", () => {
  it("pages a network's NICs by NIC id", async () => {
    const net = await newNetwork("nics", "10.65.0.0/24");
    const nics = await JsonBucket.open<Nic>(gw.nc, "sdn_element_nics");
    const ids = Array.from({ length: 7 }, (_, i) => `nic-${randomBytes(4).toString("hex")}-${i}`);
    const now = new Date().toISOString();
    for (const [i, id] of ids.entries()) {
      const nic: Nic = {
        id,
        networkId: net.id,
        accountId: "pager",
        vmId: `vm-${i}`,
        hostId: randomUUID(),
        role: "guest",
        device: `vnet${i}`,
        ip: `10.65.0.${i + 10}`,
        prefixLength: 24,
        gateway: "10.65.0.1",
        mac: `02:00:00:00:00:${(i + 16).toString(16)}`,
        bridge: "br-test",
        mtu: 1450,
        state: "Plugged",
        createdAt: now,
        updatedAt: now,
      };
      await nics.kv.put(`${net.id}.${id}`, JSON.stringify(nic));
    }
    const replies = await pages<{ nics: Nic[]; nextCursor?: string }>(`/v1/networks/${net.id}/nics`, 3);
    expect(replies.map((r) => r.body.nics.map((n) => n.id))).toEqual([
      [...ids].sort().slice(0, 3),
      [...ids].sort().slice(3, 6),
      [...ids].sort().slice(6),
    ]);
  });
});
