import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.js";

describe("Batcher", () => {
  it("runs a lone item at once and gathers the items that arrive meanwhile into the next batch, each its answer", async () => {
    const runs: string[][] = [];
    const b = new Batcher<string, string>(async (key, items) => {
      runs.push([key, ...items]);
      await new Promise((r) => setTimeout(r, 20));
      return items.map((i) => i.toUpperCase());
    }, 3);
    const first = b.submit("n", "a");
    const rest = [b.submit("n", "b"), ...b.submitAll("n", ["c", "d"]), b.submit("n", "e"), b.submit("m", "x")];
    expect(await first).toBe("A");
    expect(await Promise.all(rest)).toEqual(["B", "C", "D", "E", "X"]);
    // At most 3 a batch; another key runs on its own lane.
    expect(runs).toEqual([
      ["n", "a"],
      ["m", "x"],
      ["n", "b", "c", "d"],
      ["n", "e"],
    ]);
  });

  it("fails every item of a failed batch, and runs the next batch all the same", async () => {
    let n = 0;
    const b = new Batcher<number, number>(async (_key, items) => {
      await new Promise((r) => setTimeout(r, 10));
      if (n++ === 1) throw new Error("down");
      return items.map((i) => i * 2);
    }, 2);
    const answers = [b.submit("k", 1), b.submit("k", 2), b.submit("k", 3), b.submit("k", 4)].map((p) =>
      p.then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    expect(await Promise.all(answers)).toEqual([2, "down", "down", 8]);
  });
});
