/**
 * Figure 7: distribution of time-to-merge per policy, as a CDF: from the guest write that makes a
 * page a further copy of an existing content to the moment that page is merged. Drawn from each
 * run's histogram (bucket bounds 20 ms ... 500 s), one panel per workload of the config.
 */
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, round, type FigureContext, type FigurePanel, type FigureRecord, type FigureRun } from "./figure.ts";
import type { MatrixView } from "../../experiments/index.ts";

const letter = (i: number) => String.fromCharCode(97 + i);

/** (bucket upper bound in s, % of merges at or below it) up to the first bucket that holds them all. */
export function cdfPoints(r: FigureRun): { x: number; y: number }[] {
  const { bucketUpperMs, counts } = r.summary.timeToMerge;
  const total = counts.reduce((a, b) => a + b, 0);
  const pts: { x: number; y: number }[] = [];
  if (total === 0) return pts;
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!;
    const bound = bucketUpperMs[i];
    if (bound === null || bound === undefined) break; // the open last bucket has no bound to draw
    pts.push({ x: bound / 1000, y: round((100 * acc) / total, 3) });
    if (acc === total) break;
  }
  return pts;
}

export function figure7(ctx: FigureContext, matrix: MatrixView, workloads: readonly string[]): FigureRecord {
  const panels: FigurePanel[] = [];
  const rows: (string | number | null)[][] = [];
  const shown = workloads.filter((w) => matrix.workloads.includes(w));
  for (const [i, workload] of shown.entries()) {
    const runs = DEDUP_POLICIES.map((p) => matrix.get(workload, p)).filter((r): r is FigureRun => r !== null);
    const series = runs.map((r) => ({ label: r.policy, points: cdfPoints(r) })).filter((s) => s.points.length > 0);
    if (series.length === 0) continue;
    panels.push({
      file: `fig7${letter(i)}-time-to-merge-${workload}`,
      caption: `CDF of time-to-merge, ${workload}, per policy.`,
      spec: { ...COLUMN, kind: "line", title: workload, xLabel: "Time from duplicate to merge (s, log scale)", yLabel: "Duplicates merged (%)", xLog: true, yMin: 0, yMax: 100, series },
    });
    for (const r of runs) {
      const t = r.summary.timeToMerge;
      const s = (ms: number | null) => (ms === null ? null : round(ms / 1000, 2));
      rows.push([workload, r.policy, t.merged, t.pendingAtEnd, s(t.p50Ms), s(t.p90Ms), s(t.p99Ms)]);
    }
  }
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 7,
    title: "Time-to-merge distributions per policy",
    caption:
      "Cumulative distribution of the time from the write that creates a duplicate to its merge, per policy. " +
      "Points are the histogram's bucket bounds (20 ms to 500 s, roughly 1-2-5 steps), so the curve is exact at each point and interpolated between them. " +
      "Duplicates rewritten before being merged, and those still pending at the end, are not in the distribution (see the table).",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 7${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: matrix.source,
    setup: shown.length ? matrix.setup : "no runs",
    deterministic: true,
    panels,
    table: { columns: ["workload", "policy", "merged", "pending at end", "p50 (s)", "p90 (s)", "p99 (s)"], rows },
    measured: null,
  };
}
