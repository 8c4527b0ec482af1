/**
 * The charts of a results document, as ChartSpecs (drawn by render.ts), each with a file name:
 *   savings-<workload>        memory saved over simulated time, one line per policy, oracle dashed
 *   full-pass-time            simulated time of one full scan pass per policy and workload
 *   time-to-merge-<workload>  CDF of time-to-merge per policy (from the run's histogram)
 *   scanner-workers           scanner pages/s (wall-clock) against worker count, per workload
 *   guest-throughput          guest operations/s per workload with each policy, as % of without (none)
 *   throughput-loss           the same as a loss in %, to show small differences
 *   cow-breaks-<workload>     CoW breaks per simulated second, for workloads that keep breaking
 *   host-memory-<workload>,   a matrix run on an overcommitted host (cow-storm's spec has one):
 *   host-pressure-<workload>  memory held by reclamation, and state / stall / throughput, over time
 *   density                   guests that fit per policy (the document's density section)
 *   security-*-<workload>     the side channel per policy x mitigation (security-charts.ts)
 * Matrix runs (one worker count) give the per-policy charts; worker-sweep runs the worker chart.
 * Sized for one paper column (3.3 in, 8 pt text; PNG at 300 dpi) so they stay readable there.
 */
import { POLICIES } from "../dedup/index.ts";
import { paperFigureSize, POLICY_COLORS, SINGLE_COLUMN_WIDTH_IN, DOUBLE_COLUMN_WIDTH_IN, type ChartSpec, type PolicyName, type Series } from "./chart-spec.ts";
import { densityChart, hostTimeSeriesCharts } from "./overcommit-charts.ts";
import type { MacroRun, ResultsDocument } from "./results-schema.ts";
import { securityCharts } from "./security-charts.ts";

export interface NamedChart {
  /** File name without extension. */
  name: string;
  /** One line for the summary. */
  caption: string;
  spec: ChartSpec;
}

const COLUMN = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.78);
const WIDE = paperFigureSize(DOUBLE_COLUMN_WIDTH_IN, 300, 0.4);
/** Order of policies in every legend: POLICIES' order (the dedup policies, then the baseline none). */
const POLICY_ORDER: readonly string[] = POLICIES;
/** A workload "keeps breaking CoW" when some policy's steady rate is at least this many per second. */
export const CHURN_MIN_COW_PER_SEC = 1;

const byPolicy = (a: MacroRun, b: MacroRun) => rank(a.policy) - rank(b.policy);
function rank(p: string): number {
  const i = POLICY_ORDER.indexOf(p);
  return i < 0 ? POLICY_ORDER.length : i;
}

/** Workloads in first-seen order, with their matrix runs in policy order. */
export function matrixByWorkload(doc: ResultsDocument): Map<string, MacroRun[]> {
  const out = new Map<string, MacroRun[]>();
  for (const r of doc.macro.runs) {
    if (r.group !== "matrix") continue;
    const list = out.get(r.workload) ?? [];
    list.push(r);
    out.set(r.workload, list);
  }
  for (const list of out.values()) list.sort(byPolicy);
  return out;
}

/** Mean simulated seconds per full pass (null for none, or when no pass finished). */
export function fullPassSec(r: MacroRun): number | null {
  if (r.policy === "none" || r.summary.fullScans === 0) return null;
  return r.durationSec / r.summary.fullScans;
}

/** CDF points (x = bucket bound in s, y = % of merges at or below) of a time-to-merge histogram. */
export function timeToMergeCdf(r: MacroRun): { x: number; y: number }[] {
  const { bucketUpperMs, counts } = r.summary.timeToMerge;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const pts: { x: number; y: number }[] = [];
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    const bound = bucketUpperMs[i];
    if (bound === null || bound === undefined || bound <= 0) continue; // open last bucket: no bound to plot
    pts.push({ x: bound / 1000, y: (100 * acc) / total });
    if (acc === total) break; // the rest of the buckets are empty: the curve stays at 100%
  }
  return pts;
}

function savingsChart(workload: string, runs: MacroRun[]): ChartSpec {
  const series: Series[] = runs.filter((r) => r.policy !== "none").map((r) => ({ label: r.policy, points: r.series.tSec.map((t, i) => ({ x: t, y: r.series.savingsPct[i]! })) }));
  // the oracle of the run without de-duplication (guests there run unhindered); all runs are close
  const oracleRun = runs.find((r) => r.policy === "none") ?? runs[0]!;
  series.push({ label: "oracle", points: oracleRun.oracle.tSec.map((t, i) => ({ x: t, y: oracleRun.oracle.savablePct[i]! })) });
  return { ...COLUMN, kind: "line", title: `Memory saved: ${workload}`, xLabel: "Simulated time (s)", yLabel: "Saved (% of guest memory)", series, xMin: 0, yMin: 0 };
}

function cowChart(workload: string, runs: MacroRun[]): ChartSpec {
  return {
    ...COLUMN,
    kind: "line",
    title: `CoW breaks: ${workload}`,
    xLabel: "Simulated time (s)",
    yLabel: "CoW breaks per second",
    series: runs.filter((r) => r.policy !== "none").map((r) => ({ label: r.policy, points: r.series.tSec.map((t, i) => ({ x: t, y: r.series.cowBreaksPerSec[i]! })) })),
    xMin: 0,
    yMin: 0,
  };
}

function ttmChart(workload: string, runs: MacroRun[]): ChartSpec | null {
  const series = runs.filter((r) => r.policy !== "none").map((r) => ({ label: r.policy, step: "after" as const, points: timeToMergeCdf(r) })).filter((s) => s.points.length > 0);
  if (series.length === 0) return null;
  return { ...COLUMN, kind: "line", title: `Time to merge: ${workload}`, xLabel: "Time from duplicate to merge (s)", yLabel: "Merges done (%)", xLog: true, series, yMin: 0, yMax: 100 };
}

/** Policies present among `runs`, in legend order. */
function policiesOf(runs: MacroRun[]): string[] {
  return [...new Set(runs.map((r) => r.policy))].sort((a, b) => rank(a) - rank(b));
}

function barChart(
  title: string,
  yLabel: string,
  matrix: Map<string, MacroRun[]>,
  policies: string[],
  value: (r: MacroRun) => number | null,
): ChartSpec | null {
  const categories = [...matrix.keys()];
  const series: Series[] = [];
  for (const policy of policies) {
    const points = categories.map((w, x) => ({ x, y: value(matrix.get(w)!.find((r) => r.policy === policy)!) ?? Number.NaN }));
    if (points.some((p) => Number.isFinite(p.y))) series.push({ label: policy, points });
  }
  if (series.length === 0) return null;
  return { ...(categories.length > 3 ? WIDE : COLUMN), kind: "bar", title, xLabel: "Workload", yLabel, categories, series };
}

export function chartsFromResults(doc: ResultsDocument): NamedChart[] {
  const charts: NamedChart[] = [];
  const matrix = matrixByWorkload(doc);
  for (const [w, runs] of matrix) {
    charts.push({ name: `savings-${w}`, caption: `Memory saved over time, ${w}, one line per policy; the oracle (every duplicate merged) dashed.`, spec: savingsChart(w, runs) });
  }
  // bar charts need every policy present for every workload: keep the policies common to all
  const all = [...matrix.values()].flat();
  const common = policiesOf(all).filter((p) => [...matrix.values()].every((runs) => runs.some((r) => r.policy === p)));
  const pass = barChart("Full scan pass", "Simulated time per pass (s)", matrix, common.filter((p) => p !== "none"), fullPassSec);
  if (pass) charts.push({ name: "full-pass-time", caption: "Simulated time one full pass over guest memory takes, per policy (scan rate and per-page cost).", spec: pass });
  for (const [w, runs] of matrix) {
    const spec = ttmChart(w, runs);
    if (spec) charts.push({ name: `time-to-merge-${w}`, caption: `Cumulative distribution of time-to-merge, ${w}: from the write that makes a second copy to the merge.`, spec });
  }
  // worker sweep: the sweep runs plus the matrix run of the same workload and policy (0 workers)
  const sweep = doc.macro.runs.filter((r) => r.group === "worker-sweep");
  if (sweep.length > 0) {
    const policy = sweep[0]!.policy;
    const byWorkload = new Map<string, MacroRun[]>();
    for (const r of doc.macro.runs) {
      if (r.policy !== policy || r.measured.scannerPagesPerSec === null || !sweep.some((s) => s.workload === r.workload)) continue;
      byWorkload.set(r.workload, [...(byWorkload.get(r.workload) ?? []), r]);
    }
    // bars per worker count: a line would suggest fractional threads between the points
    const counts = [...new Set([...byWorkload.values()].flat().map((r) => r.workers))].sort((a, b) => a - b);
    charts.push({
      name: "scanner-workers",
      caption: `Scanner throughput (wall-clock pages/s) of ${policy} against hashing worker threads (0 = hashing in the scanner's own thread).`,
      spec: {
        ...COLUMN,
        kind: "bar",
        title: `Scanner speed: ${policy}${byWorkload.size === 1 ? `, ${[...byWorkload.keys()][0]}` : ""}`,
        xLabel: "Hashing worker threads",
        yLabel: "Pages scanned (millions/s)",
        categories: counts.map(String),
        series: [...byWorkload].map(([w, runs]) => ({
          label: w,
          color: byWorkload.size === 1 ? POLICY_COLORS[policy as PolicyName] : undefined,
          points: counts.map((n, x) => ({ x, y: (runs.find((r) => r.workers === n)?.measured.scannerPagesPerSec ?? Number.NaN) / 1e6 })),
        })),
      },
    });
  }
  // relative to none, so that workloads of very different operation rates share one axis
  const relative = (r: MacroRun) => {
    const base = matrix.get(r.workload)!.find((x) => x.policy === "none")?.summary.steadyGuestOpsPerSec;
    return base ? (100 * r.summary.steadyGuestOpsPerSec) / base : null;
  };
  const tput = barChart("Guest throughput", "Throughput (% of none)", matrix, common.includes("none") ? common : [], relative);
  if (tput) {
    charts.push({
      name: "guest-throughput",
      caption: "Guest operations per simulated second in steady state with each policy, as % of the same workload without de-duplication (none = 100%).",
      spec: { ...tput, yMin: 0, yMax: 100 },
    });
  }
  const loss = barChart("Guest throughput lost to de-duplication", "Throughput loss vs. none (%)", matrix, common.filter((p) => p !== "none"), (r) => r.summary.throughputLossPct);
  if (loss) {
    charts.push({
      name: "throughput-loss",
      caption: "Guest throughput lost in steady state against the same workload without de-duplication, % (CoW breaks and scanner CPU); no bar: no loss.",
      spec: loss,
    });
  }
  for (const [w, runs] of matrix) {
    if (!runs.some((r) => r.summary.steadyCowBreaksPerSec >= CHURN_MIN_COW_PER_SEC)) continue;
    charts.push({ name: `cow-breaks-${w}`, caption: `Copy-on-write breaks per simulated second, ${w} (guests writing to merged pages).`, spec: cowChart(w, runs) });
  }
  charts.push(...overcommitCharts(doc, matrix));
  charts.push(...securityCharts(doc));
  return charts;
}

/** Overcommitted hosts: host time series of each matrix run with host columns (vmdedup's, e.g. cow-storm's spec host), and density. */
function overcommitCharts(doc: ResultsDocument, matrix: Map<string, MacroRun[]>): NamedChart[] {
  const out: NamedChart[] = [];
  for (const [w, runs] of matrix) {
    const r = runs.find((x) => x.policy === "vmdedup" && x.series.hostFreePages) ?? runs.find((x) => x.series.hostFreePages);
    if (!r) continue;
    const [memory, pressure] = hostTimeSeriesCharts(r, `${w} (${r.policy})`);
    out.push({ name: `host-memory-${w}`, caption: `${w} on its overcommitted host (${r.policy}): guest data in frames, free host memory, balloons, compression cache and swap over time (MiB).`, spec: { ...COLUMN, ...memory } });
    out.push({ name: `host-pressure-${w}`, caption: `${w} (${r.policy}): the host's free-memory state (worst in each interval), guest stall seconds per second, guest throughput (/ its maximum) and swap-ins (/ 1000) over time.`, spec: { ...COLUMN, ...pressure } });
  }
  const d = doc.density;
  if (d && d.workloads.length > 0) {
    const by = Object.fromEntries(d.workloads.map((x) => [x.workload, Object.fromEntries(Object.entries(x.policies).map(([p, v]) => [p, v.maxGuests]))]));
    const size = `${d.guestMemBytes / 2 ** 20} MiB guests, ${d.hostMemBytes / 2 ** 20} MiB host`;
    out.push({
      name: "density",
      caption: `Guests that fit on an overcommitted host (${size}) with every smaller count under ${d.maxLossPct}% throughput loss against an uncommitted host, per policy; none (no de-duplication) is the floor.`,
      spec: { ...COLUMN, ...densityChart(`Guests per host: ${size}`, by) },
    });
  }
  return out;
}
