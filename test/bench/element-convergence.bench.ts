import { connect } from "@nats-io/transport-node";
import { CommandClient, JsonBucket, request } from "@sdn/bus";
import { agentSubject, ApplyTunnels, CreateNetwork, ImplementNetwork, PlugNic, SetupBridge } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { elementOfContext, ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import { exec } from "../lab/index.js";
import { ElementLab } from "../ovs-element/element-lab.js";
import { SimulatedAgents } from "./simulated-agent.js";

interface TunnelSetView {
  state: string;
  rows: unknown[];
}

const LAB_SIZES = [4, 8, 16];
const SIM_SIZE = 200;
const ADMIN = { role: "admin" as const, accountId: "bench" };

/** Waits until the network has `hosts` tunnel sets, each Established with hosts-1 rows. */
const established = async (bucket: JsonBucket<TunnelSetView>, networkId: string, hosts: number, timeoutMs: number) =>
  waitFor(
    `${hosts} hosts' tunnels Established`,
    async () => {
      const keys = await bucket.keys(`${networkId}.>`);
      if (keys.length < hosts) return undefined;
      const sets = await Promise.all(keys.map((k) => bucket.get(k)));
      return sets.every((s) => s?.value.state === "Established" && s.value.rows.length === hosts - 1)
        ? true
        : undefined;
    },
    timeoutMs,
    20,
  );

/**
 * Network convergence: time from the plug calls (one NIC on every host, all at once) to
 * "every host's tunnels Established", with the agent round trips it took.
 * 1. Emulated lab hosts (real OVS), N = 4, 8, 16, through the HTTP API.
 * 2. N = 200 simulated hosts — a CONTROL-PLANE-ONLY simulation that answers the agent
 *    contract from memory (test/bench/simulated-agent.ts) — through the bus; then, against
 *    the same simulated hosts, one tunnel per agent call (CloudStack's OvsCreateTunnelCommand
 *    per pair, in sequence on each host) for comparison.
 */
export default async function run(): Promise<void> {
  await labRuns();
  await simulatedRun();
}

async function labRuns(): Promise<void> {
  const el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: "3600000" });
  try {
    const hosts = [];
    const t0 = performance.now();
    for (let i = 0; i < Math.max(...LAB_SIZES); i++) {
      const h = await el.lab.addKvmHost(`b${i}`);
      await el.register(h);
      await exec(["ip", "-n", h.ns, "-batch", "-"], "link add bn0 type veth peer name bn0p\nlink set bn0 up\n");
      hosts.push(h);
    }
    process.stdout.write(`lab: ${hosts.length} KVM hosts up in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const tenant = await el.gateway.tenant("bench");
    const bucket = await JsonBucket.open<TunnelSetView>(el.nc, "sdn_element_tunnels");
    for (const n of LAB_SIZES) {
      const networkId = await el.createNetwork(`bench-${n}`, "10.88.0.0/16", tenant.token);
      // Each size gets fresh devices: the previous network's NICs stay where they are.
      const ports = await Promise.all(hosts.slice(0, n).map(async (h) => (await h.addGuestPorts(`bench-${n}-`, 1))[0]));
      const trips = el.agentRoundTrips();
      const start = performance.now();
      const answers = await Promise.all(
        hosts
          .slice(0, n)
          .map((h, i) =>
            el.http(
              "POST",
              `/v1/networks/${networkId}/nics`,
              { vmId: ports[i]?.vmId, hostId: el.hostId(h), hostInterface: ports[i]?.device },
              tenant.token,
            ),
          ),
      );
      const failed = answers.filter((a) => a.statusCode !== 201);
      if (failed.length > 0) throw new Error(`plugs failed: ${failed.map((f) => f.body).join("; ")}`);
      await established(bucket, networkId, n, 120_000);
      const ms = performance.now() - start;
      process.stdout.write(
        `lab N=${String(n).padStart(3)}: every host's tunnels Established in ${ms.toFixed(0)} ms ` +
          `(${n * (n - 1)} tunnels, ${el.agentRoundTrips() - trips} agent round trips)\n`,
      );
    }
  } finally {
    await el.close();
  }
}

async function simulatedRun(): Promise<void> {
  const nats = await TestNatsServer.start();
  const nc = await connect({ servers: nats.url });
  const services: RunningService<never>[] = [];
  const sim = new SimulatedAgents(nc, SIM_SIZE);
  try {
    const base = { NATS_URL: nats.url, LOG_LEVEL: "silent" };
    for (const [spec, env] of [
      [networkGuruSpec, {}],
      [sim.registrySpec(), {}],
      [ovsElementSpec, { SDN_RECONCILE_INTERVAL_MS: "3600000" }],
    ] as const) {
      services.push((await startService(spec as never, { ...base, ...env })) as RunningService<never>);
    }
    const element = elementOfContext((services[2] as RunningService<never>).context);
    if (element === undefined) throw new Error("no element");
    const client = new CommandClient(nc);
    const bucket = await JsonBucket.open<TunnelSetView>(nc, "sdn_element_tunnels");
    const net = await client.send(CreateNetwork, { name: "sim", cidr: "10.0.0.0/16" }, { ...ADMIN, timeoutMs: 10_000 });
    if (!net.ok) throw new Error(net.error.message);
    // Implemented beforehand: the figure is the mesh, not the key allocation.
    await client.send(ImplementNetwork, { networkId: net.data.id }, { ...ADMIN, timeoutMs: 10_000 });
    const before = { element: element.agents.roundTrips, sim: sim.roundTrips() };
    const start = performance.now();
    const answers = await Promise.all(
      sim.hosts.map((h) =>
        client.send(
          PlugNic,
          // vnet0 is the first simulated guest's tap.
          { networkId: net.data.id, vmId: "sim-vm-1", hostId: h.id, hostInterface: "vnet0" },
          { ...ADMIN, timeoutMs: 120_000 },
        ),
      ),
    );
    const answered = performance.now() - start;
    const failed = answers.filter((a) => !a.ok);
    if (failed.length > 0) throw new Error(`plugs failed: ${JSON.stringify(failed[0])}`);
    await established(bucket, net.data.id, SIM_SIZE, 120_000);
    const ours = performance.now() - start;
    const ourTrips = sim.roundTrips() - before.sim;
    const applies = [...sim.hosts].reduce((a, h) => a + (h.calls.get("ApplyTunnels") ?? 0), 0);
    const complete = sim.hosts.every((h) => h.bridges.get(net.data.id)?.tunnels.size === SIM_SIZE - 1);

    // Baseline: one tunnel per agent call, each host's calls in sequence, hosts in parallel.
    const baseNet = "00000000-0000-4000-8000-000000000200";
    const t1 = performance.now();
    await Promise.all(
      sim.hosts.map(async (h) => {
        await request(nc, SetupBridge, agentSubject(h.id, SetupBridge.name), { networkId: baseNet });
        for (const peer of sim.hosts) {
          if (peer === h) continue;
          // One tunnel in the call, as CloudStack's create_tunnel (only the round trips matter here).
          await request(nc, ApplyTunnels, agentSubject(h.id, ApplyTunnels.name), {
            networkId: baseNet,
            greKey: 4242,
            remotes: [{ ip: peer.ip, hostId: peer.id }],
          });
        }
      }),
    );
    const single = performance.now() - t1;
    const singleTrips = SIM_SIZE * (SIM_SIZE - 1) + SIM_SIZE;
    process.stdout.write(
      `simulated N=${SIM_SIZE} (control plane only, hosts answer from memory):\n` +
        `  whole tunnel set per host, one call each: ${ours.toFixed(0)} ms to every host's tunnels Established, ` +
        `${ourTrips} agent round trips (${applies} ApplyTunnels), mesh complete: ${complete}; ` +
        `every plug answered after ${answered.toFixed(0)} ms\n` +
        `  one tunnel per agent call (${singleTrips} round trips, hosts in parallel): ${single.toFixed(0)} ms ` +
        `(rows and events not even recorded)\n`,
    );
  } finally {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await sim.close();
    await nc.close();
    await nats.dispose();
  }
}
