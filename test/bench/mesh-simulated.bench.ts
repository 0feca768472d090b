import { connect } from "@nats-io/transport-node";
import { CommandClient, JsonBucket, request } from "@sdn/bus";
import { agentSubject, ApplyTunnels, CreateNetwork, ImplementNetwork, PlugNic, SetupBridge } from "@sdn/contracts";
import { networkGuruSpec } from "@sdn/network-guru";
import { ovsElementSpec } from "@sdn/ovs-element";
import { startService, type RunningService } from "@sdn/runtime";
import { TestNatsServer } from "@sdn/testkit";
import { established, type TunnelSetView } from "./mesh-wait.js";
import { SimulatedAgents } from "./simulated-agent.js";

const SIM_SIZE = 200;
const ADMIN = { role: "admin" as const, accountId: "bench" };

/**
 * Mesh convergence at scale: N = 200 simulated hosts — a CONTROL-PLANE-ONLY simulation that
 * answers the agent contract from memory (test/bench/simulated-agent.ts) — one NIC plugged
 * on each, all at once, through the bus: time to "every host's tunnels Established" and the
 * agent calls it took. Then, against the same simulated hosts in the same run, the
 * baseline: one tunnel per agent call (CloudStack's OvsCreateTunnelCommand per pair, in
 * sequence on each host, hosts in parallel). BENCH_LOG_LEVEL shows the services' logs.
 */
export default async function run(): Promise<void> {
  const nats = await TestNatsServer.start();
  const nc = await connect({ servers: nats.url });
  const services: RunningService<never>[] = [];
  const sim = new SimulatedAgents(nc, SIM_SIZE);
  try {
    const base = { NATS_URL: nats.url, LOG_LEVEL: process.env["BENCH_LOG_LEVEL"] ?? "silent" };
    for (const [spec, env] of [
      [networkGuruSpec, {}],
      [sim.registrySpec(), {}],
      [ovsElementSpec, { SDN_RECONCILE_INTERVAL_MS: "3600000" }],
    ] as const) {
      services.push((await startService(spec as never, { ...base, ...env })) as RunningService<never>);
    }
    const client = new CommandClient(nc);
    const bucket = await JsonBucket.open<TunnelSetView>(nc, "sdn_element_tunnels");
    const net = await client.send(CreateNetwork, { name: "sim", cidr: "10.0.0.0/16" }, { ...ADMIN, timeoutMs: 10_000 });
    if (!net.ok) throw new Error(net.error.message);
    // Implemented beforehand: the figure is the mesh, not the key allocation.
    await client.send(ImplementNetwork, { networkId: net.data.id }, { ...ADMIN, timeoutMs: 10_000 });
    const before = { sim: sim.roundTrips() };
    const start = performance.now();
    const answers = await Promise.all(
      sim.hosts.map((h) =>
        client.send(
          PlugNic,
          // vnet0 is the tap of the one simulated guest of each host (a VM lives on one host).
          { networkId: net.data.id, vmId: `vm-${h.id}`, hostId: h.id, hostInterface: "vnet0" },
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
    // Read before the baseline, which calls the same simulated hosts.
    const counted = new Map(
      ["ApplyTunnels", "SetupBridge", "PlugVif"].map((name) => [
        name,
        sim.hosts.reduce((a, h) => a + (h.calls.get(name) ?? 0), 0),
      ]),
    );
    const calls = (name: string) => counted.get(name) ?? 0;
    const applies = calls("ApplyTunnels");
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
    const perHost = (n: number) => (n / SIM_SIZE).toFixed(2);
    process.stdout.write(
      `simulated N=${SIM_SIZE}, one NIC per host plugged at once (control plane only, hosts answer from memory; ` +
        `absolute times depend on the machine and its load, compare the ratio):\n` +
        `  convergence: ${ours.toFixed(0)} ms to every host's tunnels Established (target < 1000 ms), ` +
        `every plug answered after ${answered.toFixed(0)} ms, mesh complete: ${complete}\n` +
        `  agent calls: ${ourTrips} = ${perHost(ourTrips)} per host: ApplyTunnels ${applies} ` +
        `(${perHost(applies)} per host, target ≤ 2 per host per change), SetupBridge ${calls("SetupBridge")}, ` +
        `PlugVif ${calls("PlugVif")} (the plug's own)\n` +
        `  baseline, one tunnel per agent call (${singleTrips} round trips, hosts in parallel, rows and events not ` +
        `recorded): ${single.toFixed(0)} ms → whole sets coalesced are ${(single / ours).toFixed(1)}× faster ` +
        `(target ≥ 10×)\n`,
    );
  } finally {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await sim.close();
    await nc.close();
    await nats.dispose();
  }
}
