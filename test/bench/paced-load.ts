import { Worker } from "node:worker_threads";

/**
 * Load at an even pace, for a tail latency that means what it says: autocannon's
 * `overallRate` lets each connection send its share of a second back to back and then wait
 * for the next second, so "1,000 req/s" is a burst of 1,000 at full concurrency every second
 * and its p99 is the burst's (about the p99 at peak). Here requests leave one by one as the
 * clock says they are due (1,000 req/s: one a millisecond), from a worker thread so that the
 * load does not run on the gateway's event loop.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { url, headers, rate, seconds } = workerData;
const latencies = [];
let failed = 0;
let sent = 0;
const started = performance.now();
const total = rate * seconds;
const inFlight = new Set();
const one = () => {
  const t = performance.now();
  const p = fetch(url, { headers }).then(async (res) => {
    await res.arrayBuffer();
    if (res.status < 200 || res.status >= 300) failed++;
    latencies.push(performance.now() - t);
  }, () => void failed++);
  inFlight.add(p);
  p.finally(() => inFlight.delete(p));
};
const tick = () => {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  while (sent < due) { sent++; one(); }
  if (sent < total) setImmediate(tick);
  else Promise.all(inFlight).then(() => parentPort.postMessage({ latencies, failed }));
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
    const worker = new Worker(WORKER, { eval: true, workerData: { url, headers, rate, seconds } });
    worker.once("error", reject);
    worker.once("message", ({ latencies, failed }: { latencies: number[]; failed: number }) => {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      void worker.terminate();
      resolve({ rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), non2xx: failed });
    });
  });
