import { existsSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@sdn/testkit";
import { exec, execQuiet, inNetns, type Lab } from "../lab/index.js";
import { startIn, type LabRouter } from "./router-lab.js";

/*
 * Traffic through a redundant pair while its master is lost: tries repeated over and over,
 * and long-lived TCP streams (stream.py) whose every byte is timed.
 */

const STREAM = resolve(fileURLToPath(new URL(".", import.meta.url)), "stream.py");

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Ends every process of a router's namespace, then the namespace (its interfaces go with it). */
export const destroy = async (r: LabRouter) => {
  const pids = (await exec(["ip", "netns", "pids", r.ns])).split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone already
    }
  }
  // Its links at once: the kernel frees a namespace later, and until then it would go on forwarding.
  for (const dev of ["eth1", "eth2", "ctl0"]) await execQuiet(["ip", "-n", r.ns, "link", "del", dev]);
  await exec(["ip", "netns", "del", r.ns]);
};

/**
 * Tries `attempt` over and over (each try bounded by its own timeout) and notes when each
 * successful try started: a try that began before an event and answered after it does not
 * count as working after it.
 */
export const keepTrying = (attempt: () => Promise<boolean>) => {
  const successes: number[] = [];
  const failures: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      if (await attempt()) successes.push(started);
      else failures.push(started);
      await sleep(50);
    }
  })();
  return {
    successes,
    failures,
    after: (t: number) => successes.filter((s) => s > t),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
};

/** The longest time between two of `times` (sorted), from the last one at or before `from` on. */
export const longestGap = (times: readonly number[], from: number): number => {
  const before = times.filter((t) => t <= from).slice(-1);
  const span = [...before, ...times.filter((t) => t > from)];
  return Math.max(0, ...span.slice(1).map((t, k) => t - (span[k] as number)));
};

/** The longest time without a working try, from the last one before `from` on. */
export const triesReport = (what: string, l: ReturnType<typeof keepTrying>, from: number): string => {
  const tries = `${l.successes.length} working, ${l.failures.length} failed`;
  return `${what}: longest gap between working tries ${longestGap(l.successes, from)} ms (${tries}; a try every ~50 ms plus its own time)`;
};

/** Waits until the stream received 40 chunks after `from` (2 s of it) or ended: how it ended, its longest gap. */
export const streamAfter = async (st: LabStream, from: number): Promise<{ end: string | undefined; gap: number }> => {
  await waitFor(
    "the stream going on, or ended",
    async () => (st.end() !== undefined || st.times().filter((t) => t > from).length >= 40 ? true : undefined),
    60_000,
    300,
  );
  return { end: st.end(), gap: longestGap(st.times(), from) };
};

/** Starts the stream server (a byte every 50 ms on every connection) in a namespace; waits until it listens. */
export const serveStream = async (ns: string, port: number): Promise<void> => {
  startIn(ns, ["python3", STREAM, "serve", String(port)]);
  for (let i = 0; i < 50; i++) {
    if ((await execQuiet(inNetns(ns, ["ss", "-Htln", `sport = :${port}`]))).stdout.trim() !== "") return;
    await sleep(100);
  }
  throw new Error(`stream server on ${ns}:${port} did not start`);
};

/** One TCP stream followed from a namespace: when each byte arrived, and how it ended (if it did). */
export class LabStream {
  private static opened = 0;

  private constructor(private readonly file: string) {}

  static async open(lab: Lab, ns: string, ip: string, port: number): Promise<LabStream> {
    const file = join(lab.dir, `stream-${++LabStream.opened}.log`);
    startIn(ns, ["python3", STREAM, "follow", ip, String(port), file]);
    const s = new LabStream(file);
    for (let i = 0; i < 100 && s.times().length < 5 && s.end() === undefined; i++) await sleep(100);
    if (s.times().length < 5)
      throw new Error(`no stream from ${ns} to ${ip}:${port}: ${s.end() ?? "nothing received"}`);
    return s;
  }

  private lines(): string[] {
    return existsSync(this.file) ? readFileSync(this.file, "utf8").split("\n").filter(Boolean) : [];
  }

  /** When each chunk arrived (ms since the epoch). */
  times(): number[] {
    return this.lines()
      .filter((l) => !l.startsWith("end"))
      .map(Number);
  }

  /** Why the stream ended ("ConnectionResetError: …", "closed"), or undefined while it goes on. */
  end(): string | undefined {
    return this.lines()
      .find((l) => l.startsWith("end "))
      ?.slice(4);
  }
}

/** Whether the router's conntrackd answers on its control socket (in its state folder). */
export const syncAnswers = (r: LabRouter): Promise<boolean> =>
  new Promise((res) => {
    const s = createConnection(join(r.stateDir, "conntrack", "conntrackd.ctl"), () => {
      s.destroy();
      res(true);
    });
    s.on("error", () => res(false));
  });

/** What the router's conntrackd logged about its commits (the notify's `-c` on becoming master). */
export const committed = (r: LabRouter): string => {
  const log = join(r.stateDir, "conntrack", "conntrackd.log");
  if (!existsSync(log)) return "no log";
  const lines = readFileSync(log, "utf8").split("\n");
  return lines
    .filter((l) => /Committed|commit has taken/.test(l))
    .map((l) => l.replace(/^.*\] /, ""))
    .join("; ");
};
