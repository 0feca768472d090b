import { describe, expect, it, vi } from "vitest";
import { Arrivals } from "./arrivals.js";
import { Coalescer } from "@sdn/bus";

describe("Arrivals", () => {
  it("lets a run wait for the plugs on their way, so a burst shares one run", async () => {
    const arrivals = new Arrivals(5_000);
    const seen: number[] = [];
    let joined = 0;
    const passes = new Coalescer(
      async () => {
        seen.push(joined);
        return seen.length;
      },
      (k) => arrivals.settled(k),
    );
    const onTheirWay = [1, 2, 3].map(() => arrivals.arrive("net"));
    const answers: Promise<number>[] = [];
    for (const done of onTheirWay) {
      await new Promise((r) => setTimeout(r, 5));
      joined++;
      done();
      done(); // idempotent
      answers.push(passes.request("net"));
    }
    // One run, begun once every plug on its way had joined.
    expect(await Promise.all(answers)).toEqual([1, 1, 1]);
    expect(seen).toEqual([3]);
  });

  it("never waits for nobody, and waits at most its bound for a plug that does not come", async () => {
    const arrivals = new Arrivals(50);
    let t = performance.now();
    await arrivals.settled("quiet");
    expect(performance.now() - t).toBeLessThan(20);
    arrivals.arrive("stuck");
    t = performance.now();
    await arrivals.settled("stuck");
    expect(performance.now() - t).toBeGreaterThanOrEqual(45);
  });

  it("keeps waiting while plugs keep coming, each within the quiet bound, up to its longest wait", async () => {
    vi.useFakeTimers();
    try {
      const arrivals = new Arrivals(100);
      const onTheirWay = [1, 2, 3, 4].map(() => arrivals.arrive("net"));
      let settled = false;
      const waiting = arrivals.settled("net").then(() => (settled = true));
      // Three ask for their pass 80 ms apart, and a fifth plug is received meanwhile: 320 ms
      // in all, longer than the quiet bound, never quiet for it.
      for (const done of onTheirWay.slice(0, 3)) {
        await vi.advanceTimersByTimeAsync(80);
        expect(settled).toBe(false);
        done();
      }
      await vi.advanceTimersByTimeAsync(80);
      arrivals.arrive("net");
      // The other two never come: the pass goes the quiet bound after the last received.
      await vi.advanceTimersByTimeAsync(99);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;

      // A steady stream that never lets it settle is cut at eight quiet bounds.
      const stream = Array.from({ length: 40 }, () => arrivals.arrive("busy"));
      let cut = false;
      const cutting = arrivals.settled("busy").then(() => (cut = true));
      for (const done of stream.slice(0, 15)) {
        expect(cut).toBe(false);
        await vi.advanceTimersByTimeAsync(50);
        done();
      }
      await vi.advanceTimersByTimeAsync(50);
      await cutting;
      expect(cut).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
