import { describe, expect, it } from "vitest";
import { Coalescer } from "./coalescer.js";

describe("Coalescer", () => {
  it("answers each request with a run that began after it, sharing runs between concurrent requests", async () => {
    let runs = 0;
    let state = 0;
    const seenAtStart: number[] = [];
    const c = new Coalescer(async () => {
      const run = ++runs;
      seenAtStart.push(state);
      await new Promise((r) => setTimeout(r, 20));
      return run;
    });
    state = 1;
    const first = c.request("n");
    state = 2;
    // These arrive while run 1 is going: they share run 2, which starts after them.
    const others = [c.request("n"), c.request("n"), c.request("n")];
    expect(await first).toBe(1);
    expect(await Promise.all(others)).toEqual([2, 2, 2]);
    expect(runs).toBe(2);
    expect(seenAtStart).toEqual([1, 2]);
    // Another key runs on its own lane, at the same time.
    expect((await Promise.all([c.request("m"), c.request("n")])).sort()).toEqual([3, 4]);
  });

  it("passes a run's failure to the requests it covered, and runs again afterwards", async () => {
    let n = 0;
    const c = new Coalescer(async () => {
      n++;
      if (n === 1) throw new Error("boom");
      return n;
    });
    await expect(c.request("k")).rejects.toThrow("boom");
    expect(await c.request("k")).toBe(2);
    await c.idle();
  });
});
