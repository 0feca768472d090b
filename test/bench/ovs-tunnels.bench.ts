import { fileURLToPath } from "node:url";
import { Lab } from "../lab/index.js";
import { percentile } from "./stats.js";

const SCRIPT = fileURLToPath(new URL("../../services/hypervisor-agent/host/sdn-ovs-kvm", import.meta.url));
const TUNNELS = 100;
const ROUNDS = 3;

/**
 * 100 GRE tunnels on one lab host: our host program applying the whole set in one
 * ovs-vsctl transaction, against 100 `ovs-vsctl add-port` processes (CloudStack's way,
 * one create_tunnel per peer). Both on the same host in the same run.
 */
export default async function run(): Promise<void> {
  const lab = await Lab.create();
  try {
    const host = await lab.addKvmHost("bench");
    const remotes = Array.from({ length: TUNNELS }, (_, i) => ({
      ip: `10.99.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    }));
    const program = async (fn: string, args: object) => {
      const r = await host.exec([SCRIPT, fn], JSON.stringify(args));
      if (r.code !== 0) throw new Error(`${fn}: ${r.stdout}`);
    };
    await program("setup_bridge", { bridge: "sdnbench", networkId: "bench" });
    const batch: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = performance.now();
      await program("apply_tunnels", { networkId: "bench", key: 4242, remotes });
      batch.push(performance.now() - t0);
      await program("apply_tunnels", { networkId: "bench", key: 4242, remotes: [] });

      t0 = performance.now();
      for (const [i, r] of remotes.entries()) {
        const port = `t4242-${i}`;
        await host.vsctl(
          "add-port",
          "sdnbench",
          port,
          "--",
          "set",
          "Interface",
          port,
          "type=gre",
          `options:remote_ip=${r.ip}`,
          "options:key=4242",
        );
      }
      single.push(performance.now() - t0);
      await host.vsctl(...remotes.flatMap((_, i) => ["--", "del-port", `t4242-${i}`]));
    }
    const med = (xs: number[]) => percentile(xs, 50).toFixed(0);
    process.stdout.write(
      `${TUNNELS} GRE tunnels on one host (median of ${ROUNDS}):\n` +
        `  one ApplyTunnels batch (one OVSDB transaction): ${med(batch)} ms\n` +
        `  ${TUNNELS} single ovs-vsctl add-port calls:         ${med(single)} ms\n` +
        `  speed-up: ${(percentile(single, 50) / percentile(batch, 50)).toFixed(1)}x\n`,
    );
  } finally {
    await lab.dispose();
  }
}
