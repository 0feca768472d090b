import { Worker } from "node:worker_threads";

/**
 * Load at an even pace, for a tail latency that means what it says: autocannon's
 * `overallRate` lets each connection send its share of a second back to back and then wait
 * for the next second, so "1,000 req/s" is a burst of 1,000 at full concurrency every second
 * and its p99 is the burst's (about the p99 at peak). Here requests leave one by one as the
 * clock says they are due (1,000 req/s: one a millisecond, the timer's grain), from a worker thread so that the
 * load does not run on the gateway's event loop. They go through node:http on kept-alive
 * connections: fetch cost the worker so much that on a busy machine it fell seconds behind
 * its own schedule even against a bare Fastify (p50 2-4 s), and the figure measured the load,
 * not the server. The first second warms the connections and the code up, and is not counted.
 */
const WARMUP_SECONDS = 1;
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const { url, headers, rate, seconds, warmup } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies = [];
let failed = 0;
let sent = 0;
const started = performance.now();
const uncounted = rate * warmup;
const total = uncounted + rate * seconds;
const inFlight = new Set();
const one = (counted) => {
  const t = performance.now();
  const p = new Promise((resolve) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.on("data", () => undefined);
      res.on("end", () => {
        if (!counted) return resolve();
        if (res.statusCode < 200 || res.statusCode >= 300) failed++;
        latencies.push(performance.now() - t);
        resolve();
      });
    });
    req.on("error", () => { if (counted) failed++; resolve(); });
  });
  inFlight.add(p);
  p.finally(() => inFlight.delete(p));
};
const tick = () => {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  while (sent < due) { one(sent >= uncounted); sent++; }
  // A timer, not setImmediate: a worker spinning through its loop takes a core from the server.
  if (sent < total) setTimeout(tick, 1);
  else Promise.all(inFlight).then(() => { agent.destroy(); parentPort.postMessage({ latencies, failed }); });
};
tick();
`;

export interface PacedFigures {
  rps: number;
  p50: number;
  p99: number;
  /** Answers not 2xx, and requests that failed. */
  non2xx: number;
}

export const pacedLoad = (url: string, headers: Record<string, string>, rate: number, seconds: number) =>
  new Promise<PacedFigures>((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { url, headers, rate, seconds, warmup: WARMUP_SECONDS },
    });
    worker.once("error", reject);
    worker.once("message", ({ latencies, failed }: { latencies: number[]; failed: number }) => {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      void worker.terminate();
      resolve({ rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), non2xx: failed });
    });
  });
