import { expect, test } from "bun:test";
import { binomialHalfCdf, median, medianInterval } from "./stats.ts";

test("binomial(n, 1/2) CDF: exact small values", () => {
  expect(binomialHalfCdf(8, 0)).toBe(1 / 256);
  expect(binomialHalfCdf(8, 1)).toBe(9 / 256);
  expect(binomialHalfCdf(8, 2)).toBe(37 / 256);
  expect(binomialHalfCdf(8, 8)).toBe(1);
  expect(binomialHalfCdf(8, -1)).toBe(0);
  expect(binomialHalfCdf(12, 2)).toBeCloseTo(79 / 4096, 15);
});

test("median of odd and even counts, unsorted input left unchanged", () => {
  const xs = [5, 1, 3];
  expect(median(xs)).toBe(3);
  expect(xs).toEqual([5, 1, 3]);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(() => median([])).toThrow(RangeError);
});

test("order-statistic interval of the median: the widest k keeping the coverage", () => {
  // n = 8 at 90%: [x(2), x(7)], coverage 1 - 2 * 9/256
  const r = medianInterval([8, 1, 7, 2, 6, 3, 5, 4], 0.9);
  expect(r).toEqual({ median: 4.5, lo: 2, hi: 7, coverage: 1 - 18 / 256, n: 8 });
  // n = 12 at 90%: [x(3), x(10)], coverage 1 - 2 * 79/4096
  const s = medianInterval(Array.from({ length: 12 }, (_, i) => i + 1), 0.9);
  expect([s.lo, s.hi, s.coverage]).toEqual([3, 10, 1 - 158 / 4096]);
  // too few values for the level: the whole range, with its (lower) actual coverage
  const t = medianInterval([3, 1, 2], 0.9);
  expect([t.lo, t.hi, t.coverage]).toEqual([1, 3, 0.75]);
  expect(() => medianInterval([], 0.9)).toThrow(RangeError);
  expect(() => medianInterval([1], 1)).toThrow(RangeError);
});

test("the interval of ratios that are all about 2 lies wholly above 1.1; noise around 1 does not", () => {
  const slow = [1.9, 2.1, 1.7, 2.4, 1.3, 2.0, 1.95, 2.2];
  expect(medianInterval(slow, 0.9).lo).toBeGreaterThan(1.1);
  const noisy = [0.9, 1.3, 1.05, 0.98, 1.6, 1.02, 0.95, 1.12];
  expect(medianInterval(noisy, 0.9).lo).toBeLessThan(1.1);
});
