/**
 * Figure 2: memory saved over simulated time from the first guest's boot, one line per policy,
 * with the oracle (every duplicate present merged) dashed: how fast each policy finds what there
 * is to find. One panel per workload of the config (steady web server, churning kernel build).
 * The oracle comes from the run without de-duplication (policy none), whose guests run unhindered.
 */
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, round, type FigureContext, type FigurePanel, type FigureRecord, type FigureRun } from "./figure.ts";
import type { Series } from "../chart-spec.ts";
import type { MatrixView } from "../../experiments/index.ts";

const letter = (i: number) => String.fromCharCode(97 + i);

/** The first sample (t, value) at which `values` reaches `fraction` of `target`, or null. */
export function timeToReach(t: number[], values: number[], target: number, fraction: number): number | null {
  if (target <= 0) return null;
  const i = values.findIndex((v) => v >= fraction * target);
  return i < 0 ? null : t[i]!;
}

export function figure2(ctx: FigureContext, matrix: MatrixView, workloads: readonly string[]): FigureRecord {
  const panels: FigurePanel[] = [];
  const rows: (string | number | null)[][] = [];
  const shown = workloads.filter((w) => matrix.workloads.includes(w));
  for (const [i, workload] of shown.entries()) {
    const runs = DEDUP_POLICIES.map((p) => matrix.get(workload, p)).filter((r): r is FigureRun => r !== null);
    const none = matrix.get(workload, "none");
    const oracleRun = none ?? runs[0];
    if (!oracleRun) continue;
    const series: Series[] = runs.map((r) => ({ label: r.policy, points: r.series.tSec.map((t, k) => ({ x: t, y: r.series.savingsPct[k]! })) }));
    series.push({ label: "oracle", points: oracleRun.oracle.tSec.map((t, k) => ({ x: t, y: oracleRun.oracle.savablePct[k]! })) });
    const final = oracleRun.summary.oracleSavablePct;
    panels.push({
      file: `fig2${letter(i)}-savings-over-time-${workload}`,
      caption: `Memory saved over time, ${workload}: one line per policy, the oracle dashed.`,
      spec: {
        ...COLUMN,
        kind: "line",
        title: workload,
        xLabel: "Time since first guest booted (s)",
        yLabel: "Memory saved (% of guest memory)",
        xMin: 0,
        yMin: 0,
        series,
      },
    });
    for (const r of runs) {
      rows.push([
        workload, r.policy,
        timeToReach(r.series.tSec, r.series.savingsPct, final, 0.5), timeToReach(r.series.tSec, r.series.savingsPct, final, 0.9),
        round(r.summary.steadySavingsPct, 1), round(r.summary.oracleSavablePct, 1), r.summary.efficiency === null ? null : round(r.summary.efficiency, 3), r.summary.fullScans,
      ]);
    }
  }
  const first = matrix.get(shown[0] ?? "", "none");
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 2,
    title: "Memory saved over time after the guests boot",
    caption:
      "Memory saved (% of all guest memory, zero pages included) from the moment the first guest boots; guests boot 1 s apart. " +
      "Each policy's line rises as its scanner passes over guest memory; the dashed oracle is what merging every duplicate present would save. " +
      "KSM merges a page only on its second visit (the unstable tree must see it unchanged first), so it lags one full pass behind.",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 2${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: matrix.source,
    setup: first ? matrix.setup : "no runs",
    deterministic: true,
    panels,
    table: {
      columns: ["workload", "policy", "50% of oracle at (s)", "90% of oracle at (s)", "steady saved %", "oracle %", "efficiency", "full passes"],
      rows,
    },
    measured: null,
  };
}
