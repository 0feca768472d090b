import { bearer, startHarness, type Harness } from "@sdn/api-gateway/testing";
import { CommandClient, request } from "@sdn/bus";
import {
  agentSubject,
  CheckHealth,
  GetOvsState,
  Ping,
  RelayToRouter,
  type Host,
  type Network,
  type Nic,
  type Tunnel,
} from "@sdn/contracts";
import { hypervisorAgentSpec } from "@sdn/hypervisor-agent";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  askAgent,
  expectFullMesh,
  expectHostSwitch,
  plugRequestFor,
  simulatedHostRequests,
} from "./simulated-hosts.js";

/*
 * The simulator through the real services: gateway (inject), network-guru, ovs-element and
 * a hypervisor-agent with SDN_AGENT_SIMULATOR=true, on a real nats-server. Hosts of the
 * three hypervisors are added and NICs plugged as for real hosts; the simulated switches
 * must then hold the mesh the element computed, survive an agent restart, and be repaired
 * by the element's reconciliation like a real host's.
 */

let gateway: Harness;
let dataDir: string;
let agent: RunningService<never>;
const others: RunningService<never>[] = [];
const hosts: Host[] = [];
let tenant: { accountId: string; token: string };
let network: Network;
const nics: Nic[] = [];

const agentEnv = () => ({
  NATS_URL: gateway.nats.url,
  LOG_LEVEL: "silent",
  SDN_DATA_DIR: dataDir,
  SDN_AGENT_SIMULATOR: "true",
  SDN_AGENT_LEASE_MS: "3000",
  SDN_HOST_CHECK_INTERVAL_MS: "1000",
});
const startAgent = async () =>
  (agent = (await startService(hypervisorAgentSpec, agentEnv())) as unknown as RunningService<never>);

const http = (method: "GET" | "POST" | "DELETE", url: string, payload?: object, token?: string) =>
  gateway.app.inject({
    method,
    url,
    headers: bearer(token ?? gateway.adminToken),
    ...(payload === undefined ? {} : { payload }),
  });

const tunnels = async (): Promise<Tunnel[]> =>
  (await http("GET", `/v1/networks/${network.id}/tunnels`, undefined, tenant.token)).json<{ tunnels: Tunnel[] }>()
    .tunnels;
const devicesOn = (h: Host) => nics.filter((n) => n.hostId === h.id).map((n) => n.device);
const greKey = () => network.greKey as number;
/** Every host answers Ping through the agent (after a restart: once it holds the leases again). */
const everyHostAnswers = () =>
  waitFor(
    "every simulated host to answer Ping",
    async () => {
      for (const h of hosts) {
        const a = await request(gateway.nc, Ping, agentSubject(h.id, "Ping"), {}, { timeoutMs: 2000 });
        if (!a.ok) return undefined;
      }
      return true;
    },
    30_000,
    250,
  );

beforeAll(async () => {
  gateway = await startHarness({ commandWaitMs: 60_000 });
  dataDir = mkdtempSync(join(tmpdir(), "sdn-simulator-"));
  const base = { NATS_URL: gateway.nats.url, LOG_LEVEL: "silent", SDN_DATA_DIR: dataDir };
  others.push((await startService(networkGuruSpec, base)) as unknown as RunningService<never>);
  await startAgent();
  others.push(
    (await startService(ovsElementSpec, {
      ...base,
      SDN_AGENT_TIMEOUT_MS: "10000",
      SDN_RECONCILE_INTERVAL_MS: "500",
      SDN_TUNNEL_RETRY_MIN_MS: "200",
    })) as unknown as RunningService<never>,
  );
  const client = new CommandClient(gateway.nc);
  await waitFor(
    "the services",
    async () => {
      for (const s of ["network-guru", "hypervisor-agent", "ovs-element"] as const) {
        if (!(await client.send(CheckHealth[s], {}, { timeoutMs: 2000 })).ok) return undefined;
      }
      return true;
    },
    30_000,
  );
  tenant = await gateway.tenant("acme");
}, 120_000);

afterAll(async () => {
  for (const s of [...others].reverse()) await s.stop().catch(() => undefined);
  await agent?.stop().catch(() => undefined);
  await gateway?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("hypervisor-agent simulator with the element and the guru", () => {
  it("adds hosts of every hypervisor through the API; their facts say they are simulated", async () => {
    for (const body of simulatedHostRequests("sim", "10.99.0")) {
      const res = await http("POST", "/v1/hosts", body);
      expect(res.statusCode, res.body).toBe(201);
      const host = res.json<Host>();
      expect(host).toMatchObject({ state: "Up", tunnelInterface: { ip: body.address, device: "sim0" } });
      expect(host.platform.name).toMatch(/^Simulated /);
      hosts.push(host);
    }
    expect(hosts.map((h) => h.platform.name)).toEqual(["Simulated XenServer", "Simulated XCP-ng", "Simulated KVM"]);
    // The credentials are still checked as the API requires: a KVM host needs a key.
    const noKey = { name: "sim-nokey", hypervisor: "kvm", address: "10.99.0.14", username: "root" };
    expect((await http("POST", "/v1/hosts", { ...noKey, trustHostKeyOnFirstContact: true })).statusCode).toBe(400);
  });

  it("plugs a NIC on every host (XAPI: the VIF found from vmId; KVM: the named tap) and builds the full mesh", async () => {
    const res = await http("POST", "/v1/networks", { name: "web", cidr: "10.40.0.0/24" }, tenant.token);
    expect(res.statusCode).toBe(201);
    const networkId = res.json<Network>().id;
    for (const h of hosts) {
      const plugged = await http(
        "POST",
        `/v1/networks/${networkId}/nics`,
        await plugRequestFor(gateway.nc, h),
        tenant.token,
      );
      expect(plugged.statusCode, plugged.body).toBe(201);
      nics.push(plugged.json<Nic>());
    }
    expect(nics.map((n) => [n.state, n.device])).toEqual([
      ["Plugged", "vif1.0"],
      ["Plugged", "vif1.0"],
      ["Plugged", "vnet0"],
    ]);
    network = (await http("GET", `/v1/networks/${networkId}`, undefined, tenant.token)).json<Network>();
    expect(network.state).toBe("Implemented");
    expectFullMesh(await tunnels(), hosts);
    for (const h of hosts)
      await expectHostSwitch(gateway.nc, h, hosts, { id: network.id, greKey: greKey() }, devicesOn(h));
  });

  it("refuses a device the simulated host does not have, as for a real host", async () => {
    const kvm = hosts[2] as Host;
    const body = { ...(await plugRequestFor(gateway.nc, kvm)), hostInterface: "vnet99" };
    const res = await http("POST", `/v1/networks/${network.id}/nics`, body, tenant.token);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ error: { details: { issues: [{ path: "/hostInterface" }] } } });
    expect(res.body).toContain("vnet99");
    expect(await tunnels()).toHaveLength(6);
  });

  it(
    "has a host that lost its switch state (a reboot) repaired by the element's reconciliation",
    { timeout: 40_000 },
    async () => {
      const xcp = hosts[1] as Host;
      const file = join(dataDir, "simulator", `${xcp.address}.json`);
      const state = JSON.parse(readFileSync(file, "utf8")) as { bridges: unknown[] };
      writeFileSync(file, JSON.stringify({ ...state, bridges: [] }));
      expect((await askAgent(gateway.nc, xcp.id, GetOvsState, {})).bridges).toEqual([]);
      // Rounds run every 500 ms; the bound leaves room for a loaded machine.
      await waitFor(
        "the reconciler to rebuild the host's bridge, tunnels and NIC port",
        async () =>
          expectHostSwitch(gateway.nc, xcp, hosts, { id: network.id, greKey: greKey() }, devicesOn(xcp)).then(
            () => true,
            () => undefined,
          ),
        20_000,
        250,
      );
    },
  );

  it("keeps every host's switch across an agent restart", async () => {
    const before = await Promise.all(hosts.map((h) => askAgent(gateway.nc, h.id, GetOvsState, {})));
    await agent.stop();
    await startAgent();
    await everyHostAnswers();
    const after = await Promise.all(hosts.map((h) => askAgent(gateway.nc, h.id, GetOvsState, {})));
    expect(after).toEqual(before);
  });

  it("answers a router relay with a code that says the host is simulated", async () => {
    const a = await request(gateway.nc, RelayToRouter, agentSubject((hosts[0] as Host).id, "RelayToRouter"), {
      address: "169.254.0.10",
      port: 3922,
      username: "root",
      hostKeyFingerprint: `SHA256:${"A".repeat(43)}`,
      argv: ["/opt/sdn-router/sdn-router", "version"],
    });
    expect(a.ok).toBe(false);
    if (!a.ok) {
      expect(a.error.code).toBe("UNPROCESSABLE");
      expect(a.error.details).toMatchObject({ hostError: "SIMULATED_HOST_HAS_NO_ROUTERS" });
    }
  });

  it("refuses a relay to a routable address, with another key or of another command, before the host", async () => {
    const relay = (over: object) =>
      request(gateway.nc, RelayToRouter, agentSubject((hosts[0] as Host).id, "RelayToRouter"), {
        address: "169.254.0.10",
        port: 3922,
        username: "root",
        hostKeyFingerprint: `SHA256:${"A".repeat(43)}`,
        argv: ["/opt/sdn-router/sdn-router", "version"],
        ...over,
      });
    const cases: [object, string][] = [
      [{ address: "10.0.0.1" }, "RELAY_ADDRESS_NOT_LINK_LOCAL"],
      [{ identityFile: "/root/.ssh/id_rsa" }, "RELAY_KEY_NOT_ALLOWED"],
      [{ argv: ["sh", "-c", "cat /etc/shadow"] }, "RELAY_COMMAND_NOT_ALLOWED"],
    ];
    for (const [over, reason] of cases) {
      // FORBIDDEN from the agent's check, not the simulated host's SIMULATED_HOST_HAS_NO_ROUTERS.
      expect(await relay(over)).toMatchObject({ ok: false, error: { code: "FORBIDDEN", details: { reason } } });
    }
  });

  it("unplugs a host's last NIC: it leaves the mesh and its bridge goes", async () => {
    const xen = hosts[0] as Host;
    const nic = nics.find((n) => n.hostId === xen.id) as Nic;
    const res = await http("DELETE", `/v1/networks/${network.id}/nics/${nic.id}`, undefined, tenant.token);
    expect(res.statusCode, res.body).toBe(200);
    const rest = hosts.filter((h) => h !== xen);
    expectFullMesh(await tunnels(), rest);
    expect((await askAgent(gateway.nc, xen.id, GetOvsState, {})).bridges).toEqual([]);
    for (const h of rest)
      await expectHostSwitch(gateway.nc, h, rest, { id: network.id, greKey: greKey() }, devicesOn(h));
  });
});
