/**
 * A job's cost estimate, from its request alone: the order in which a pool of more than one
 * worker (job-pool.ts) hands out queued jobs. It is the classic longest-processing-time-first
 * rule (LPT, Graham 1969): with every job queued up front, starting the long ones first leaves
 * only short ones for the end, so the workers finish close together instead of one running a
 * long job alone while the others idle (the tail a first-in-first-out order leaves when a list
 * happens to end with its largest runs).
 *
 * The estimate is a pure function of the job's plain-data request, never of wall-clock time or
 * of an earlier run, so the dispatch order is the same on every machine and every run; results
 * are gathered by position anyway, so the order changes no deterministic output, only which job
 * runs beside which (`measured.concurrentJobs`). With one job at a time (--jobs 1) it is unused.
 *
 * A simulation's cost is modelled as the driver's work, in estimated seconds of one core:
 *   PAGE_TICK_SEC   x guest pages x ticks     (per-tick bookkeeping over guest memory: sampler, oracle)
 *   WRITE_SEC       x guest writes of the run (each phase's writesPerSec over its share of the run)
 *   STORM_PAGE_SEC  x pages a storm rewrites  (cow-storm's regions rewritten at once)
 *   SCAN_PAGE_SEC   x pages the scanner visits (pagesToScan per sleepMillisecs; none scans nothing)
 * The constants are a least-squares fit (relative error) to the wall time of 101 runs measured
 * one at a time on the 2-core development machine (the 24 runs of `bun run benchmarks` and the
 * 77 simulations of `bun run figures --only 1,2,3,4,5,7`): most estimates are within a factor
 * 1.5 of the measured time, the worst (cow-storm's 16-guest runs) a factor 3 under. Only the
 * ranking matters, and for LPT a rough one is enough. A merge-cost measurement (booted guests,
 * a few full passes, no activity) costs MERGE_COST_PAGE_SEC per guest page; an attack is its
 * host run for the simulated time of its waits (calibration + rounds, waitPasses full passes
 * each). A request that cannot be resolved here (a bad workload, a trace) gets cost 0: it is
 * handed out last among equals and fails or runs there as it would anywhere.
 */
import { defaultDuration, resolveSpec, SIM_DEFAULTS, type WorkloadSpec } from "../sim/index.ts";
import type { Policy } from "../dedup/index.ts";
import { attackHost } from "./attack/attack-host.ts";
import { ATTACK_DEFAULTS, TRIALS_PER_ROUND } from "./attack/attack.ts";
import type { Job } from "./job-pool.ts";

export const PAGE_TICK_SEC = 1.26e-9;
export const WRITE_SEC = 1.2e-6;
export const STORM_PAGE_SEC = 1.5e-5;
export const SCAN_PAGE_SEC = 9.4e-9;
export const MERGE_COST_PAGE_SEC = 2.7e-6;

interface RunShape {
  workload: WorkloadSpec;
  policy: Policy;
  guests?: number;
  guestMem?: number;
  durationSec?: number;
  pagesToScan?: number;
  sleepMillisecs?: number;
}

/** Estimated seconds of one simulation (see the header). */
export function estimateRunSec(r: RunShape): number {
  const w = resolveSpec(r.workload, { guests: r.guests, guestMem: r.guestMem });
  const pagesToScan = r.pagesToScan ?? SIM_DEFAULTS.pagesToScan;
  const sleepMs = r.sleepMillisecs ?? SIM_DEFAULTS.sleepMillisecs;
  const sec = r.durationSec ?? defaultDuration(w, pagesToScan, sleepMs);
  let writes = 0;
  let stormPages = 0;
  for (const f of w.families)
    for (let g = 0; g < f.guests; g++) {
      let t = f.startSec + g * f.staggerSec;
      for (const p of f.phases) {
        if (t >= sec) break;
        writes += Math.min(p.durationSec, sec - t) * p.activities.reduce((a, x) => a + x.writesPerSec, 0);
        if (p.storm && t + p.storm.atSec < sec) stormPages += p.storm.regions.reduce((a, i) => a + f.regions[i]!.pages, 0);
        t += p.durationSec;
      }
    }
  const scanned = r.policy === "none" ? 0 : (sec * pagesToScan * 1000) / Math.max(sleepMs, 1);
  const ticks = sec / (SIM_DEFAULTS.tickMs / 1000);
  return PAGE_TICK_SEC * w.totalPages * ticks + WRITE_SEC * writes + STORM_PAGE_SEC * stormPages + SCAN_PAGE_SEC * scanned;
}

/** The job's estimated cost in seconds of one core (see the header); 0 when it cannot be estimated. */
export function estimateJobCost(job: Job): number {
  try {
    if (job.kind === "run") return job.req.workload.trace !== undefined ? 0 : estimateRunSec(job.req);
    if (job.kind === "merge-cost") return MERGE_COST_PAGE_SEC * resolveSpec(job.args.workload, { guests: job.args.guests, guestMem: job.args.guestMemBytes }).totalPages;
    const r = job.req;
    const host = attackHost(r.workload, { guests: r.guests, guestMem: r.guestMem });
    const pages = resolveSpec(host.spec).totalPages;
    const scanPagesPerSec = ((r.pagesToScan ?? SIM_DEFAULTS.pagesToScan) * 1000) / Math.max(r.sleepMillisecs ?? SIM_DEFAULTS.sleepMillisecs, 1);
    const waits = Math.ceil((r.trials ?? ATTACK_DEFAULTS.trials) / TRIALS_PER_ROUND) + 1;
    const durationSec = (waits * (r.waitPasses ?? ATTACK_DEFAULTS.waitPasses) * pages) / scanPagesPerSec;
    return estimateRunSec({ workload: host.spec, policy: r.policy, durationSec, pagesToScan: r.pagesToScan, sleepMillisecs: r.sleepMillisecs });
  } catch {
    return 0;
  }
}
