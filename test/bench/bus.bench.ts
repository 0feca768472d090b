import { connect } from "@nats-io/transport-node";
import { bindHandler, CommandClient, CommandServer, ensureStreams, registerMicro, silentLogger } from "@sdn/bus";
import { CheckHealth } from "@sdn/contracts";
import { TestNatsServer } from "@sdn/testkit";
import { percentile } from "./stats.js";

/** The same handler as a read on the request tier (`delivery: "request"`). */
const ReadHealth = { ...CheckHealth["network-guru"], name: "BenchRead", delivery: "request" as const };

/**
 * Round trips of the durable command tier (publish → consumer → answer event) and, in the
 * same run, of the request tier reads take (a core NATS request to a micro endpoint).
 */
export default async function run(): Promise<void> {
  const nats = await TestNatsServer.start();
  const nc = await connect({ servers: nats.url });
  try {
    await ensureStreams(nc);
    const server = new CommandServer(nc, {
      service: "network-guru",
      logger: silentLogger,
      handlers: [
        bindHandler(CheckHealth["network-guru"], async () => ({
          data: { service: "network-guru", version: "bench", instanceId: "bench", uptimeSeconds: 0 },
          details: "ok",
        })),
      ],
    });
    await server.start();
    const health = async () => ({
      data: { service: "network-guru" as const, version: "bench", instanceId: "bench", uptimeSeconds: 0 },
      details: "ok",
    });
    const micro = await registerMicro(nc, {
      name: "network-guru",
      version: "0.0.0",
      description: "bench",
      instanceId: "bench",
      logger: silentLogger,
      health: () => Promise.resolve({ status: "up" }),
      requests: { service: "network-guru", handlers: [bindHandler(ReadHealth, health)] },
    });
    const client = new CommandClient(nc);
    const rates: Record<string, number> = {};
    for (const [tier, def] of [
      ["durable commands", CheckHealth["network-guru"]],
      ["request-tier reads", ReadHealth],
    ] as const) {
      for (const concurrency of [1, 64]) {
        const total = concurrency === 1 ? 500 : 4000;
        const latencies: number[] = [];
        const started = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < total) {
              next++;
              const t0 = performance.now();
              const a = await client.send(def, {});
              if (!a.ok) throw new Error(a.error.message);
              latencies.push(performance.now() - t0);
            }
          }),
        );
        const secs = (performance.now() - started) / 1000;
        rates[`${tier} ${concurrency}`] = latencies.length / secs;
        process.stdout.write(
          `${tier}, ${concurrency} in flight: ${(latencies.length / secs).toFixed(0)}/s, ` +
            `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms\n`,
        );
      }
    }
    const ratio = (rates["request-tier reads 64"] ?? 0) / (rates["durable commands 64"] ?? 1);
    process.stdout.write(`request tier vs durable, 64 in flight: ${ratio.toFixed(1)}x (same handler, same run)\n`);
    await micro.service.stop();
    await server.stop();
  } finally {
    await nc.close();
    await nats.dispose();
  }
}
