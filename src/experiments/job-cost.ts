/**
 * A job's cost estimate, from its request alone: the order in which a pool of more than one
 * worker (job-pool.ts) hands out queued jobs. It is the classic longest-processing-time-first
 * rule (LPT, Graham 1969): with every job queued up front, starting the long ones first leaves
 * only short ones for the end, so the workers finish close together instead of one running a
 * long job alone while the others idle (the tail a first-in-first-out order leaves when the
 * list happens to end with its largest runs, e.g. figure 5's 16-guest runs).
 *
 * The estimate is a pure function of the job's plain-data request, never of wall-clock time or
 * of an earlier run, so the dispatch order is the same on every machine and every run; results
 * are gathered by position anyway, so the order changes no deterministic output, only which job
 * runs beside which (`measured.concurrentJobs`). With one job at a time (--jobs 1) it is not used.
 *
 * The unit is "page-ticks": simulated guest pages x simulated ticks, the driver's per-tick work
 * over every guest page (guest writes, the sampler, the oracle), plus the scanner's pages per
 * tick for the policies that scan. The absolute value means nothing; only the ranking matters,
 * and a rough one is enough (within a factor of ~1.5 of the measured wall time of the suites'
 * runs). A request that cannot be resolved (a bad workload, a trace) gets cost 0: it is queued
 * last among equals and fails or runs there as it would anywhere.
 */
import { defaultDuration, resolveSpec, SIM_DEFAULTS } from "../sim/index.ts";
import { attackHost } from "./attack/attack-host.ts";
import { ATTACK_DEFAULTS, TRIALS_PER_ROUND } from "./attack/attack.ts";
import type { Job } from "./job-pool.ts";

/** Guest pages and simulated seconds of a run, or null when the request does not resolve here. */
function runShape(req: Extract<Job, { kind: "run" }>["req"]): { pages: number; sec: number; scanPagesPerSec: number } | null {
  if (req.workload.trace !== undefined) return null;
  const w = resolveSpec(req.workload, { guests: req.guests, guestMem: req.guestMem });
  const pagesToScan = req.pagesToScan ?? SIM_DEFAULTS.pagesToScan;
  const sleepMs = req.sleepMillisecs ?? SIM_DEFAULTS.sleepMillisecs;
  const sec = req.durationSec ?? defaultDuration(w, pagesToScan, sleepMs);
  const scanPagesPerSec = req.policy === "none" ? 0 : sleepMs > 0 ? (pagesToScan * 1000) / sleepMs : pagesToScan * 1000;
  return { pages: w.totalPages, sec, scanPagesPerSec };
}

/** The job's estimated cost in page-ticks (see the header); 0 when it cannot be estimated. */
export function estimateJobCost(job: Job): number {
  try {
    const tickSec = SIM_DEFAULTS.tickMs / 1000;
    if (job.kind === "run") {
      const s = runShape(job.req);
      return s ? (s.sec / tickSec) * s.pages + s.sec * s.scanPagesPerSec : 0;
    }
    if (job.kind === "merge-cost") {
      // booted guests, up to MAX_PASSES full passes and no guest activity: a few passes over every page
      const w = resolveSpec(job.args.workload, { guests: job.args.guests, guestMem: job.args.guestMemBytes });
      return 4 * w.totalPages * 10;
    }
    // an attack: its host's pages for (rounds + calibration) x waitPasses full passes at the scan rate
    const r = job.req;
    const host = attackHost(r.workload, { guests: r.guests, guestMem: r.guestMem });
    const pages = resolveSpec(host.spec).totalPages;
    const rate = ((r.pagesToScan ?? SIM_DEFAULTS.pagesToScan) * 1000) / Math.max(r.sleepMillisecs ?? SIM_DEFAULTS.sleepMillisecs, 1);
    const rounds = Math.ceil((r.trials ?? ATTACK_DEFAULTS.trials) / TRIALS_PER_ROUND) + 1;
    const sec = (rounds * (r.waitPasses ?? ATTACK_DEFAULTS.waitPasses) * pages) / rate;
    return (sec / tickSec) * pages + sec * rate;
  } catch {
    return 0;
  }
}
