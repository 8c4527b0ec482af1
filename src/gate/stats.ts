/** Statistics of gate tier 2 (the median of paired ratios and its confidence interval): src/dedup/pool/bench-stats.ts holds them, shared with the pool benchmarks. */
export { binomialHalfCdf, median, medianInterval, type MedianInterval } from "../dedup/pool/bench-stats.ts";
