import { expect, test } from "bun:test";
import { median, medianInterval } from "./bench-stats.ts";

test("median and the order-statistic interval of the median (as gate tier 2 computes them)", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  // n = 12, level 0.9: k = 3 (1 - 2 P(Bin(12, 1/2) <= 2) = 1 - 2 * 79/4096 = 0.9614 >= 0.9; k = 4 gives 0.854)
  const xs = [12, 5, 1, 9, 3, 7, 11, 2, 8, 4, 10, 6];
  const ci = medianInterval(xs, 0.9);
  expect([ci.lo, ci.median, ci.hi, ci.n]).toEqual([3, 6.5, 10, 12]);
  expect(ci.coverage).toBeCloseTo(1 - (2 * 79) / 4096, 12);
  // too few values for the level: the whole range
  expect(medianInterval([2, 1, 3], 0.9)).toMatchObject({ lo: 1, hi: 3, median: 2 });
  expect(() => medianInterval([])).toThrow(RangeError);
});
