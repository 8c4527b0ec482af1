/**
 * The macro part of `bun run benchmarks`: simulation runs of the canned workloads.
 *   1. the matrix: every workload x every policy, policy none first as each workload's baseline
 *      (the others get their throughput loss against it, run.ts), all with 0 workers;
 *   2. the worker sweep: the fastest policy (highest mean scanner pages/s over the matrix,
 *      wall-clock) on the sweep workload (the one with the most guest memory; on a tie, the most
 *      CoW breaks), once per worker count; the matrix already holds its 0-worker run.
 * A run that cannot be made here (UnavailableError: an unknown workload, a missing component) is
 * recorded in `skipped` with the reason; any other error fails the suite. Each run becomes a
 * MacroRun: the run's record without the scan rate and guest mode (the suite runs HVM guests at
 * the simulator's default rate) and without its workload spec (code in workloads/, named).
 */
import type { MitigationKind, Policy } from "../dedup/index.ts";
import type { RunResult } from "../sim/index.ts";
import type { WorkloadCatalog } from "./catalog.ts";
import { UnavailableError } from "./errors.ts";
import { RunCache } from "./run-cache.ts";
import { recordOf, runId, type RunRecord, type RunRequest } from "./run.ts";

export type MacroGroup = "matrix" | "worker-sweep";

/** One run of the suite as a results document holds it; `id` is runId(workload, policy, workers), unique in the document. */
export type MacroRun = { id: string; group: MacroGroup } & Pick<RunRecord,
  "workload" | "policy" | "workers" | "seed" | "guests" | "guestMemBytes" | "durationSec" | "summary" | "series" | "oracle" | "measured">;

/** The simulation's calibration file (src/sim/calibration/*.json) as the runs used it. */
export interface CalibrationInfo {
  /** Path of the calibration file. */
  path: string;
  name: string;
  /** Cost constants in nanoseconds, each with where its value came from. */
  constants: Record<string, { ns: number; source: string }>;
}

export interface MacroPlan {
  /** Workload names, looked up in `catalog`. */
  workloads: string[];
  catalog: WorkloadCatalog;
  policies: Policy[];
  /** Worker counts of the sweep (0 comes from the matrix). */
  sweepWorkers: number[];
  seed: number;
  durationSec?: number;
  guests?: number;
  guestMemBytes?: number;
  /** Only runs whose id matches are made (the none baseline of a workload with a matching run is always made and recorded). */
  filter?: RegExp;
  calibrationPath?: string;
  /** The side-channel mitigation of every run (--mitigation; absent = off, today's runs). */
  mitigation?: MitigationKind;
  /** salted only: --salt-groups (a count, or one group per guest). */
  saltGroups?: number | readonly number[];
}

export interface MacroOutcome {
  runs: MacroRun[];
  skipped: { id: string; reason: string }[];
  calibration: CalibrationInfo | null;
}

export type Progress = (line: string, done: boolean) => void;

function toMacroRun(r: RunResult, group: MacroGroup): MacroRun {
  const x = recordOf(r, {});
  return {
    id: runId(x.workload, x.policy, x.workers), group, workload: x.workload, policy: x.policy, workers: x.workers, seed: x.seed,
    guests: x.guests, guestMemBytes: x.guestMemBytes, durationSec: x.durationSec, summary: x.summary, series: x.series, oracle: x.oracle, measured: x.measured,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The sweep's policy and workload: the fastest policy of the matrix on its largest workload (ties: the most CoW breaks). */
function sweepTarget(runs: readonly MacroRun[], totalPages: ReadonlyMap<string, number>): { policy: Policy; workload: string } | null {
  const rates = new Map<Policy, number[]>();
  for (const r of runs) {
    if (r.policy === "none" || r.measured.scannerPagesPerSec === null) continue;
    rates.set(r.policy, [...(rates.get(r.policy) ?? []), r.measured.scannerPagesPerSec]);
  }
  const fastest = [...rates].sort((a, b) => mean(b[1]) - mean(a[1]))[0]?.[0];
  const cowOf = (w: string) => runs.find((r) => r.id === runId(w, fastest ?? "", 0))?.summary.cowBreaks ?? 0;
  const largest = [...totalPages].sort((a, b) => b[1] - a[1] || cowOf(b[0]) - cowOf(a[0]))[0]?.[0];
  return fastest && largest ? { policy: fastest, workload: largest } : null;
}

export async function runMacroSuite(plan: MacroPlan, progress: Progress): Promise<MacroOutcome> {
  const runs: MacroRun[] = [];
  const skipped: MacroOutcome["skipped"] = [];
  let calibration: CalibrationInfo | null = null;
  const wanted = (id: string) => !plan.filter || plan.filter.test(id);
  const policies: Policy[] = ["none", ...plan.policies.filter((p) => p !== "none")];
  const idOf = (req: RunRequest) => runId(req.workload.name, req.policy, req.workers ?? 0);
  const cache = new RunCache({
    progress: (req) => (t, total) => progress(`${idOf(req)}  ${Math.round((100 * t) / total)}% of ${total} s simulated`, false),
    done: (req, r) => {
      calibration ??= { path: r.calibration.path, name: r.calibration.name, constants: r.calibration.constants };
      progress(`${idOf(req)}  saved ${r.summary.steadySavingsPct.toFixed(1)}%  (${r.measured.wallSec.toFixed(1)} s)`, true);
    },
  });
  const request = (workload: string, policy: Policy, workers: number): RunRequest => ({
    workload: plan.catalog.get(workload), policy, seed: plan.seed, workers, durationSec: plan.durationSec, guests: plan.guests,
    guestMem: plan.guestMemBytes, calibrationPath: plan.calibrationPath,
    ...(plan.mitigation !== undefined ? { mitigation: plan.mitigation } : {}), ...(plan.saltGroups !== undefined ? { saltGroups: plan.saltGroups } : {}),
  });
  /** The run with its baseline, or null (recorded as skipped) when it cannot be made here. */
  const attempt = async (workload: string, policy: Policy, workers: number): Promise<RunResult | null> => {
    try {
      return await cache.withBaseline(request(workload, policy, workers));
    } catch (e) {
      if (!(e instanceof UnavailableError)) throw e;
      const id = runId(workload, policy, workers);
      skipped.push({ id, reason: e.message });
      progress(`${id}  skipped: ${e.message}`, true);
      return null;
    }
  };

  const totalPages = new Map<string, number>();
  for (const workload of plan.workloads) {
    if (!policies.some((p) => wanted(runId(workload, p, 0)))) continue;
    const baseline = await attempt(workload, "none", 0);
    if (baseline) {
      totalPages.set(workload, baseline.series.guestPages.at(-1) ?? 0);
      runs.push(toMacroRun(baseline, "matrix")); // always recorded: the charts compare against it
    }
    for (const policy of policies) {
      if (policy === "none" || !wanted(runId(workload, policy, 0))) continue;
      const r = await attempt(workload, policy, 0);
      if (r) runs.push(toMacroRun(r, "matrix"));
    }
  }

  const target = sweepTarget(runs, totalPages);
  for (const workers of plan.sweepWorkers.filter((w) => w > 0)) {
    if (!target || !wanted(runId(target.workload, target.policy, workers))) continue;
    const r = await attempt(target.workload, target.policy, workers);
    if (r) runs.push(toMacroRun(r, "worker-sweep"));
  }
  return { runs, skipped, calibration };
}
