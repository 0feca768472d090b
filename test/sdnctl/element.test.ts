/**
 * sdnctl's providers, tunnels and nics commands against the real gateway, network-guru
 * and ovs-element (no hosts: the plugging itself is shown by test/demo against the lab).
 */
import { connect } from "@nats-io/transport-node";
import { JsonBucket } from "@sdn/bus";
import type { Tunnel } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpGateway, type HttpGateway } from "../foundation/http-gateway.js";
import { sdnctl } from "./cli-runner.js";

let gw: HttpGateway;
let env: Record<string, string>;

beforeAll(async () => {
  gw = await startHttpGateway((nats) => [
    [networkGuruSpec],
    [ovsElementSpec],
    // Tables name hosts from the registry; with no host registered they show the ids.
    [hypervisorAgentSpec, { SDN_DATA_DIR: nats.storeDir }],
  ]);
  env = { SDN_URL: gw.baseUrl, SDN_TOKEN: gw.adminToken, HOME: "/nonexistent" };
});

afterAll(async () => {
  await gw?.stop();
});

describe("sdnctl providers, tunnels and nics", () => {
  it("lists providers one row per service, and the API's JSON with --json", async () => {
    const res = await sdnctl(["providers", "list"], { env });
    expect(res.code).toBe(0);
    const [header, ...rows] = res.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^PROVIDER +BROADCAST DOMAIN +SERVICE +DELEGATED TO +CAPABILITIES$/);
    expect(rows.find((r) => /^Ovs +gre +Connectivity +- +StretchedL2Subnet=true/.test(r))).toBeDefined();
    expect(rows.find((r) => /^Ovs +gre +SourceNat +VirtualRouter +-$/.test(r))).toBeDefined();
    const json = await sdnctl(["providers", "list", "--json"], { env });
    const api = await (
      await fetch(`${env.SDN_URL}/v1/providers`, { headers: { authorization: `Bearer ${gw.adminToken}` } })
    ).json();
    expect(JSON.parse(json.stdout)).toEqual(api);
  });

  it("shows a network without NICs as empty tables; an unknown network is NOT_FOUND (exit 3)", async () => {
    const created = await sdnctl(["networks", "create", "empty", "--cidr", "10.77.0.0/24", "--json"], { env });
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const tunnels = await sdnctl(["tunnels", "list", id], { env });
    expect(tunnels).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^FROM +TO +REMOTE IP +KEY +PORT +STATE +HEALTH +SINCE +LAST ERROR\n$/),
    });
    expect(JSON.parse((await sdnctl(["tunnels", "list", id, "--json"], { env })).stdout)).toEqual({ tunnels: [] });
    const nics = await sdnctl(["nics", "list", id], { env });
    expect(nics).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ID +VM +HOST +DEVICE +IP +MAC +ROLE +STATE\n$/),
    });
    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const args of [
      ["tunnels", "list", unknown],
      ["nics", "list", unknown],
    ]) {
      expect(await sdnctl(args, { env })).toMatchObject({ code: 3, stderr: expect.stringMatching(/^NOT_FOUND: /) });
    }
  });
});

/** Writes the tunnel sets of a full mesh of `count` hosts into the element's bucket, as the mesh stores them. */
const seedMesh = async (networkId: string, count: number): Promise<string[]> => {
  const hosts = Array.from({ length: count }, () => randomUUID()).sort();
  const nc = await connect({ servers: gw.nats.url });
  try {
    const sets = await JsonBucket.open<object>(nc, "sdn_element_tunnels");
    for (const from of hosts) {
      const rows = hosts
        .filter((to) => to !== from)
        .map((to, i) => ({ to, remoteIp: `10.201.0.${i + 1}`, port: null }));
      const set = { networkId, from, key: 77, state: "Created", rows, lastError: null, attempts: 0, nextRetryAt: null };
      await sets.kv.put(`${networkId}.${from}`, JSON.stringify({ ...set, updatedAt: new Date().toISOString() }));
    }
  } finally {
    await nc.close();
  }
  return hosts;
};

describe("sdnctl list commands over pages", () => {
  it("lists every tunnel row across pages by default; --limit gives one page and the cursor of the next", async () => {
    const created = await sdnctl(["networks", "create", "paged", "--cidr", "10.78.0.0/24", "--json"], { env });
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    // 33 hosts: 1056 rows, more than the largest page (1000), so `list` has to follow a cursor.
    const hosts = await seedMesh(id, 33);

    const table = await sdnctl(["tunnels", "list", id], { env });
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength(33 * 32);
    expect(rows.map((r) => r.split(/ +/)[0])).toEqual(hosts.flatMap((h) => Array.from({ length: 32 }, () => h)));
    expect(table.stderr).toBe("");
    const json = JSON.parse((await sdnctl(["tunnels", "list", id, "--json"], { env })).stdout) as object;
    expect(Object.keys(json)).toEqual(["tunnels"]);
    expect((json as { tunnels: Tunnel[] }).tunnels).toHaveLength(33 * 32);

    const first = await sdnctl(["tunnels", "list", id, "--limit", "100"], { env });
    expect(first.code).toBe(0);
    // Whole sets of 32 rows: three fit in 100.
    expect(first.stdout.trimEnd().split("\n").slice(1)).toHaveLength(96);
    const cursor = /^more: add --cursor (\S+)$/m.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await sdnctl(["tunnels", "list", id, "--limit", "100", "--cursor", cursor ?? ""], { env });
    const secondFroms = new Set(
      second.stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((r) => r.split(/ +/)[0]),
    );
    expect([...secondFroms]).toEqual(hosts.slice(3, 6));

    const page = JSON.parse((await sdnctl(["tunnels", "list", id, "--limit", "100", "--json"], { env })).stdout) as {
      tunnels: Tunnel[];
      nextCursor?: string;
    };
    expect(page.tunnels).toHaveLength(96);
    expect(page.nextCursor).toBe(cursor);

    expect(await sdnctl(["tunnels", "list", id, "--limit", "0"], { env })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--limit"),
    });
    expect(await sdnctl(["tunnels", "list", id, "--cursor", "bm9wZQ"], { env })).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^VALIDATION_FAILED: [^\n]+\n {2}\/cursor: /),
    });
  });
});
