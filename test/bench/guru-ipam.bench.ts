import { CommandClient, connectBus, silentLogger } from "@sdn/bus";
import { CreateNetwork, eventFilter, ReserveNicAddress, ServiceStarted } from "@sdn/contracts";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { percentile } from "./stats.js";

const RESERVATIONS = 6_000;
const IN_FLIGHT = 128;
const as = { role: "tenant", accountId: "bench" } as const;

const guruMain = fileURLToPath(new URL("../../services/network-guru/src/main.ts", import.meta.url));

/**
 * A guru replica in its own process, as deployed (the bench process plays the gateway).
 * With SDN_BENCH_CPU_PROF=1 each replica writes a V8 CPU profile to .data/bench-profiles.
 */
const spawnGuru = (natsUrl: string): ChildProcess =>
  spawn(
    process.execPath,
    [
      ...(process.env["SDN_BENCH_CPU_PROF"] ? ["--cpu-prof", "--cpu-prof-dir=.data/bench-profiles"] : []),
      "--import",
      "tsx",
      "--conditions=sdn-source",
      guruMain,
    ],
    {
      env: { ...process.env, NATS_URL: natsUrl, LOG_LEVEL: "warn" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );

const stopGuru = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });

/**
 * Guest address reservations through the durable command tier (publish → JetStream →
 * guru replica → KV compare-and-swap → answer), with one and with two guru replicas,
 * each replica in its own process and each run on a fresh /16 network. Checks that no
 * address was handed out twice.
 */
export default async function run(): Promise<void> {
  for (const replicas of [1, 2]) {
    const nats = await TestNatsServer.start();
    const gurus: ChildProcess[] = [];
    // Connected as the gateway is (connectBus), so the client costs what it costs there.
    const nc = await connectBus({ servers: nats.url, name: "bench", logger: silentLogger });
    try {
      let up = 0;
      nc.subscribe(eventFilter({ service: "network-guru", event: ServiceStarted["network-guru"].name }), {
        callback: () => void up++,
      });
      for (let i = 0; i < replicas; i++) gurus.push(spawnGuru(nats.url));
      await waitFor(`${replicas} guru replica(s)`, () => (up === replicas ? true : undefined), 30_000);
      const client = new CommandClient(nc);
      const created = await client.send(CreateNetwork, { name: "bench", cidr: "10.128.0.0/16" }, as);
      if (!created.ok) throw new Error(created.error.message);
      const networkId = created.data.id;
      const ips = new Set<string>();
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < RESERVATIONS) {
            const nicId = `nic-${next++}`;
            const t0 = performance.now();
            const a = await client.send(ReserveNicAddress, { networkId, nicId }, { ...as, timeoutMs: 30_000 });
            if (!a.ok) throw new Error(`${nicId}: ${a.error.message}`);
            latencies.push(performance.now() - t0);
            ips.add(a.data.ip);
          }
        }),
      );
      const secs = (performance.now() - started) / 1000;
      const duplicates = RESERVATIONS - ips.size;
      process.stdout.write(
        `ReserveNicAddress, ${replicas} replica(s), ${IN_FLIGHT} in flight, ${RESERVATIONS} on one /16: ` +
          `${(RESERVATIONS / secs).toFixed(0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
          `p99 ${percentile(latencies, 99).toFixed(1)} ms, duplicates ${duplicates}\n`,
      );
      if (duplicates !== 0) throw new Error(`${duplicates} addresses were handed out twice`);
    } finally {
      await Promise.all(gurus.map(stopGuru));
      await nc.close();
      await nats.dispose();
    }
  }
}
