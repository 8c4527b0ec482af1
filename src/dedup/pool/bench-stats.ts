/**
 * The benchmarks' statistics: the median, and the order-statistic (sign-test) confidence interval
 * of the median, computed exactly as gate tier 2 does (src/gate/stats.ts, which this layer may not
 * import): for n sorted values, [x(k), x(n+1-k)] covers the median with probability
 * 1 - 2 P(Bin(n, 1/2) <= k - 1); k is the largest index keeping that at or above the level.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let term = Math.pow(0.5, n);
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return Math.min(1, sum);
}

export interface MedianInterval {
  median: number;
  lo: number;
  hi: number;
  coverage: number;
  n: number;
}

export function medianInterval(xs: readonly number[], level = 0.9): MedianInterval {
  const n = xs.length;
  if (n === 0) throw new RangeError("confidence interval of no values");
  const s = [...xs].sort((a, b) => a - b);
  let k = 1;
  while (k + 1 <= n + 1 - (k + 1) && 1 - 2 * binomialHalfCdf(n, k) >= level) k++;
  return { median: median(s), lo: s[k - 1]!, hi: s[n - k]!, coverage: 1 - 2 * binomialHalfCdf(n, k - 1), n };
}
