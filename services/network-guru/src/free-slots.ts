/**
 * Counting and picking free numbers in an inclusive range [lo, hi] around blocked ones,
 * by walking gaps between blocked intervals: the cost follows the number of blocked
 * entries, never the size of the range (a GRE key range holds 4 billion keys).
 */

export type Interval = readonly [lo: number, hi: number];

/** Sorts, clips to [lo, hi] and merges overlapping or adjacent intervals. */
export const mergeIntervals = (lo: number, hi: number, blocked: Iterable<Interval>): Interval[] => {
  const clipped = [...blocked]
    .map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as const)
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of clipped) {
    const top = out[out.length - 1];
    if (top !== undefined && a <= top[1] + 1) top[1] = Math.max(top[1], b);
    else out.push([a, b]);
  }
  return out;
};

/** Numbers of [lo, hi] outside the merged intervals. */
export const freeCount = (lo: number, hi: number, merged: readonly Interval[]): number =>
  hi - lo + 1 - merged.reduce((n, [a, b]) => n + (b - a + 1), 0);

/** The n-th (0-based) free number of [lo, hi], or undefined when fewer are free. */
export const nthFree = (lo: number, hi: number, merged: readonly Interval[], n: number): number | undefined => {
  let cursor = lo;
  let left = n;
  for (const [a, b] of merged) {
    const gap = a - cursor;
    if (left < gap) return cursor + left;
    left -= Math.max(0, gap);
    cursor = Math.max(cursor, b + 1);
  }
  return cursor + left <= hi ? cursor + left : undefined;
};

export const isBlocked = (merged: readonly Interval[], value: number): boolean =>
  merged.some(([a, b]) => value >= a && value <= b);

/** A uniformly random free number, or undefined when none is free. */
export const randomFree = (lo: number, hi: number, merged: readonly Interval[]): number | undefined => {
  const free = freeCount(lo, hi, merged);
  return free <= 0 ? undefined : nthFree(lo, hi, merged, Math.floor(Math.random() * free));
};
