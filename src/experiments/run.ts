/**
 * One simulation run, a run with its baseline, and the one record every layer above reads.
 *
 * A policy's run is judged against the same run without de-duplication: policy none, same
 * workload spec, seed and options. The guests' steady throughput under none is what the
 * policy's CoW breaks and scanner CPU take from, so runWithBaseline makes both runs and derives
 * baselineGuestOpsPerSec and throughputLossPct. The baseline runs with 0 hashing workers:
 * simulated results do not depend on the worker count (the simulated scanner is one thread), so
 * it is the same baseline, made at the least cost.
 *
 * RunRecord is the run as experiments hand it up: flat, named fields (no nested options) and the
 * deterministic summary, series and oracle, with the wall-clock `measured` apart. The views
 * report/ reads (a results document's MacroRun, a figure's FigureRun) are Pick<>s of it.
 * RunResult (src/sim/result.ts) stays the simulator's own document, as `vmdedup run` writes it.
 */
import { POLICIES, type Policy } from "../dedup/index.ts";
import type { GuestMode } from "../hypervisor/index.ts";
import { hasHost, uncommittedRequest, withUncommitted } from "./overcommit.ts";
import { runSimulation, type Measured, type OracleSeries, type RunResult, type RunSummary, type SimOptions, type TimeSeries, type WorkloadSpec } from "../sim/index.ts";

/** What to simulate: the simulator's options with the workload as a spec object (from a WorkloadCatalog). */
export type RunRequest = Omit<SimOptions, "workload" | "policy" | "onProgress"> & { workload: WorkloadSpec; policy: Policy };

/** Simulated seconds done of the run's total, for a progress display. */
export type RunProgress = (tSec: number, durationSec: number) => void;

export interface RunRecord {
  /** The workload spec's name. */
  workload: string;
  policy: Policy;
  /** "pv" when every family's guests are PV, else "hvm". */
  mode: GuestMode;
  workers: number;
  seed: number;
  /** Guests of the run (all families) and memory per guest of the first family, bytes. */
  guests: number;
  guestMemBytes: number;
  durationSec: number;
  /** The scan rate asked for; null: the simulator's default. */
  pagesToScan: number | null;
  sleepMillisecs: number | null;
  summary: RunSummary;
  series: TimeSeries;
  oracle: OracleSeries;
  /** Wall-clock figures (machine-dependent); everything else is deterministic. */
  measured: RunMeasured;
}

/** A run's wall-clock figures; `concurrentJobs`: the most simulations that ran at once (this one included) while it ran (1: alone). */
export type RunMeasured = Measured & { concurrentJobs: number };

/** "<workload>/<policy>/w<workers>": a run's name in suites, progress lines and skip lists. */
export const runId = (workload: string, policy: string, workers: number): string => `${workload}/${policy}/w${workers}`;

/** A request's name in progress lines and job errors: its runId, then guests, scan rate and PV when given. */
export function requestLabel(req: RunRequest): string {
  const pv = req.workload.families.every((f) => f.mode === "pv");
  const extra = [req.guests === undefined ? "" : `${req.guests} guests`, req.pagesToScan === undefined ? "" : `pagesToScan ${req.pagesToScan}`, pv ? "PV" : ""].filter(Boolean);
  return `${runId(req.workload.name, req.policy, req.workers ?? 0)}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

/** Runs one simulation, then releases its machine memory (SharedArrayBuffers) before the next. */
export async function runOnce(req: RunRequest, onProgress?: RunProgress): Promise<RunResult> {
  const result = await runSimulation({ ...req, ...(onProgress ? { onProgress } : {}) });
  Bun.gc(true);
  return result;
}

/** The throughput lost against a baseline's steady guest ops/s, % (4 decimals); null without a baseline throughput. */
export function throughputLossPct(steadyGuestOpsPerSec: number, baselineGuestOpsPerSec: number): number | null {
  if (!(baselineGuestOpsPerSec > 0)) return null;
  return Math.round((1 - steadyGuestOpsPerSec / baselineGuestOpsPerSec) * 100 * 1e4) / 1e4;
}

/** `result` with its summary's baseline figures filled in from `baseline` (a new document; neither is changed). */
export function withBaseline<T extends { summary: RunSummary }>(result: T, baseline: { summary: RunSummary }): T {
  const b = baseline.summary.steadyGuestOpsPerSec;
  const summary = { ...result.summary, baselineGuestOpsPerSec: b, throughputLossPct: throughputLossPct(result.summary.steadyGuestOpsPerSec, b) };
  return { ...result, summary };
}

/** The request of `req`'s baseline: the same run under policy none, at 0 workers. */
export const baselineRequest = (req: RunRequest): RunRequest => ({ ...req, policy: "none", workers: 0 });

export interface BaselinedRun {
  /** The policy's run, its summary compared with the baseline's (or as run when there is none). */
  result: RunResult;
  /** The none run; null when the policy is none itself or no baseline was asked for. */
  baseline: RunResult | null;
  /** On a host with a size: the same run on an uncommitted host (overcommit.ts), which overcommitLossPct is judged against; else null. */
  uncommitted?: RunResult | null;
}

/**
 * Runs `req` and, unless the policy is none or `baseline` is false, the same run under none,
 * deriving the throughput loss. `progress(which)` gives each run's progress callback.
 */
export async function runWithBaseline(
  req: RunRequest,
  o: { baseline?: boolean; progress?: (which: "policy" | "baseline" | "uncommitted") => RunProgress | undefined } = {},
): Promise<BaselinedRun> {
  const result = await runOnce(req, o.progress?.("policy"));
  // on a host with a size, the same run on an uncommitted host gives overcommitLossPct
  const uncommitted = hasHost(req) ? await runOnce(uncommittedRequest(req), o.progress?.("uncommitted")) : null;
  const judged = uncommitted ? withUncommitted(result, uncommitted) : result;
  if (req.policy === "none" || o.baseline === false) return { result: judged, baseline: null, ...(uncommitted ? { uncommitted } : {}) };
  const baseline = await runOnce(baselineRequest(req), o.progress?.("baseline"));
  return { result: withBaseline(judged, baseline), baseline, ...(uncommitted ? { uncommitted } : {}) };
}

/** The record of a run made from `req` (the request gives the scan rate as asked: null when left to the default). */
export function recordOf(r: RunResult, req: Pick<RunRequest, "pagesToScan" | "sleepMillisecs">): RunRecord {
  const o = r.options;
  return {
    workload: o.workload,
    policy: o.policy,
    mode: r.workload.spec.families.every((f) => f.mode === "pv") ? "pv" : "hvm",
    workers: o.workers,
    seed: r.seed,
    guests: o.guests,
    guestMemBytes: o.guestMemBytes,
    durationSec: o.durationSec,
    pagesToScan: req.pagesToScan ?? null,
    sleepMillisecs: req.sleepMillisecs ?? null,
    summary: r.summary,
    series: r.series,
    oracle: r.oracle,
    measured: { ...r.measured, concurrentJobs: (r.measured as Partial<RunMeasured>).concurrentJobs ?? 1 },
  };
}

/** The de-duplication policies (every policy but none), in POLICIES order: the lines and bars of every comparison. */
export const DEDUP_POLICIES: readonly Exclude<Policy, "none">[] = POLICIES.filter((p): p is Exclude<Policy, "none"> => p !== "none");
