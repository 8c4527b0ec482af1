/**
 * From measured one-byte write latencies to a write-latency calibration (write-latency.ts): the
 * samples `vmdedup calibrate --write-latency F` takes on a root host with KSM (the kernel's
 * ksm_tests -C method: one-byte writes to unmerged and to merged anonymous pages; the
 * measurement itself is in src/experiments/kernel-peer/write-latency-kernel.ts), reduced to the
 * noise model's four parameters, with both distributions recorded under `measured`:
 *   privateWriteNs    median of the unmerged writes (timer overhead subtracted by the caller);
 *                     0 when that median is below 0: a cached one-byte store is cheaper than the
 *                     timer's own noise, so after subtracting the overhead half the samples can
 *                     be negative (the raw quantiles stay under measured)
 *   jitterSigmaNs     robust standard deviation of the unmerged writes: IQR / 1.349 (a normal's)
 *   spikeProbability  share of unmerged writes above median + SPIKE_SIGMAS x that sigma (at least
 *                     SPIKE_MIN_NS above the median): interrupts, preemption, cache misses
 *   spikeMeanNs       mean excess over the median of those writes (exponential mean)
 * The fault path of the model stays the cost model's CoW break (cowTrap + tlbFlush + pageCopy,
 * unchanged): the measured merged - unmerged gap is recorded beside it, not fitted into it.
 * Departure: the model's noise is one normal plus exponential spikes; the recorded quantiles
 * say how far a real host's distribution is from that shape.
 */
import { InvalidArgumentError } from "../hypervisor/index.ts";
import type { WriteLatencyCalibration } from "./write-latency.ts";

export const SPIKE_SIGMAS = 6;
export const SPIKE_MIN_NS = 500;

/** Quantiles of a sample, ns (rounded to 0.1 ns). */
export interface LatencyQuantiles {
  count: number;
  minNs: number;
  p5Ns: number;
  p25Ns: number;
  p50Ns: number;
  p75Ns: number;
  p95Ns: number;
  p99Ns: number;
  maxNs: number;
  meanNs: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Quantile q of ascending `s` (nearest rank). */
function q(s: Float64Array, p: number): number {
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

export function latencyQuantiles(samples: ArrayLike<number>): LatencyQuantiles {
  if (samples.length === 0) throw new InvalidArgumentError(`no latency samples`);
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return {
    count: s.length, minNs: r1(s[0]!), p5Ns: r1(q(s, 0.05)), p25Ns: r1(q(s, 0.25)), p50Ns: r1(q(s, 0.5)), p75Ns: r1(q(s, 0.75)),
    p95Ns: r1(q(s, 0.95)), p99Ns: r1(q(s, 0.99)), maxNs: r1(s[s.length - 1]!), meanNs: r1(sum / s.length),
  };
}

/** How the samples were taken (recorded under measured.method). */
export interface LatencyMethod {
  /** e.g. "ksm_tests -C: 2000 pairs ..." */
  description: string;
  host: string;
  date: string;
  timerOverheadNs: number;
  [k: string]: unknown;
}

/** The calibration document of measured unmerged / merged write latencies (ns, timer overhead already subtracted). */
export function fitWriteLatency(unmergedNs: ArrayLike<number>, mergedNs: ArrayLike<number>, method: LatencyMethod, modelFaultNs: number): WriteLatencyCalibration {
  const u = latencyQuantiles(unmergedNs);
  const m = latencyQuantiles(mergedNs);
  const sigma = Math.max(0, (u.p75Ns - u.p25Ns) / 1.349);
  const threshold = u.p50Ns + Math.max(SPIKE_MIN_NS, SPIKE_SIGMAS * sigma);
  let spikes = 0;
  let excess = 0;
  for (let i = 0; i < unmergedNs.length; i++) {
    const x = unmergedNs[i]!;
    if (x > threshold) {
      spikes++;
      excess += x - u.p50Ns;
    }
  }
  const src = `measured by \`vmdedup calibrate --write-latency\` on ${method.date}, ${method.host}: ${u.count} one-byte writes to unmerged pages`;
  return {
    name: `measured-${method.date}`,
    description:
      "Write-latency noise model measured on this host the way the kernel's ksm_tests -C does (src/sim/write-latency-fit.ts). " +
      "The fault path's extra cost stays the cost model's CoW break; the measured merged - unmerged gap is under measured.",
    privateWriteNs: { value: Math.max(0, r1(u.p50Ns)), source: `${src}, median${u.p50Ns < 0 ? " (below the timer's resolution: 0)" : ""}` },
    jitterSigmaNs: { value: r1(sigma), source: `${src}, IQR / 1.349` },
    spikeProbability: { value: Math.round((spikes / u.count) * 1e5) / 1e5, source: `${src}, share above median + max(${SPIKE_MIN_NS} ns, ${SPIKE_SIGMAS} sigma)` },
    spikeMeanNs: { value: spikes > 0 ? r1(excess / spikes) : 0, source: `${src}, mean excess over the median of those` },
    measured: {
      method,
      unmerged: u,
      merged: m,
      mergedMinusUnmergedMedianNs: r1(m.p50Ns - u.p50Ns),
      modelFaultNs: r1(modelFaultNs),
    },
  };
}
