import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const AUTOCANNON = createRequire(import.meta.url).resolve("autocannon/autocannon.js");

export interface LoadFigures {
  rps: number;
  p99: number;
  /** Answers not 2xx, and requests that failed. */
  non2xx: number;
  /** CPU time this process spent per request answered (µs), all its threads. */
  cpuUs: number;
  /** Requests answered. */
  requests: number;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** autocannon's overallRate: each second's share sent back to back. */
  overallRate?: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}

/**
 * One autocannon run against a server in this process, with autocannon in a process of its
 * own: the load neither runs on the server's event loop nor counts in its CPU time, so the
 * CPU time per request is the server's alone. That figure holds still where throughput does
 * not: a neighbour that takes the machine's cores for a second lowers the requests served,
 * not what each one cost.
 */
export const loadFromProcess = async (url: string, opts: LoadOptions): Promise<LoadFigures> => {
  const args = [
    AUTOCANNON,
    ...["--json", "--no-progress", "-c", String(opts.connections), "-d", String(opts.seconds)],
    ...Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}=${v}`]),
    ...(opts.overallRate === undefined ? [] : ["-R", String(opts.overallRate)]),
    url,
  ];
  const before = process.cpuUsage();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`autocannon exited with ${code}: ${stderr}`)),
    );
  });
  const cpu = process.cpuUsage(before);
  const r = JSON.parse(out) as AutocannonJson;
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    non2xx: r.non2xx + r.errors,
    cpuUs: (cpu.user + cpu.system) / Math.max(1, r.requests.total),
    requests: r.requests.total,
  };
};
