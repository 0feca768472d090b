import { waitFor } from "@sdn/testkit";
import { exec, type KvmLabHost } from "../lab/index.js";
import { ElementLab, ovsView } from "../ovs-element/element-lab.js";
import { percentile } from "./stats.js";

const ROUNDS = 5;
const HOUR_MS = "3600000";
const COOKIE = "cookie=0x5d5ec00000000001/-1";

/**
 * Time from ovs-vswitchd restarted on a KVM lab host (database kept, every flow lost) to its
 * port-security flows back, through the agent's watch (the OpenFlow management socket held
 * over SSH → restore_flows); the periodic checks are set to an hour. Reported from the
 * restart command and from the new ovs-vswitchd running (its own start excluded).
 */
export default async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stdout.write("skipped: the lab needs root\n");
    return;
  }
  const el = await ElementLab.start({ SDN_RECONCILE_INTERVAL_MS: HOUR_MS }, { SDN_FLOW_CHECK_INTERVAL_MS: HOUR_MS });
  try {
    const h = await el.lab.addKvmHost("fr");
    await el.register(h);
    const tenant = await el.gateway.tenant("bench");
    const networkId = await el.createNetwork("flow-bench", "192.168.74.0/24", tenant.token);
    for (const [i, ip] of ["192.168.74.11/24", "192.168.74.12/24"].entries()) {
      await el.plug(networkId, el.plugBody(h, await h.addVm(`v${i}`, ip)), tenant.token);
    }
    const bridge = (await ovsView(h, networkId)).bridge as string;
    const wanted = (await flows(h, bridge)).length;
    const fromRestart: number[] = [];
    const fromRunning: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      await h.restartVswitchd();
      const running = performance.now();
      await waitFor(
        "the flows back",
        async () => ((await flows(h, bridge)).length === wanted ? true : undefined),
        30_000,
        10,
      );
      fromRestart.push(performance.now() - t0);
      fromRunning.push(performance.now() - running);
    }
    const f = (xs: number[]) =>
      `median ${percentile(xs, 50).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(", ")})`;
    process.stdout.write(
      `ovs-vswitchd restarted → ${wanted} port-security flows back (shared loaded machine, noisy), ${ROUNDS} rounds:\n` +
        `  from the restart command:        ${f(fromRestart)}\n` +
        `  from the new ovs-vswitchd running: ${f(fromRunning)}\n`,
    );
  } finally {
    await el.close();
  }
}

const flows = async (h: KvmLabHost, bridge: string): Promise<string[]> =>
  (await exec(h.argv(["ovs-ofctl", "--no-stats", "dump-flows", bridge, COOKIE])))
    .split("\n")
    .filter((l) => l.includes("cookie="));
