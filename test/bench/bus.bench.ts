import { connect } from "@nats-io/transport-node";
import { bindHandler, CommandClient, CommandServer, ensureStreams, silentLogger } from "@sdn/bus";
import { CheckHealth } from "@sdn/contracts";
import { TestNatsServer } from "@sdn/testkit";
import { percentile } from "./stats.js";

/** Round trips of the durable command tier: publish → consumer → answer event. */
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
    const client = new CommandClient(nc);
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
            const a = await client.send(CheckHealth["network-guru"], {});
            if (!a.ok) throw new Error(a.error.message);
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const secs = (performance.now() - started) / 1000;
      process.stdout.write(
        `durable commands, ${concurrency} in flight: ${(latencies.length / secs).toFixed(0)}/s, ` +
          `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms\n`,
      );
    }
    await server.stop();
  } finally {
    await nc.close();
    await nats.dispose();
  }
}
