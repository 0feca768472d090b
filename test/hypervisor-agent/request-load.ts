import type { CommandError } from "@sdn/contracts";

/** One agent request of a load run: how long it took and how it ended ("ok" or the error's code). */
export interface Sample {
  hostId: string;
  latencyMs: number;
  outcome: string;
  message?: string;
}

/**
 * Keeps `perHost` requests in flight to every host, back to back, until stopped, and
 * records each one. A request that fails is followed by a short pause, as a caller that
 * retries would do, so a host without an agent is asked again rather than hammered.
 */
export class RequestLoad {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(hostIds: readonly string[], perHost: number, send: (hostId: string) => Promise<unknown>) {
    this.loops = hostIds.flatMap((id) => Array.from({ length: perHost }, () => this.loop(id, send)));
  }

  private async loop(hostId: string, send: (hostId: string) => Promise<unknown>): Promise<void> {
    while (this.running) {
      const start = performance.now();
      try {
        await send(hostId);
        this.samples.push({ hostId, latencyMs: performance.now() - start, outcome: "ok" });
      } catch (err) {
        const code = (err as Partial<CommandError>).code ?? "THROWN";
        this.samples.push({
          hostId,
          latencyMs: performance.now() - start,
          outcome: code,
          message: (err as Error).message,
        });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Stops sending and waits for every request still in flight to end. */
  async stop(): Promise<Sample[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.samples;
  }
}

/** Count, outcomes and latency percentiles of a run, for the test's log. */
export const summarize = (samples: readonly Sample[]): string => {
  const sorted = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
  const outcomes = new Map<string, number>();
  for (const s of samples) outcomes.set(s.outcome, (outcomes.get(s.outcome) ?? 0) + 1);
  const buckets = [10, 100, 1000, 5000, 29_000, Infinity].map((limit, i, all) => {
    const low = i === 0 ? 0 : (all[i - 1] as number);
    return `${low}-${limit}ms: ${sorted.filter((l) => l >= low && l < limit).length}`;
  });
  return [
    `${samples.length} requests; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
    `latency p50 ${at(0.5)} p90 ${at(0.9)} p99 ${at(0.99)} max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
    `histogram ${buckets.join(", ")}`,
  ].join("\n");
};
