import { jetstreamManager } from "@nats-io/jetstream";
import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import type { Host, Network, Nic } from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { vrManagerSpec } from "@sdn/vr-manager";
import { waitFor } from "@sdn/testkit";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plugRequestFor, simulatedHostRequests } from "../hypervisor-agent/simulated-hosts.js";
import { sdnctl } from "./cli-runner.js";

/*
 * `sdnctl admin backup` / `restore` against the real services on a real nats-server: the
 * state a tenant and an admin built (accounts, tokens, networks, NICs, hosts, public IPs,
 * rules) is backed up, every bucket wiped, restored with the services stopped, and every
 * listing then reads back equal once the services run again.
 */

let gateway: Harness;
let dir: string;
let running: RunningService<never>[] = [];
let tenant: { accountId: string; token: string };
let network: Network;

const http = async (method: "GET" | "POST" | "PUT", url: string, payload?: object, token?: string) => {
  const res = await gateway.app.inject({
    method,
    url,
    headers: bearer(token ?? gateway.adminToken),
    ...(payload === undefined ? {} : { payload }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json<Record<string, unknown>>();
};

const startServices = async () => {
  const base = { NATS_URL: gateway.nats.url, LOG_LEVEL: "silent", SDN_DATA_DIR: dir };
  running = [
    (await startService(networkGuruSpec, base)) as unknown as RunningService<never>,
    (await startService(hypervisorAgentSpec, {
      ...base,
      SDN_AGENT_SIMULATOR: "true",
    })) as unknown as RunningService<never>,
    (await startService(ovsElementSpec, base)) as unknown as RunningService<never>,
    (await startService(vrManagerSpec, base)) as unknown as RunningService<never>,
  ];
};
const stopServices = async () => {
  for (const s of running.reverse()) await s.stop();
  running = [];
};

/** What an operator and the tenant can read; compared before the backup and after the restore. */
const everything = async () => {
  const hosts = (await http("GET", "/v1/hosts"))["hosts"] as Host[];
  return {
    accounts: await http("GET", "/v1/accounts"),
    // Listed in storage order, which a restore does not keep: compared by id.
    tokens: ((await http("GET", `/v1/accounts/${tenant.accountId}/tokens`))["items"] as { id: string }[]).sort((a, b) =>
      a.id.localeCompare(b.id),
    ),
    networks: await http("GET", "/v1/networks", undefined, tenant.token),
    nics: await http("GET", `/v1/networks/${network.id}/nics`, undefined, tenant.token),
    tunnels: await http("GET", `/v1/networks/${network.id}/tunnels`, undefined, tenant.token),
    // When a host last changed state moves with the agent's reconnect; the rest must not.
    hosts: hosts.map(({ stateChangedAt: _changed, ...h }) => h),
    publicIps: await http("GET", `/v1/public-ips?networkId=${network.id}`, undefined, tenant.token),
    ranges: await http("GET", "/v1/public-ip-ranges"),
    firewall: await http("GET", `/v1/networks/${network.id}/firewall-rules`, undefined, tenant.token),
    egress: await http("GET", `/v1/networks/${network.id}/egress-rules`, undefined, tenant.token),
  };
};

beforeAll(async () => {
  gateway = await startHarness({ commandWaitMs: 60_000 });
  dir = mkdtempSync(join(tmpdir(), "sdn-backup-"));
  await startServices();
  tenant = await gateway.tenant("acme");
  await http("POST", `/v1/accounts/${tenant.accountId}/tokens`, { name: "ci" });
  const hosts: Host[] = [];
  for (const body of simulatedHostRequests("bk", "10.98.0"))
    hosts.push((await http("POST", "/v1/hosts", body)) as Host);
  network = (await http("POST", "/v1/networks", { name: "web", cidr: "10.41.0.0/24" }, tenant.token)) as Network;
  for (const h of hosts) {
    (await http("POST", `/v1/networks/${network.id}/nics`, await plugRequestFor(gateway.nc, h), tenant.token)) as Nic;
  }
  await http("POST", "/v1/public-ip-ranges", {
    cidr: "203.0.113.0/24",
    gateway: "203.0.113.1",
    startIp: "203.0.113.10",
    endIp: "203.0.113.20",
  });
  const ip = (await http("POST", "/v1/public-ips", { networkId: network.id }, tenant.token)) as { id: string };
  await http(
    "POST",
    `/v1/networks/${network.id}/firewall-rules`,
    { publicIpId: ip.id, protocol: "tcp", startPort: 443, endPort: 443 },
    tenant.token,
  );
  await http(
    "POST",
    `/v1/networks/${network.id}/egress-rules`,
    { protocol: "udp", startPort: 53, endPort: 53 },
    tenant.token,
  );
}, 180_000);

afterAll(async () => {
  await stopServices().catch(() => undefined);
  await gateway?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("sdnctl admin backup and restore", () => {
  it("backs up, survives a wipe, restores with the services stopped, and everything reads back equal", async () => {
    const before = await everything();
    const env = gateway.nats.serviceEnv("state");
    const file = join(dir, "state.jsonl");

    const backup = await sdnctl(["admin", "backup", file], { env });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toMatch(/backed up \d+ entries of \d+ buckets/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await sdnctl(["admin", "backup", file], { env })).code).toBe(2); // never overwritten

    // Lose the state: every bucket of the controller deleted.
    await stopServices();
    const jsm = await jetstreamManager(gateway.nc);
    for await (const s of jsm.streams.list()) {
      if (s.config.name.startsWith("KV_sdn") || s.config.name.startsWith("KV_gw_"))
        await jsm.streams.delete(s.config.name);
    }

    const restored = await sdnctl(["admin", "restore", file], { env });
    expect(restored.code, restored.stderr).toBe(0);
    expect((await sdnctl(["admin", "restore", file], { env })).stderr).toMatch(/already holds state.*--replace/);
    expect((await sdnctl(["admin", "restore", "--replace", file], { env })).code).toBe(0);

    await startServices();
    const after = await waitFor(
      "the restored state to read back",
      async () => {
        const now = await everything().catch(() => undefined);
        return now !== undefined && JSON.stringify(now) === JSON.stringify(before) ? now : undefined;
      },
      30_000,
      500,
    ).catch(async () => everything());
    expect(after).toEqual(before);
  }, 180_000);

  it("refuses a restore while a service runs, and a cut or foreign file, with exit 3 or 2", async () => {
    const env = gateway.nats.serviceEnv("state");
    const file = join(dir, "again.jsonl");
    expect((await sdnctl(["admin", "backup", file], { env })).code).toBe(0);
    const live = await sdnctl(["admin", "restore", "--replace", file], { env });
    expect(live.code).toBe(3);
    expect(live.stderr).toMatch(/stop the services before a restore: .*network-guru/);

    const cut = join(dir, "cut.jsonl");
    writeFileSync(cut, readFileSync(file, "utf8").split("\n").slice(0, -3).join("\n"));
    const refused = await sdnctl(["admin", "restore", cut], { env });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/incomplete/);
    writeFileSync(join(dir, "foreign.jsonl"), '{"hello":1}\n');
    expect((await sdnctl(["admin", "restore", join(dir, "foreign.jsonl")], { env })).stderr).toMatch(/not a backup/);
    expect((await sdnctl(["admin", "backup", "-"], { env: { NATS_URL: "nats://127.0.0.1:1" } })).code).toBe(4);
  }, 60_000);
});
