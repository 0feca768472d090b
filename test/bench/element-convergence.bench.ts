import { JsonBucket } from "@sdn/bus";
import { exec } from "../lab/index.js";
import { ElementLab } from "../ovs-element/element-lab.js";
import { established, type TunnelSetView } from "./mesh-wait.js";

const LAB_SIZES = [4, 8, 16];

/**
 * Network convergence: time from the plug calls (one NIC on every host, all at once) to
 * "every host's tunnels Established", with the agent round trips it took.
 * Emulated lab hosts (real OVS), N = 4, 8, 16, through the HTTP API. The 200-host figure
 * and its baseline are in mesh-simulated.bench.ts.
 */
export default async function run(): Promise<void> {
  await labRuns();
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
