/**
 * The median of paired ratios and a distribution-free confidence interval for it: the one
 * implementation, used by the pool benchmarks here and by gate tier 2 (src/gate/stats.ts
 * re-exports it; the gate sits above this layer).
 *
 * The interval is the order-statistic (sign-test) interval of the median: for n sorted values
 * x(1) <= ... <= x(n), [x(k), x(n+1-k)] covers the true median with probability
 * 1 - 2 * P(Bin(n, 1/2) <= k - 1), whatever the distribution (only independence is assumed).
 * k is the largest index that keeps the coverage at or above the requested level; with too few
 * values for that level the interval is the whole range [x(1), x(n)] and its actual coverage is
 * reported. No resampling, so the result is deterministic for given values.
 */

export interface MedianInterval {
  median: number;
  lo: number;
  hi: number;
  /** Actual coverage of [lo, hi] (at least `level` when n allows it). */
  coverage: number;
  n: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** P(Bin(n, 1/2) <= k), exactly for the n a gate uses (n < 1000). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let term = Math.pow(0.5, n); // C(n,0) / 2^n
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return Math.min(1, sum);
}

/** The median of `xs` and its order-statistic confidence interval at `level` (e.g. 0.9). */
export function medianInterval(xs: readonly number[], level = 0.9): MedianInterval {
  const n = xs.length;
  if (n === 0) throw new RangeError("confidence interval of no values");
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const s = [...xs].sort((a, b) => a - b);
  let k = 1; // 1-based index of the lower bound
  while (k + 1 <= n + 1 - (k + 1) && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
  return { median: median(s), lo: s[k - 1]!, hi: s[n - k]!, coverage, n };
}
