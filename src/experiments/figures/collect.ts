/**
 * The runs and measurements behind each paper figure. What each figure needs:
 *   figure 1  vmdedup on every canned workload at each guest count (simulator default scan rate);
 *   2, 4, 7   the workload x policy matrix (matrix.ts), fresh or from a results document (`from`);
 *   figure 3  each de-duplication policy on the sweep workload at each pagesToScan;
 *   figure 5  the merge cost (merge-cost.ts) and a full run of each policy, HVM and PV guests;
 *   figure 6  scanner throughput against worker threads (worker-throughput.ts, wall-clock);
 *   figure 8  density: every guest count 1..densityMaxGuests of every policy on an overcommitted
 *             host and its uncommitted twin (density-section.ts), the search read back from them;
 *             and the shipped traces of densityTraces (`traces`), counts 1..their guests, host runs only.
 *   figure 9  the security matrix (attack/security-matrix.ts: every dedup policy x mitigation),
 *             from a results document's security section (`from`) or fresh.
 * Figures 1, 3, 5 and 8 always run their own sweeps (no results document holds them).
 *
 * In three steps, so the deterministic work can run side by side and be split into shards:
 *   1. figureJobs: the fixed list of jobs (simulations and merge-cost measurements) the
 *      selected figures need, in figure order, each distinct job once (a shared run, e.g. a
 *      baseline, at its first use), every one a pure function of its plain-data request;
 *   2. the jobs run in a JobPool (--jobs N side by side), or a shard runs every N-th of them;
 *   3. assembleFigureData builds each figure's data from the finished jobs, looked up by key.
 * Figure 6 is wall-clock: measured after every other job is done, alone, in this thread.
 * Figure 9's security matrix is deterministic but one block (runSecurityMatrix): made in shard 1
 * only (data-doc.ts carries it); its attacks and host runs go to the same pool (after the jobs
 * with --jobs 1, beside them with more), its rows gathered in order, so it is byte-identical for
 * any --jobs.
 * `mitigation` (--mitigation/--salt-groups) applies to every fresh run of figures 1-5 and 7;
 * figure 6 times the scanner without one, figure 8 (density) runs without one, and figure 9
 * runs every mitigation itself.
 * report/ turns this data into the figures without running anything.
 */
import os from "node:os";
import { resolveSpec, type RunResult, type WorkloadSpec } from "../../sim/index.ts";
import { checkSaltCoverage, resolveMitigation } from "../../dedup/index.ts";
import { runSecurityMatrix, type SecuritySection } from "../attack/index.ts";
import type { WorkloadCatalog } from "../catalog.ts";
import { JobPool, type Job, type PooledRunResult } from "../job-pool.ts";
import type { MacroRun } from "../macro-suite.ts";
import { requestKey } from "../run-cache.ts";
import { DEDUP_POLICIES, requestLabel, type RunRequest } from "../run.ts";
import type { FigureConfig } from "./config.ts";
import { collectMatrix, documentMatrix, freshMatrix, matrixRunRequest, SETUP_RUN, type MatrixView } from "./matrix.ts";
import type { MergeCost, MergeCostArgs } from "./merge-cost.ts";
import { figureRunOf, figureSimulations, type FigureMitigation, type FigureRun, type FigureRunRequest } from "./runs.ts";
import { measureWorkers, type WorkerSample } from "./worker-throughput.ts";
import { POLICIES } from "../../dedup/index.ts";
import { densityFromOutputs, densityGridRequests, traceDensityFromOutputs, traceDensityRequests, type DensityGrid, type DensitySection, type TraceDensityGrid } from "../density-section.ts";

export interface FigureData {
  fig1?: FigureRun[];
  /** Figures 2, 4 and 7; `timeline`: the workloads of figures 2 and 7. */
  matrix?: MatrixView;
  timeline: string[];
  fig3?: FigureRun[];
  fig5?: { costs: MergeCost[]; runs: FigureRun[] };
  fig6?: Fig6Data;
  fig8?: DensitySection;
  fig9?: Fig9Data;
}

/** Figure 9: the security matrix and where it came from. */
export interface Fig9Data {
  section: SecuritySection;
  source: string;
}

export interface Fig6Data {
  samples: WorkerSample[];
  cpu: string;
  cores: number;
}

export interface CollectOptions {
  cfg: FigureConfig;
  catalog: WorkloadCatalog;
  seed: number;
  /** The figures to collect for. */
  only: ReadonlySet<number>;
  from?: { doc: { commit: string; macro: { runs: readonly MacroRun[] }; security?: SecuritySection }; file: string };
  progress: (line: string) => void;
  /** The mitigation of every fresh simulation run of figures 1-5 and 7 (absent: off). */
  mitigation?: FigureMitigation;
  /** Shipped trace replays (handed in from above, as the catalog): figure 8's trace rows take cfg.densityTraces from them. */
  traces?: readonly WorkloadSpec[];
}

/** One job of the figures' fixed list; `key` identifies it (xxHash3 of its canonical request). */
export interface FigureJob {
  key: string;
  /** A simulation or a merge cost (the security matrix's attacks are figure 9's, queued apart). */
  job: Exclude<Job, { kind: "attack" }>;
}

/** A finished job: a simulation's result or a merge cost. */
export type FigureJobOutput = PooledRunResult | MergeCost;

/** Guest counts a workload can run at: a mixed host needs one guest per family at least, and as many of each. */
export function guestCountsFor(spec: WorkloadSpec, counts: readonly number[]): number[] {
  const families = spec.families.length;
  return counts.filter((n) => n >= families && n % families === 0);
}

/**
 * Checks a salt-group list against every host the selected figures run fresh with the
 * mitigation (as `vmdedup run` checks one: InvalidArgumentError with the same message), before
 * anything runs. Figures 6 and 8 run without it; figure 9 runs every mitigation with its own salts.
 */
export function checkFigureSaltGroups(cfg: FigureConfig, catalog: WorkloadCatalog, only: ReadonlySet<number>, m: FigureMitigation | undefined, fromDoc: boolean): void {
  if (!m?.mitigation) return;
  const resolved = resolveMitigation({ kind: m.mitigation, saltGroups: m.saltGroups });
  if (!Array.isArray(resolved.saltGroups)) return;
  const hosts: [WorkloadSpec, number][] = [];
  if (only.has(1)) for (const w of catalog.names()) for (const n of guestCountsFor(catalog.get(w), cfg.guestCounts)) hosts.push([catalog.get(w), n]);
  if ((only.has(2) || only.has(4) || only.has(7)) && !fromDoc) for (const w of catalog.names()) hosts.push([catalog.get(w), cfg.matrixGuests]);
  if (only.has(3)) hosts.push([catalog.get(cfg.sweepWorkload), cfg.sweepGuests]);
  if (only.has(5)) hosts.push([catalog.get(cfg.pvWorkload), cfg.matrixGuests]);
  for (const [spec, guests] of hosts) checkSaltCoverage(resolved, resolveSpec(spec, { guests }).totalGuests);
}

const hashKey = (s: string) => Bun.hash.xxHash3(s).toString(16).padStart(16, "0");
export const runJobKey = (req: RunRequest): string => hashKey(requestKey(req));
export const mergeCostKey = (a: MergeCostArgs): string => hashKey(`merge-cost ${JSON.stringify(a)}`);

function figure1Requests(o: CollectOptions): FigureRunRequest[] {
  return o.catalog.names().flatMap((workload) => {
    const spec = o.catalog.get(workload);
    return guestCountsFor(spec, o.cfg.guestCounts).map((guests) => ({
      workload: spec, policy: "vmdedup" as const, guests, guestMemBytes: o.cfg.guestMemBytes, durationSec: o.cfg.guestsDurationSec,
      pagesToScan: null, sleepMillisecs: null, seed: o.seed, baseline: false, ...o.mitigation,
    }));
  });
}

function figure3Requests(o: CollectOptions): FigureRunRequest[] {
  return DEDUP_POLICIES.flatMap((policy) =>
    o.cfg.sweepPagesToScan.map((pagesToScan) => ({
      workload: o.catalog.get(o.cfg.sweepWorkload), policy, guests: o.cfg.sweepGuests, guestMemBytes: o.cfg.guestMemBytes, durationSec: o.cfg.sweepDurationSec,
      pagesToScan, sleepMillisecs: o.cfg.sleepMillisecs, seed: o.seed, baseline: false, ...o.mitigation,
    })),
  );
}

/** Figure 5's measurements: for each mode and policy, the merge cost, then the full run. */
function figure5Requests(o: CollectOptions): { cost: MergeCostArgs; run: FigureRunRequest }[] {
  const { cfg } = o;
  const spec = o.catalog.get(cfg.pvWorkload);
  return (["hvm", "pv"] as const).flatMap((mode) =>
    DEDUP_POLICIES.map((policy) => ({
      cost: { workload: spec, mode, policy, guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, seed: o.seed },
      run: {
        workload: spec, policy, mode, guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.matrixDurationSec,
        pagesToScan: cfg.matrixPagesToScan, sleepMillisecs: cfg.sleepMillisecs, oracleEverySec: cfg.oracleEverySec, seed: o.seed, ...o.mitigation,
      },
    })),
  );
}

function densityGrid(o: CollectOptions): DensityGrid {
  const c = o.cfg;
  return { guestMemBytes: c.densityGuestMemBytes, hostMemBytes: c.densityHostMemBytes, maxGuests: c.densityMaxGuests, durationSec: c.densityDurationSec, maxLossPct: c.densityMaxLossPct, seed: o.seed };
}

/** Figure 8's traces: cfg.densityTraces found among the shipped traces, in config order (a trace not shipped is left out). */
function densityTraceSpecs(o: CollectOptions): WorkloadSpec[] {
  const by = new Map((o.traces ?? []).map((s) => [s.name, s]));
  return o.cfg.densityTraces.flatMap((n) => (by.has(n) ? [by.get(n)!] : []));
}

const traceGrid = (o: CollectOptions): TraceDensityGrid => ({ hostMemBytes: o.cfg.densityTraceHostMemBytes, maxLossPct: o.cfg.densityMaxLossPct, seed: o.seed });

const wantsMatrix = (o: CollectOptions) => o.only.has(2) || o.only.has(4) || o.only.has(7);

/** Workloads of figures 2 and 7: the config's workloads the source has, else its first two. */
function timelineOf(o: CollectOptions, available: readonly string[]): string[] {
  const present = o.cfg.timelineWorkloads.filter((w) => available.includes(w));
  return present.length > 0 ? present : available.slice(0, 2);
}

/** The fresh matrix runs the figures read (none when the matrix comes from a results document). */
function matrixRequests(o: CollectOptions): FigureRunRequest[] {
  if (!wantsMatrix(o) || o.from) return [];
  const names = o.catalog.names();
  const workloads = o.only.has(4) ? names : timelineOf(o, names);
  const get = (w: string, p: (typeof DEDUP_POLICIES)[number] | "none") => matrixRunRequest(o.catalog, o.cfg, o.seed, w, p, o.mitigation);
  return [...workloads.flatMap((w) => [...DEDUP_POLICIES, "none" as const].map((p) => get(w, p))), get(SETUP_RUN.workload, SETUP_RUN.policy)];
}

/** The fixed list of jobs the figures in `o.only` need (figure 6 apart), in figure order, each once. */
export function figureJobs(o: CollectOptions): FigureJob[] {
  const list: FigureJob[] = [];
  const seen = new Set<string>();
  const add = (key: string, job: FigureJob["job"]) => {
    if (seen.has(key)) return;
    seen.add(key);
    list.push({ key, job });
  };
  const addRun = (f: FigureRunRequest) => {
    for (const req of figureSimulations(f)) add(runJobKey(req), { kind: "run", id: requestLabel(req), req });
  };
  if (o.only.has(1)) figure1Requests(o).forEach(addRun);
  matrixRequests(o).forEach(addRun);
  if (o.only.has(3)) figure3Requests(o).forEach(addRun);
  if (o.only.has(5)) {
    for (const { cost, run } of figure5Requests(o)) {
      add(mergeCostKey(cost), { kind: "merge-cost", id: `merge cost: ${cost.workload.name} ${cost.mode.toUpperCase()} / ${cost.policy}`, args: cost });
      addRun(run);
    }
  }
  if (o.only.has(8))
    for (const w of o.cfg.densityWorkloads)
      for (const req of densityGridRequests(o.catalog.get(w), densityGrid(o), POLICIES)) add(runJobKey(req), { kind: "run", id: requestLabel(req), req });
  if (o.only.has(8))
    for (const t of densityTraceSpecs(o))
      for (const req of traceDensityRequests(t, traceGrid(o), POLICIES)) add(runJobKey(req), { kind: "run", id: requestLabel(req), req });
  return list;
}

/** Each figure's data from the finished jobs (`outputs`: by job key); figure 6's measurement is passed in. */
export async function assembleFigureData(o: CollectOptions, outputs: ReadonlyMap<string, FigureJobOutput>, fig6?: Fig6Data, fig9?: Fig9Data): Promise<FigureData> {
  const output = (key: string, what: string) => {
    const x = outputs.get(key);
    if (!x) throw new Error(`the figures' data has no result for ${what} (job ${key})`);
    return x;
  };
  const made = (req: RunRequest) => output(runJobKey(req), requestLabel(req)) as RunResult;
  const data: FigureData = { timeline: [] };
  if (o.only.has(1)) data.fig1 = figure1Requests(o).map((f) => figureRunOf(made, f));
  if (wantsMatrix(o)) {
    const source = o.from ? documentMatrix(o.from.doc, o.from.file, o.catalog.names()) : freshMatrix(made, o.catalog, o.cfg, o.seed, o.mitigation);
    data.timeline = timelineOf(o, source.workloads);
    data.matrix = await collectMatrix(source, o.only.has(4) ? source.workloads : data.timeline, [...DEDUP_POLICIES, "none"]);
  }
  if (o.only.has(3)) data.fig3 = figure3Requests(o).map((f) => figureRunOf(made, f));
  if (o.only.has(5)) {
    const f5 = figure5Requests(o);
    data.fig5 = { costs: f5.map((x) => output(mergeCostKey(x.cost), "a merge cost") as MergeCost), runs: f5.map((x) => figureRunOf(made, x.run)) };
  }
  if (o.only.has(6) && fig6) data.fig6 = fig6;
  if (o.only.has(8)) {
    data.fig8 = await densityFromOutputs(o.cfg.densityWorkloads.map((w) => o.catalog.get(w)), densityGrid(o), POLICIES, made);
    const traces = densityTraceSpecs(o);
    if (traces.length > 0) data.fig8.traces = await traceDensityFromOutputs(traces, traceGrid(o), POLICIES, made);
  }
  if (o.only.has(9) && fig9) data.fig9 = fig9;
  return data;
}

/** Runs `jobs` in `pool` (all queued at once), gathered by key; progress lines name each job. */
export async function runFigureJobs(jobs: readonly FigureJob[], pool: JobPool, progress: (line: string) => void): Promise<Map<string, FigureJobOutput>> {
  const started = jobs.map(({ job }) => pool.run(job, (t, total) => progress(`${job.id}: ${Math.round((100 * t) / total)}%`)));
  for (const p of started) p.catch(() => {}); // failures are thrown below, in list order
  const outputs = new Map<string, FigureJobOutput>();
  for (let i = 0; i < jobs.length; i++) {
    if (jobs[i]!.job.kind === "merge-cost") progress(jobs[i]!.job.id);
    outputs.set(jobs[i]!.key, await started[i]!);
  }
  return outputs;
}

/** Figure 6's measurement (wall-clock; run it alone). */
export async function measureFigure6(cfg: FigureConfig, progress: (line: string) => void): Promise<Fig6Data> {
  return { samples: await measureWorkers(cfg, progress), cpu: os.cpus()[0]?.model ?? "unknown CPU", cores: os.cpus().length };
}

/** Figure 9's data: the results document's security section when it has one, else the matrix run fresh (its attacks and host runs in `pool` when given, else in this thread; its host runs are not counted in `simulations`). */
export async function measureFigure9(o: CollectOptions, pool?: JobPool): Promise<Fig9Data> {
  const doc = o.from?.doc.security;
  if (o.from && doc && doc.rows.length > 0) return { section: doc, source: `results document ${o.from.file} (commit ${o.from.doc.commit}), its security section` };
  const { cfg } = o;
  const section = await runSecurityMatrix({
    workloads: cfg.securityWorkloads, catalog: o.catalog, policies: [...DEDUP_POLICIES], trials: cfg.securityTrials, seed: o.seed,
    guests: cfg.securityGuests, guestMemBytes: cfg.securityGuestMemBytes, durationSec: cfg.securityDurationSec,
  }, (line) => o.progress(line), pool);
  return { section, source: "fresh attack and host runs (src/experiments/attack/security-matrix.ts)" };
}

/**
 * Everything the figures in `o.only` need; `simulations`: the fresh simulations made. With one job
 * at a time, the jobs, then figure 9's security matrix, in this order; with more, figure 9's
 * attacks and host runs are queued in the same pool beside the jobs. Figure 6 is made last, alone.
 */
export async function collectFigureData(o: CollectOptions & { pool?: JobPool }): Promise<{ data: FigureData; simulations: number }> {
  const jobs = figureJobs(o);
  const pool = o.pool ?? new JobPool({ jobs: 1 });
  const fig9Beside = o.only.has(9) && pool.jobs > 1 ? measureFigure9(o, pool) : undefined;
  fig9Beside?.catch(() => {}); // awaited below, after the jobs
  const outputs = await runFigureJobs(jobs, pool, o.progress);
  const fig9 = fig9Beside ? await fig9Beside : o.only.has(9) ? await measureFigure9(o, pool) : undefined;
  const fig6 = o.only.has(6) ? await measureFigure6(o.cfg, o.progress) : undefined;
  return { data: await assembleFigureData(o, outputs, fig6, fig9), simulations: jobs.filter((j) => j.job.kind === "run").length };
}
