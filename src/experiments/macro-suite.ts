/**
 * The macro part of `bun run benchmarks`: simulation runs of the canned workloads, made from one
 * fixed list (macroList), in this order:
 *   1. the matrix: every workload x every policy, policy none first as each workload's baseline
 *      (the others get their throughput loss against it, run.ts), all with 0 workers;
 *   2. the worker sweep: the sweep policy on the sweep workload, once per worker count (the
 *      matrix already holds its 0-worker run). The target is chosen from the plan alone, so it
 *      is the same for any --jobs and any shard: policy vmdedup (the hash policy the hashing
 *      workers serve; else the first policy asked for), on the workload with the most guest
 *      pages at the plan's sizes (ties: the most guest writes per second in the steady phase,
 *      then the plan's order). It used to be "the fastest policy of the matrix", a wall-clock
 *      choice that could differ between two runs of the same command.
 * The matrix runs in the job pool given (side by side, --jobs); the sweep measures scanner
 * wall time, so it runs after the matrix (and any work the caller runs `alongside` it in the
 * same pool) is done, alone, one run at a time in this thread.
 * Results are gathered by list position, never in the order runs finish.
 * A shard (shard.ts) makes only the matrix positions it owns, and shard 1 the sweep; a run's
 * none baseline held by another shard is made here too but not recorded.
 * A run that cannot be made here (UnavailableError: an unknown workload, a missing component) is
 * recorded in `skipped` with the reason; any other error fails the suite. Each run becomes a
 * MacroRun: the run's record without the scan rate and guest mode (the suite runs HVM guests at
 * the simulator's default rate) and without its workload spec (code in workloads/, named).
 */
import type { MitigationKind, Policy } from "../dedup/index.ts";
import type { RunResult } from "../sim/index.ts";
import { resolveSpec } from "../sim/spec.ts";
import type { WorkloadCatalog } from "./catalog.ts";
import { UnavailableError } from "./errors.ts";
import { JobPool } from "./job-pool.ts";
import { RunCache } from "./run-cache.ts";
import { recordOf, runId, type RunRecord, type RunRequest } from "./run.ts";
import { inShard, runsWallClock, type Shard } from "./shard.ts";

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

/** One simulation of the fixed list: its position, id and group. */
export interface MacroListEntry {
  position: number;
  id: string;
  group: MacroGroup;
  workload: string;
  policy: Policy;
  workers: number;
}

export interface MacroOutcome {
  runs: MacroRun[];
  skipped: { id: string; reason: string }[];
  calibration: CalibrationInfo | null;
  /** List positions of `runs` and `skipped` (what a shard document records), and the list's length. */
  runPositions: number[];
  skippedPositions: number[];
  listLength: number;
}

export type Progress = (line: string, done: boolean) => void;

export interface MacroExecution {
  /** Where the matrix runs (default: one at a time in this thread). */
  pool?: JobPool;
  /** Make only this shard's part of the list. */
  shard?: Shard;
  /** Other work running in the same pool beside the matrix (the suite's security matrix and
   * density): the sweep waits for it too, so its wall-clock runs are alone on the machine. */
  alongside?: Promise<unknown>;
}

function toMacroRun(r: RunResult, group: MacroGroup): MacroRun {
  const x = recordOf(r, {});
  return {
    id: runId(x.workload, x.policy, x.workers), group, workload: x.workload, policy: x.policy, workers: x.workers, seed: x.seed,
    guests: x.guests, guestMemBytes: x.guestMemBytes, durationSec: x.durationSec, summary: x.summary, series: x.series, oracle: x.oracle, measured: x.measured,
  };
}

/** The sweep's policy and workload, from the plan alone (see the header); null when there is no policy or workload to sweep. */
export function sweepTarget(plan: MacroPlan): { policy: Policy; workload: string } | null {
  const dedup = plan.policies.filter((p) => p !== "none");
  const policy = dedup.includes("vmdedup") ? "vmdedup" : dedup[0];
  const sizes = plan.workloads.filter((w) => plan.catalog.has(w)).map((w) => {
    const r = resolveSpec(plan.catalog.get(w), { guests: plan.guests, guestMem: plan.guestMemBytes });
    const steadyWrites = r.families.reduce((a, f) => a + f.guests * (f.phases.at(-1)?.activities ?? []).reduce((b, x) => b + x.writesPerSec, 0), 0);
    return { w, pages: r.totalPages, steadyWrites };
  });
  const largest = sizes.reduce<(typeof sizes)[number] | undefined>((best, x) => (!best || x.pages > best.pages || (x.pages === best.pages && x.steadyWrites > best.steadyWrites) ? x : best), undefined);
  return policy && largest ? { policy, workload: largest.w } : null;
}

/** The suite's fixed list: the matrix (each workload's none first), then the worker sweep. */
export function macroList(plan: MacroPlan): MacroListEntry[] {
  const wanted = (id: string) => !plan.filter || plan.filter.test(id);
  const policies: Policy[] = ["none", ...plan.policies.filter((p) => p !== "none")];
  const list: MacroListEntry[] = [];
  const add = (workload: string, policy: Policy, workers: number, group: MacroGroup) =>
    list.push({ position: list.length, id: runId(workload, policy, workers), group, workload, policy, workers });
  for (const workload of plan.workloads) {
    if (!policies.some((p) => wanted(runId(workload, p, 0)))) continue;
    add(workload, "none", 0, "matrix"); // always recorded: the charts compare against it
    for (const policy of policies) if (policy !== "none" && wanted(runId(workload, policy, 0))) add(workload, policy, 0, "matrix");
  }
  const sweep = plan.sweepWorkers.some((w) => w > 0) ? sweepTarget(plan) : null;
  for (const workers of plan.sweepWorkers.filter((w) => w > 0)) {
    if (sweep && wanted(runId(sweep.workload, sweep.policy, workers))) add(sweep.workload, sweep.policy, workers, "worker-sweep");
  }
  return list;
}

/** Whether `shard` makes list entry `e`: every N-th matrix run; the sweep (wall-clock) in shard 1. */
export const shardMakes = (e: MacroListEntry, shard: Shard | undefined): boolean => (e.group === "worker-sweep" ? runsWallClock(shard) : inShard(e.position, shard));

export async function runMacroSuite(plan: MacroPlan, progress: Progress, exec: MacroExecution = {}): Promise<MacroOutcome> {
  let calibration: CalibrationInfo | null = null;
  const alone = new JobPool({ jobs: 1 });
  const idOf = (req: RunRequest) => runId(req.workload.name, req.policy, req.workers ?? 0);
  const cache = new RunCache({
    progress: (req) => (t, total) => progress(`${idOf(req)}  ${Math.round((100 * t) / total)}% of ${total} s simulated`, false),
    done: (req, r) => {
      calibration ??= { path: r.calibration.path, name: r.calibration.name, constants: r.calibration.constants };
      progress(`${idOf(req)}  saved ${r.summary.steadySavingsPct.toFixed(1)}%  (${r.measured.wallSec.toFixed(1)} s${r.measured.concurrentJobs > 1 ? `, ${r.measured.concurrentJobs} at once` : ""})`, true);
    },
  }, exec.pool ?? alone);
  const request = (workload: string, policy: Policy, workers: number): RunRequest => ({
    workload: plan.catalog.get(workload), policy, seed: plan.seed, workers, durationSec: plan.durationSec, guests: plan.guests,
    guestMem: plan.guestMemBytes, calibrationPath: plan.calibrationPath,
    ...(plan.mitigation !== undefined ? { mitigation: plan.mitigation } : {}), ...(plan.saltGroups !== undefined ? { saltGroups: plan.saltGroups } : {}),
  });
  /** The run with its baseline, or the reason it cannot be made here. */
  const attempt = async (e: MacroListEntry, pool?: JobPool): Promise<RunResult | { skipped: string }> => {
    try {
      return await cache.withBaseline(request(e.workload, e.policy, e.workers), true, pool);
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      return { skipped: err.message };
    }
  };
  const out: MacroOutcome = { runs: [], skipped: [], calibration: null, runPositions: [], skippedPositions: [], listLength: 0 };
  const take = (e: MacroListEntry, r: RunResult | { skipped: string }) => {
    if ("skipped" in r) {
      out.skipped.push({ id: e.id, reason: r.skipped });
      out.skippedPositions.push(e.position);
      progress(`${e.id}  skipped: ${r.skipped}`, true);
    } else {
      out.runs.push(toMacroRun(r, e.group));
      out.runPositions.push(e.position);
    }
  };

  const list = macroList(plan);
  out.listLength = list.length;
  const mine = list.filter((e) => shardMakes(e, exec.shard));
  // the matrix: every run queued at once (the pool runs --jobs of them side by side), gathered in list order
  const matrix = mine.filter((e) => e.group === "matrix").map((e) => ({ e, p: attempt(e) }));
  for (const m of matrix) m.p.catch(() => {}); // a failure is thrown below, in list order; none goes unhandled
  for (const { e, p } of matrix) take(e, await p);
  // the worker sweep: wall-clock, so alone and in order, after the matrix and whatever ran beside it
  const sweep = mine.filter((x) => x.group === "worker-sweep");
  if (sweep.length > 0) await exec.alongside; // a failure there fails the suite before the sweep starts
  for (const e of sweep) take(e, await attempt(e, alone));
  out.calibration = calibration;
  return out;
}
