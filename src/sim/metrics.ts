/**
 * Metrics over simulated time.
 *
 * Savings, as every run states them in summary.definitions:
 *   savings incl. zero = (populated pages - machine frames used) / guest pages. Every populated
 *     page would need its own frame without dedup; a page mapped to the zero frame or sharing a
 *     frame saves one. Never-written (unpopulated) pages are not backed and save nothing.
 *   savings excl. zero = (non-zero populated pages - frames holding non-zero content) / guest
 *     pages: what merging non-zero contents saved (the driver knows each page's content).
 *   oracle = maxSharing(hv): savablePages and savablePagesExclZero over guest pages. It hashes
 *     every populated page, so it is sampled every oracleEverySec, not every sample.
 *   efficiency = savings / oracle (each variant), at oracle samples.
 * Time-to-merge: from the write that created a further copy of an existing non-zero content to
 * the end of the tick in which that page was found on a shared frame (or the zero frame).
 */
import type { Hypervisor } from "../hypervisor/index.ts";
import { ZERO_CONTENT } from "./content.ts";
import type { TimeToMerge } from "./result.ts";
import type { WorkloadRunner } from "./workload-runner.ts";

export const SAVINGS_DEFINITIONS: Record<string, string> = {
  savingsPct: "(populated guest pages - machine frames used) / all guest pages of started guests x 100; zero-frame mappings and shared frames both save; never-written pages are unbacked and save nothing",
  savingsExclZeroPct: "(non-zero populated pages - frames holding non-zero content) / all guest pages x 100",
  oracleSavablePct: "maxSharing(hv).savablePages / all guest pages x 100 (every duplicate merged, zero pages onto the zero frame)",
  oracleSavableExclZeroPct: "maxSharing(hv).savablePagesExclZero / all guest pages x 100",
  efficiency: "savingsPct / oracleSavablePct at the end of the run (efficiencyExclZero likewise without zero pages)",
  steady: "steady* figures average the samples from options.steadyFromSec to the end",
  throughputLossPct: "(1 - steadyGuestOpsPerSec / the same run's figure under policy none) x 100",
  timeToMerge: "from the write that makes a page a further copy of an existing non-zero content to the tick its page is found merged; pages rewritten first are dropped",
  scannerCpuShare: "scanner CPU seconds / (hostCpus x simulated seconds)",
};

export interface SavingsSample {
  guestPages: number;
  populated: number;
  framesUsed: number;
  savedPages: number;
  savedExclZeroPages: number;
}

/** O(pages) pass over the page table: savings with and without zero pages. */
export class SavingsMeter {
  private frameStamp: Uint32Array;
  private stamp = 0;
  constructor(private readonly runner: WorkloadRunner) {
    this.frameStamp = new Uint32Array(runner.hv.memory.frames + 1);
  }

  sample(): SavingsSample {
    const hv: Hypervisor = this.runner.hv;
    const sf = hv.pageTable.slotFrame;
    const content = this.runner.contentOf;
    const fs = this.frameStamp;
    const st = ++this.stamp;
    let guestPages = 0;
    let nzPop = 0;
    let nzFrames = 0;
    for (const g of hv.guests) {
      guestPages += g.pages;
      for (let s = g.slotBase, e = s + g.pages; s < e; s++) {
        const f = sf[s]!;
        if (f < 0 || content[s] === ZERO_CONTENT) continue;
        nzPop++;
        if (fs[f] !== st) {
          fs[f] = st;
          nzFrames++;
        }
      }
    }
    const hs = hv.stats();
    return {
      guestPages,
      populated: hs.populatedPages,
      framesUsed: hs.framesUsed,
      savedPages: hs.populatedPages - hs.framesUsed,
      savedExclZeroPages: nzPop - nzFrames,
    };
  }
}

const TTM_BOUNDS_MS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, Infinity];

export class MergeTimes {
  private samples = new Float64Array(1024);
  count = 0;
  readonly record = (waitSec: number): void => {
    if (this.count === this.samples.length) {
      const s = new Float64Array(this.samples.length * 2);
      s.set(this.samples);
      this.samples = s;
    }
    this.samples[this.count++] = waitSec * 1000;
  };

  summary(pendingAtEnd: number): TimeToMerge {
    const v = this.samples.slice(0, this.count).sort();
    const counts = TTM_BOUNDS_MS.map(() => 0);
    let b = 0;
    for (let i = 0; i < v.length; i++) {
      while (v[i]! >= TTM_BOUNDS_MS[b]!) b++;
      counts[b]!++;
    }
    const pct = (p: number) => (v.length ? round(v[Math.min(v.length - 1, Math.floor(p * v.length))]!, 3) : null);
    return {
      bucketUpperMs: TTM_BOUNDS_MS.map((x) => (x === Infinity ? null : x)),
      counts,
      merged: this.count,
      pendingAtEnd,
      p50Ms: pct(0.5),
      p90Ms: pct(0.9),
      p99Ms: pct(0.99),
    };
  }
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function percentile(sorted: Float64Array | number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
