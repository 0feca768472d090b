import { CommandClient, connectBus, silentLogger } from "@sdn/bus";
import {
  CheckHealth,
  CreateNetwork,
  eventFilter,
  ReserveNicAddress,
  ReserveNicAddresses,
  ServiceStarted,
} from "@sdn/contracts";
import { TestNatsServer, waitFor } from "@sdn/testkit";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { cpuMsOf, spawnGuru, stopGuru } from "./guru-process.js";
import { percentile } from "./stats.js";

const RESERVATIONS = 6_000;
const TARGET_PER_S = 5_000;
const IN_FLIGHT = 128;
/** NICs per ReserveNicAddresses, and such commands in flight at once (as a burst of plugs sends them). */
const BATCH = 64;
const BATCHES_IN_FLIGHT = 16;
/** Batched reservations measured: a whole number of batches, about as many as the singles. */
const BATCHES = Math.ceil(RESERVATIONS / BATCH);
const as = { role: "tenant", accountId: "bench" } as const;

/** The machine's busy and total CPU time so far, in clock ticks, over all cores (/proc/stat). */
const machineTicks = (): { busy: number; total: number } => {
  const ticks = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
};

/** This process's children named nats-server: the test server (its handle keeps the process private). */
const natsServerPids = (): number[] =>
  readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8")
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((pid) => pid > 0 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "nats-server");

/**
 * CPU spent per call by the guru replicas and the nats-server while `work` runs: it moves
 * less than calls per second when other jobs share the machine (CI, parallel helpers).
 * Also how busy the machine and the busiest replica were (% of all cores, % of one core).
 */
const cpuPerCall = async <T>(pids: number[], replicas: number[], work: () => Promise<T>, calls = RESERVATIONS) => {
  const total = (of: number[]) => of.reduce((ms, pid) => ms + cpuMsOf(pid), 0);
  const before = total(pids);
  const replicasBefore = replicas.map(cpuMsOf);
  const client = process.cpuUsage();
  const machine = machineTicks();
  const started = performance.now();
  const result = await work();
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(client);
  const after = machineTicks();
  // Whole machine (neighbours included): near 100 % the run is bound by cores, not by a replica.
  const machineBusy = (100 * (after.busy - machine.busy)) / Math.max(1, after.total - machine.total);
  const replicaBusy = Math.max(...replicas.map((pid, i) => (100 * (cpuMsOf(pid) - (replicasBefore[i] ?? 0))) / wallMs));
  return {
    result,
    cpuMs: (total(pids) - before) / calls,
    clientCpuMs: (user + system) / 1000 / calls,
    machineBusy,
    replicaBusy,
  };
};

/** Runs `calls` calls, `inFlight` at a time: reservations per second (`per` each) and latency percentiles. */
const rate = async (call: (i: number) => Promise<void>, calls = RESERVATIONS, inFlight = IN_FLIGHT, per = 1) => {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < calls) {
        const i = next++;
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const perSecond = (calls * per) / ((performance.now() - started) / 1000);
  return { perSecond, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
};

/**
 * Guest address reservations through the durable command tier (publish → JetStream →
 * guru replica → KV compare-and-swap → answer), with one and with two guru replicas,
 * each replica in its own process and each run on a fresh /16 network. Checks that no
 * address was handed out twice.
 */
export default async function run(): Promise<void> {
  const batchRates: number[] = [];
  const machineBusy: number[] = [];
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
      const replicaPids = gurus.flatMap((g) => (g.pid === undefined ? [] : [g.pid]));
      const pids = [...replicaPids, ...natsServerPids()];
      const { result: reserved, cpuMs: reserveCpu } = await cpuPerCall(pids, replicaPids, () =>
        rate(async (i) => {
          const a = await client.send(
            ReserveNicAddress,
            { networkId, nicId: `nic-${i}` },
            { ...as, timeoutMs: 30_000 },
          );
          if (!a.ok) throw new Error(`nic-${i}: ${a.error.message}`);
          ips.add(a.data.ip);
        }),
      );
      // About as many reservations in batches of BATCH NICs, on the same network.
      const {
        result: batched,
        cpuMs: batchCpu,
        clientCpuMs: batchClientCpu,
        machineBusy: batchBusy,
        replicaBusy,
      } = await cpuPerCall(
        pids,
        replicaPids,
        () =>
          rate(
            async (b) => {
              const nics = Array.from({ length: BATCH }, (_, i) => ({ nicId: `batch-${b * BATCH + i}` }));
              const a = await client.send(ReserveNicAddresses, { networkId, nics }, { ...as, timeoutMs: 60_000 });
              if (!a.ok) throw new Error(`batch ${b}: ${a.error.message}`);
              for (const n of a.data.nics) {
                if (n.address === undefined) throw new Error(`${n.nicId}: ${n.error?.message ?? "no address"}`);
                ips.add(n.address.ip);
              }
            },
            BATCHES,
            BATCHES_IN_FLIGHT,
            BATCH,
          ),
        BATCHES * BATCH,
      );
      // Baseline of the same run: a durable command that does nothing, served by the same replicas.
      const { result: bare, cpuMs: bareCpu } = await cpuPerCall(pids, replicaPids, () =>
        rate(async () => {
          const a = await client.send(CheckHealth["network-guru"], {}, { ...as, timeoutMs: 30_000 });
          if (!a.ok) throw new Error(a.error.message);
        }),
      );
      const duplicates = RESERVATIONS + BATCHES * BATCH - ips.size;
      process.stdout.write(
        `ReserveNicAddress, ${replicas} replica(s), ${IN_FLIGHT} in flight, ${RESERVATIONS} on one /16: ` +
          `${reserved.perSecond.toFixed(0)}/s (target ≥ ${TARGET_PER_S}/s, and more with 2 replicas than 1), ` +
          `p50 ${reserved.p50.toFixed(1)} ms, p99 ${reserved.p99.toFixed(1)} ms, duplicates ${duplicates}; ` +
          `baseline, a bare durable command on the same replicas: ${bare.perSecond.toFixed(0)}/s ` +
          `(reservations reach ${((100 * reserved.perSecond) / bare.perSecond).toFixed(0)} % of it); ` +
          `CPU of the guru replicas and nats-server: ${reserveCpu.toFixed(2)} ms per reservation, ` +
          `${bareCpu.toFixed(2)} ms per bare command\n` +
          `ReserveNicAddresses, ${replicas} replica(s), ${BATCHES_IN_FLIGHT} batches of ${BATCH} in flight, ` +
          `${BATCHES * BATCH} more on the same /16: ${batched.perSecond.toFixed(0)} reservations/s ` +
          `(target ≥ ${TARGET_PER_S}/s; ${(batched.perSecond / reserved.perSecond).toFixed(1)}× single reservations, ` +
          `${((100 * batched.perSecond) / bare.perSecond).toFixed(0)} % of bare commands/s), ` +
          `p50 ${batched.p50.toFixed(1)} ms, p99 ${batched.p99.toFixed(1)} ms per batch; ` +
          `CPU ${batchCpu.toFixed(2)} ms per reservation (guru replicas and nats-server), ` +
          `${batchClientCpu.toFixed(2)} ms in the sending process; the machine's ${availableParallelism()} cores ` +
          `${batchBusy.toFixed(0)} % busy, the busiest replica ${replicaBusy.toFixed(0)} % of a core; duplicates over both ${duplicates}\n`,
      );
      if (duplicates !== 0) throw new Error(`${duplicates} addresses were handed out twice`);
      batchRates.push(batched.perSecond);
      machineBusy.push(batchBusy);
    } finally {
      await Promise.all(gurus.map(stopGuru));
      await nc.close();
      await nats.dispose();
    }
  }
  const [one, two] = batchRates as [number, number];
  // A second replica adds throughput only where the first is what is saturated: with the
  // machine's cores already busy, it can only share them (and pays for the other's writes).
  process.stdout.write(
    `ReserveNicAddresses: 2 replicas give ${(two / one).toFixed(2)}× the reservations/s of 1 (target > 1); ` +
      `the machine was ${machineBusy.map((b) => `${b.toFixed(0)} %`).join(" and ")} busy in those runs ` +
      `(at ≈100 % the cores, not a replica, set the rate)\n`,
  );
}
