import { describe, expect, it } from "vitest";
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
});
