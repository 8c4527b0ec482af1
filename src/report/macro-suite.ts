/**
 * The macro part of `bun run benchmarks`: simulation runs through the driver (src/sim/driver.ts).
 *   1. the matrix: every workload x every policy, policy none first as each workload's baseline
 *      (the others get their throughput loss against it), all with 0 workers;
 *   2. the worker sweep: the fastest policy (highest mean scanner pages/s over the matrix,
 *      wall-clock) on the sweep workload (the one with the most guest memory; on a tie, the most
 *      CoW breaks), once per worker count; the matrix already holds its 0-worker run.
 * A run that fails because a policy or workload is not available is recorded in `skipped` with
 * the reason; any other error fails the suite. Each run's document is copied into a MacroRun
 * without its workload spec (the spec is code in workloads/, identified by name).
 */
import { compareWithBaseline, runSimulation, type SimOptions } from "../sim/driver.ts";
import type { RunResult } from "../sim/result.ts";
import { getWorkload } from "../../workloads/index.ts";
import type { CalibrationInfo, MacroGroup, MacroRun } from "./results-schema.ts";

export interface MacroPlan {
  workloads: string[];
  policies: string[];
  /** Worker counts of the sweep (0 comes from the matrix). */
  sweepWorkers: number[];
  seed: number;
  durationSec?: number;
  guests?: number;
  guestMemBytes?: number;
  /** Only runs whose id matches are made (the none baseline of a workload with a matching run is always made and recorded). */
  filter?: RegExp;
  calibrationPath?: string;
}

export interface MacroOutcome {
  runs: MacroRun[];
  skipped: { id: string; reason: string }[];
  calibration: CalibrationInfo | null;
}

export type Progress = (line: string, done: boolean) => void;

export const runId = (workload: string, policy: string, workers: number) => `${workload}/${policy}/w${workers}`;

/** Errors that mean "this run cannot be made here" rather than "the suite is broken". */
function unavailable(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /not implemented|unknown workload|not available/i.test(m);
}

function toMacroRun(r: RunResult, group: MacroGroup): MacroRun {
  const o = r.options;
  return {
    id: runId(o.workload, o.policy, o.workers),
    group,
    workload: o.workload,
    policy: o.policy,
    workers: o.workers,
    seed: o.seed,
    guests: o.guests,
    guestMemBytes: o.guestMemBytes,
    durationSec: o.durationSec,
    summary: r.summary,
    series: r.series,
    oracle: r.oracle,
    measured: r.measured,
  };
}

export async function runMacroSuite(plan: MacroPlan, progress: Progress): Promise<MacroOutcome> {
  const runs: MacroRun[] = [];
  const skipped: MacroOutcome["skipped"] = [];
  let calibration: CalibrationInfo | null = null;
  const wanted = (id: string) => !plan.filter || plan.filter.test(id);
  const policies = ["none", ...plan.policies.filter((p) => p !== "none")];

  const simulate = async (workload: string, policy: string, workers: number): Promise<RunResult | null> => {
    const id = runId(workload, policy, workers);
    const opts: Omit<SimOptions, "workload"> = {
      policy: policy as SimOptions["policy"],
      seed: plan.seed,
      workers,
      durationSec: plan.durationSec,
      guests: plan.guests,
      guestMem: plan.guestMemBytes,
      calibrationPath: plan.calibrationPath,
      onProgress: (t, total) => progress(`${id}  ${Math.round((100 * t) / total)}% of ${total} s simulated`, false),
    };
    try {
      const r = await runSimulation({ ...opts, workload: getWorkload(workload) });
      Bun.gc(true); // the run's machine memory (SharedArrayBuffers) goes before the next one is made
      calibration ??= { path: r.calibration.path, name: r.calibration.name, constants: r.calibration.constants };
      progress(`${id}  saved ${r.summary.steadySavingsPct.toFixed(1)}%  (${r.measured.wallSec.toFixed(1)} s)`, true);
      return r;
    } catch (e) {
      if (!unavailable(e)) throw e;
      skipped.push({ id, reason: (e as Error).message });
      progress(`${id}  skipped: ${(e as Error).message}`, true);
      return null;
    }
  };

  const totalPages = new Map<string, number>();
  for (const workload of plan.workloads) {
    const ids = policies.filter((p) => wanted(runId(workload, p, 0)));
    if (ids.length === 0) continue;
    const baseline = await simulate(workload, "none", 0);
    if (baseline) {
      totalPages.set(workload, baseline.series.guestPages.at(-1) ?? 0);
      runs.push(toMacroRun(baseline, "matrix")); // always recorded: the charts compare against it
    }
    for (const policy of ids) {
      if (policy === "none") continue;
      const r = await simulate(workload, policy, 0);
      if (r) runs.push(toMacroRun(baseline ? compareWithBaseline(r, baseline) : r, "matrix"));
    }
  }

  // worker sweep: fastest policy (wall-clock pages/s) on the largest workload, ties broken by the
  // most CoW breaks (the most pages to hash again)
  const sweepWorkers = plan.sweepWorkers.filter((w) => w > 0);
  const rates = new Map<string, number[]>();
  for (const r of runs) {
    if (r.policy === "none" || r.measured.scannerPagesPerSec === null) continue;
    rates.set(r.policy, [...(rates.get(r.policy) ?? []), r.measured.scannerPagesPerSec]);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fastest = [...rates].sort((a, b) => mean(b[1]) - mean(a[1]))[0]?.[0];
  const cowOf = (w: string) => runs.find((r) => r.id === runId(w, fastest ?? "", 0))?.summary.cowBreaks ?? 0;
  const largest = [...totalPages].sort((a, b) => b[1] - a[1] || cowOf(b[0]) - cowOf(a[0]))[0]?.[0];
  if (fastest && largest && sweepWorkers.length > 0) {
    const baseline = runs.find((r) => r.id === runId(largest, "none", 0));
    for (const workers of sweepWorkers) {
      if (!wanted(runId(largest, fastest, workers))) continue;
      const r = await simulate(largest, fastest, workers);
      if (r) runs.push(toMacroRun(baseline ? compareWithBaseline(r, toRunResultLike(baseline)) : r, "worker-sweep"));
    }
  }
  return { runs, skipped, calibration };
}

/** compareWithBaseline reads only the baseline's summary. */
function toRunResultLike(r: MacroRun): RunResult {
  return { summary: r.summary } as RunResult;
}
