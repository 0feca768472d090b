import { startHarness } from "@sdn/api-gateway/testing";
import { networkGuruSpec } from "@sdn/network-guru";
import { createLogger, startService } from "@sdn/runtime";
import { waitFor } from "@sdn/testkit";
import type { ChildProcess } from "node:child_process";
import Fastify from "fastify";
import { destination } from "pino";
import { cpuMsOf, spawnGuru, stopGuru } from "./guru-process.js";
import { loadFromProcess, type LoadFigures } from "./load-process.js";
import { pacedLoad } from "./paced-load.js";
import { percentile } from "./stats.js";

/**
 * The HTTP read path (issue 18), side by side in one run, as figures and as ratios (the
 * machine's load moves the absolute ones): an authenticated `GET /v1/networks/{id}` (a
 * request-tier read to a real guru) at its peak against the gateway's own `/healthz` and a
 * bare Fastify; the same read at a fixed 1,000 req/s (p99), as autocannon paces it (each
 * second's share sent back to back: a burst) and evenly (paced-load.ts), next to the bare
 * Fastify at that even pace (the tail the machine leaves); `/healthz` with the access log on
 * (`info`) and off (`warn`).
 *
 * The machine is shared, so a neighbour's burst can halve one run: the figures compared as
 * ratios (logging on against off, the read against `/healthz`) come from ROUNDS rounds, each
 * of the three runs back to back (the levels in alternating order), and each ratio is the
 * median of the rounds' own ratios, shown with their spread. Each ratio is given twice: by
 * the server's CPU time per request (load-process.ts: the steady one) and by throughput.
 *
 * Those lines run the guru in this process, so the read's CPU is the gateway's and the
 * guru's together, on one event loop. The last line runs the read again with the guru in a
 * process of its own, as deployed: the gateway's CPU per read against its `/healthz`, and
 * the guru's CPU per read beside it (added, not a replacement: the in-process lines stay
 * comparable with earlier runs).
 */
const CONNECTIONS = 50;
const SECONDS = 5;
const ROUNDS = 7;
const ROUND_SECONDS = 2;

type Figures = LoadFigures;

const load = (url: string, opts: { headers?: Record<string, string>; overallRate?: number; seconds?: number } = {}) =>
  loadFromProcess(url, { connections: CONNECTIONS, seconds: SECONDS, ...opts });

const line = (what: string, f: Pick<Figures, "rps" | "p99" | "non2xx">, target: string, baseline: string) =>
  process.stdout.write(
    `${what.padEnd(44)} ${f.rps.toFixed(0).padStart(6)} req/s  p99 ${f.p99.toFixed(1).padStart(6)} ms` +
      `${f.non2xx > 0 ? `  (${f.non2xx} not 2xx!)` : ""}  target: ${target}  ${baseline}\n`,
  );

const median = (values: readonly number[]): number => percentile(values, 50);

/** The run of median throughput among repeated ones (its p99 and failures come with it). */
const medianRun = (runs: readonly Figures[]): Figures => {
  const m = median(runs.map((r) => r.rps));
  return runs.reduce((a, b) => (Math.abs(b.rps - m) < Math.abs(a.rps - m) ? b : a), runs[0] as Figures);
};

/** Percentages, one per round: their median, and their spread in brackets. */
const spread = (percents: readonly number[]) =>
  `${median(percents).toFixed(1)} % [${Math.min(...percents).toFixed(0)}..${Math.max(...percents).toFixed(0)}]`;

const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;

/** Each round's read as a share of the same round's `/healthz`: by CPU per request and by rate (%). */
const shareOfHealth = (reads: readonly Figures[], health: readonly Figures[]) => {
  const healthOf = (i: number) => health[i] as Figures;
  return {
    cpu: reads.map((r, i) => (healthOf(i).cpuUs / r.cpuUs) * 100),
    rate: reads.map((r, i) => (r.rps / healthOf(i).rps) * 100),
  };
};

const cpu = (f: Figures) => `CPU ${f.cpuUs.toFixed(0)} us/req`;

export default async function run(): Promise<void> {
  // Lines go to /dev/null through the writer a service logs to stdout with (pino's own,
  // asynchronous): the cost measured is building and writing them, not a terminal's.
  const logger = createLogger("api-gateway", "info", destination({ dest: "/dev/null", sync: false }));
  const h = await startHarness({ commandWaitMs: 5_000, rateLimitPerMinute: 100_000_000, logger });
  const guru = await startService(networkGuruSpec as Parameters<typeof startService>[0], {
    NATS_URL: h.nats.url,
    LOG_LEVEL: "warn",
  });
  let guruStopped = false;
  let ownGuru: ChildProcess | undefined;
  const bare = Fastify();
  bare.get("/healthz", async () => ({ status: "ok" }));
  try {
    const base = await h.app.listen({ port: 0, host: "127.0.0.1" });
    const bareBase = await bare.listen({ port: 0, host: "127.0.0.1" });
    const { token } = await h.tenant("bench");
    const headers = { authorization: `Bearer ${token}` };
    const created = await h.app.inject({
      method: "POST",
      url: "/v1/networks",
      headers,
      payload: { name: "bench", cidr: "10.90.0.0/24" },
    });
    const networkId = created.json<{ id: string }>().id;
    const read = `${base}/v1/networks/${networkId}`;
    await load(read, { headers }); // warm up (JIT, connections, the guru's caches)

    const bareFigures = await load(`${bareBase}/healthz`);
    // A route's first run after another's is the slower (its code still warming): not a round's.
    await load(`${base}/healthz`, { seconds: ROUND_SECONDS });
    const rounds = { info: [] as Figures[], warn: [] as Figures[], read: [] as Figures[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const level of round % 2 === 0 ? (["info", "warn"] as const) : (["warn", "info"] as const)) {
        h.app.log.level = level;
        rounds[level].push(await load(`${base}/healthz`, { seconds: ROUND_SECONDS }));
      }
      h.app.log.level = "info";
      rounds.read.push(await load(read, { headers, seconds: ROUND_SECONDS }));
    }
    const healthInfo = medianRun(rounds.info);
    const healthWarn = medianRun(rounds.warn);
    const peak = medianRun(rounds.read);
    // Per round, from CPU time per request (steady) and from throughput (what the targets name).
    const warnOf = (i: number) => rounds.warn[i] as Figures;
    const loggingCpu = rounds.info.map((info, i) => 100 - (warnOf(i).cpuUs / info.cpuUs) * 100);
    const loggingRate = rounds.info.map((info, i) => 100 - (info.rps / warnOf(i).rps) * 100);
    const readShare = shareOfHealth(rounds.read, rounds.info);
    const fixed = await load(read, { headers, overallRate: 1_000 });
    const paced = await pacedLoad(read, headers, 1_000, SECONDS);
    // The same pace against the bare server: what the machine and the load leave of the tail.
    const bareEven = await pacedLoad(`${bareBase}/healthz`, {}, 1_000, SECONDS);

    await guru.stop();
    guruStopped = true;
    ownGuru = spawnGuru(h.nats.url);
    const guruPid = ownGuru.pid ?? 0;
    const path = `/v1/networks/${networkId}`;
    await waitFor(
      "the guru in its own process to answer",
      async () => ((await h.app.inject({ url: path, headers })).statusCode === 200 ? true : undefined),
      30_000,
    );
    await load(read, { headers, seconds: ROUND_SECONDS }); // warm up the new guru
    const own = { health: [] as Figures[], read: [] as Figures[], guruUs: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      own.health.push(await load(`${base}/healthz`, { seconds: ROUND_SECONDS }));
      const guruBefore = cpuMsOf(guruPid);
      const r = await load(read, { headers, seconds: ROUND_SECONDS });
      own.read.push(r);
      own.guruUs.push(((cpuMsOf(guruPid) - guruBefore) * 1000) / Math.max(1, r.requests));
    }
    const ownPeak = medianRun(own.read);
    const ownShare = shareOfHealth(own.read, own.health);

    process.stdout.write(
      `autocannon (its own process), ${CONNECTIONS} connections, ${SECONDS} s each (${ROUNDS} rounds of ` +
        `${ROUND_SECONDS} s for the /healthz and peak lines: median run; ratios: the median of the rounds' ` +
        `[min..max], by the server's CPU time per request, and by throughput); machine shared\n`,
    );
    line("bare fastify GET /healthz (baseline)", bareFigures, "-", cpu(bareFigures));
    line(
      "gateway GET /healthz, LOG_LEVEL=warn",
      healthWarn,
      "-",
      `${cpu(healthWarn)}, ${pct(healthWarn.rps, bareFigures.rps)} of bare`,
    );
    line(
      "gateway GET /healthz, LOG_LEVEL=info",
      healthInfo,
      "logging costs < 10 %",
      `${cpu(healthInfo)}, costs ${spread(loggingCpu)} of the CPU (${spread(loggingRate)} of the rate)`,
    );
    line(
      "GET /v1/networks/{id} (authenticated), peak",
      peak,
      ">= 10,000/s or >= 50 % of /healthz",
      `${cpu(peak)}, ${spread(readShare.cpu)} of /healthz by CPU (${spread(readShare.rate)} by rate), ` +
        `${pct(peak.rps, bareFigures.rps)} of bare`,
    );
    line("GET /v1/networks/{id} at 1,000 req/s", fixed, "p99 < 20 ms", "(issue's baseline: p99 76 ms durable)");
    line(
      "GET /v1/networks/{id} at 1,000 req/s, even",
      paced,
      "p99 < 20 ms",
      `p50 ${paced.p50.toFixed(1)} ms (one request a millisecond, not a burst a second)`,
    );
    line(
      "bare fastify GET /healthz at 1,000 req/s, even",
      bareEven,
      "-",
      `p50 ${bareEven.p50.toFixed(1)} ms (baseline: the machine's own tail)`,
    );
    line(
      "GET /v1/networks/{id}, guru in own process",
      ownPeak,
      ">= 10,000/s or >= 50 % of /healthz",
      `gateway CPU ${ownPeak.cpuUs.toFixed(0)} us/req (guru ${median(own.guruUs).toFixed(0)} us/req), ` +
        `${spread(ownShare.cpu)} of /healthz by gateway CPU (${spread(ownShare.rate)} by rate)`,
    );
  } finally {
    await bare.close();
    if (ownGuru !== undefined) await stopGuru(ownGuru);
    if (!guruStopped) await guru.stop();
    await h.close();
  }
}
