import { describe, expect, it } from "vitest";
import { freeCount, isBlocked, mergeIntervals, nthFree, randomFree } from "./free-slots.js";

describe("free slots between blocked intervals", () => {
  it("merges, clips and sorts blocked intervals", () => {
    expect(
      mergeIntervals(1, 100, [
        [50, 60],
        [1, 3],
        [4, 4],
        [55, 70],
        [90, 200],
        [-5, 0],
      ]),
    ).toEqual([
      [1, 4],
      [50, 70],
      [90, 100],
    ]);
  });

  it("counts and indexes the free numbers", () => {
    const merged = mergeIntervals(1, 10, [
      [2, 3],
      [7, 7],
    ]);
    expect(freeCount(1, 10, merged)).toBe(7);
    const free = Array.from({ length: 7 }, (_, n) => nthFree(1, 10, merged, n));
    expect(free).toEqual([1, 4, 5, 6, 8, 9, 10]);
    expect(nthFree(1, 10, merged, 7)).toBeUndefined();
    expect(isBlocked(merged, 3)).toBe(true);
    expect(isBlocked(merged, 4)).toBe(false);
  });

  it("finds the one free key of the full 32-bit range without scanning it", () => {
    const max = 4294967295;
    const merged = mergeIntervals(1, max, [
      [1, 3000000000],
      [3000000002, max],
    ]);
    expect(freeCount(1, max, merged)).toBe(1);
    expect(randomFree(1, max, merged)).toBe(3000000001);
  });

  it("reports nothing free when everything is blocked, and never a blocked number otherwise", () => {
    expect(randomFree(5, 9, mergeIntervals(5, 9, [[5, 9]]))).toBeUndefined();
    const merged = mergeIntervals(0, 99, [
      [0, 40],
      [42, 97],
    ]);
    const seen = new Set(Array.from({ length: 200 }, () => randomFree(0, 99, merged)));
    expect([...seen].sort()).toEqual([41, 98, 99]);
  });
});
