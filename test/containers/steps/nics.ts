import type { NatsConnection } from "@nats-io/transport-node";
import { GetOvsState, Ping, type Host, type Nic, type Tunnel } from "@sdn/contracts";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  askAgent,
  expectFullMesh,
  expectHostSwitch,
  plugRequestFor,
  simulatedHostRequests,
} from "../../hypervisor-agent/simulated-hosts.js";
import type { ApiResponse } from "../api.js";
import { type Scenario } from "../scenario.js";
import type { ContainerSystem } from "../system.js";

/** The network the NICs go on: a tenant's, from the networks step. */
const NETWORK = "acme/web";

/**
 * NICs against the agent's simulated hypervisors (the agent container runs with
 * SDN_AGENT_SIMULATOR=true): hosts of the three kinds added over HTTP, a NIC plugged on
 * each, then the mesh (HTTP) and every host's switch (asked of the agent on the bus).
 */
export const nicSteps = (system: () => ContainerSystem, scenario: Scenario): void => {
  let nc: NatsConnection;
  const hosts = (): Host[] => [...scenario.hosts.values()];
  const web = () => {
    const entry = scenario.networks.get(NETWORK);
    if (entry === undefined) throw new Error(`no network ${NETWORK}: the networks step did not run`);
    return { token: entry.token, id: String(entry.network["id"]) };
  };
  const devicesOn = (h: Host) =>
    [...scenario.nics.values()].filter((n) => n.nic.hostId === h.id).map((n) => n.nic.device);

  beforeAll(async () => {
    // As the element: the one principal that may ask the agent about any host.
    nc = await system().connectNats("ovs-element");
  });
  afterAll(async () => {
    await nc?.close();
  });

  /** A mutation's answer: at once (201), or once its job has finished (202, then poll). */
  const finished = async (res: ApiResponse, token: string): Promise<Record<string, unknown>> => {
    if (res.status !== 202) {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    }
    const job = await waitFor(
      `job ${String(res.body["jobId"])}`,
      async () => {
        const j = await system().api("GET", `/v1/jobs/${String(res.body["jobId"])}`, { token });
        return j.body["status"] === "pending" ? undefined : j.body;
      },
      60_000,
      500,
    );
    expect(job["status"], JSON.stringify(job)).toBe("succeeded");
    return job["result"] as Record<string, unknown>;
  };

  it("adds a XenServer, an XCP-ng and a KVM host, simulated by the agent and saying so", async () => {
    expect(await system().logs("hypervisor-agent")).toContain("SDN_AGENT_SIMULATOR is on");
    for (const body of simulatedHostRequests("it", "10.98.0")) {
      const host = (await finished(await system().api("POST", "/v1/hosts", { body }), system().adminToken)) as Host;
      expect(host).toMatchObject({ name: body.name, state: "Up", tunnelInterface: { ip: body.address } });
      expect(host.platform.name).toMatch(/^Simulated /);
      scenario.hosts.set(host.name, host);
    }
    const listed = await system().api("GET", "/v1/hosts");
    expect((listed.body["hosts"] as Host[]).map((h) => h.hypervisor).sort()).toEqual(["kvm", "xcp-ng", "xenserver"]);
  });

  it(`plugs a NIC of ${NETWORK} on every host and lists them Plugged`, async () => {
    const { token, id } = web();
    for (const h of hosts()) {
      const body = await plugRequestFor(nc, h);
      const nic = (await finished(
        await system().api("POST", `/v1/networks/${id}/nics`, { token, body }),
        token,
      )) as Nic;
      expect(nic).toMatchObject({ hostId: h.id, vmId: body["vmId"], state: "Plugged" });
      scenario.nics.set(nic.id, { network: NETWORK, nic });
    }
    const listed = await system().api("GET", `/v1/networks/${id}/nics`, { token });
    expect(listed.status).toBe(200);
    const nics = listed.body["nics"] as Nic[];
    expect(nics.map((n) => n.id).sort()).toEqual([...scenario.nics.keys()].sort());
    expect(nics.every((n) => n.state === "Plugged")).toBe(true);
    // The network is Implemented now (GRE key, state): the fault steps read it back as it is.
    const network = await system().api("GET", `/v1/networks/${id}`, { token });
    expect(network.body).toMatchObject({ state: "Implemented", greKey: expect.any(Number) });
    scenario.networks.set(NETWORK, { token, network: network.body });
  });

  it("establishes the full tunnel mesh: one tunnel per direction per host pair", async () => {
    const { token, id } = web();
    const res = await system().api("GET", `/v1/networks/${id}/tunnels`, { token });
    expect(res.status).toBe(200);
    expectFullMesh(res.body["tunnels"] as Tunnel[], hosts());
  });

  it("shows on each host's switch the bridge, a protected GRE tunnel to every peer and the NIC's port", async () => {
    const network = { id: web().id, greKey: scenario.networks.get(NETWORK)?.network["greKey"] as number };
    for (const h of hosts()) await expectHostSwitch(nc, h, hosts(), network, devicesOn(h));
  });

  it("keeps every simulated host's switch across a restart of the agent", async () => {
    const before = await Promise.all(hosts().map((h) => askAgent(nc, h.id, GetOvsState, {})));
    await system().stopService("hypervisor-agent");
    await system().startService("hypervisor-agent");
    await waitFor(
      "every host to answer Ping from the restarted agent",
      async () => {
        for (const h of hosts()) {
          const pinged = await askAgent(nc, h.id, Ping, {}).catch(() => undefined);
          if (pinged === undefined) return undefined;
        }
        return true;
      },
      60_000,
      500,
    );
    expect(await Promise.all(hosts().map((h) => askAgent(nc, h.id, GetOvsState, {})))).toEqual(before);
  });
};
