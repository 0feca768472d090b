import { CommandClient, connectBus, silentLogger } from "@sdn/bus";
import { CreateNetwork, eventSubject, ReserveNicAddress, ServiceStarted } from "@sdn/contracts";
import { TestNatsCluster, TestNatsServer, waitFor } from "@sdn/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { percentile } from "./stats.js";

const COMMANDS = 3_000;
const IN_FLIGHT = 64;
const as = { role: "tenant", accountId: "bench" } as const;
const guruMain = fileURLToPath(new URL("../../services/network-guru/src/main.ts", import.meta.url));

const spawnGuru = (natsUrl: string, replicas: number): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", "--conditions=sdn-source", guruMain], {
    env: { ...process.env, NATS_URL: natsUrl, SDN_NATS_REPLICAS: String(replicas), LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });

/** Durable commands (guest address reservations: a stream write, KV writes, an answer) at a fixed concurrency. */
const measure = async (natsUrl: string, replicas: number): Promise<{ rate: number; p50: number; p99: number }> => {
  const nc = await connectBus({ servers: natsUrl, name: "bench", logger: silentLogger });
  const guru = spawnGuru(natsUrl, replicas);
  try {
    let up = false;
    nc.subscribe(eventSubject("network-guru", ServiceStarted["network-guru"].name, undefined), {
      callback: () => void (up = true),
    });
    await waitFor("the guru", () => (up ? true : undefined), 60_000);
    const client = new CommandClient(nc);
    const created = await client.send(CreateNetwork, { name: "bench", cidr: "10.128.0.0/16" }, as);
    if (!created.ok) throw new Error(created.error.message);
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < COMMANDS) {
          const nicId = `nic-${next++}`;
          const t0 = performance.now();
          const a = await client.send(
            ReserveNicAddress,
            { networkId: created.data.id, nicId },
            { ...as, timeoutMs: 30_000 },
          );
          if (!a.ok) throw new Error(`${nicId}: ${a.error.message}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const secs = (performance.now() - started) / 1000;
    return { rate: COMMANDS / secs, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await new Promise<void>((resolve) => {
      if (guru.exitCode !== null) return resolve();
      guru.once("exit", () => resolve());
      guru.kill("SIGTERM");
    });
    await nc.close();
  }
};

/**
 * Command throughput and latency on a three-node cluster with every stream and bucket at
 * three replicas, against one server at one replica, in the same run: what replicated state
 * costs (each write waits for a quorum of two).
 */
export default async function run(): Promise<void> {
  const single = await TestNatsServer.start();
  const r1 = await measure(single.url, 1).finally(() => single.dispose());
  const cluster = await TestNatsCluster.start(3);
  const r3 = await measure(cluster.url, 3).finally(() => cluster.dispose());
  const line = (what: string, m: { rate: number; p50: number; p99: number }) =>
    `${what}: ${m.rate.toFixed(0)} commands/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms\n`;
  process.stdout.write(line("1 server, R1 (baseline)", r1));
  process.stdout.write(line("3-node cluster, R3", r3));
  process.stdout.write(`R3 on 3 nodes runs at ${((100 * r3.rate) / r1.rate).toFixed(0)} % of R1's rate\n`);
}
