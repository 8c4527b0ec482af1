/**
 * Figure 4: what de-duplication costs the guests, per workload: (a) copy-on-write breaks per
 * simulated second in steady state (guests writing to merged pages), (b) guest throughput lost
 * against the same run without de-duplication (CoW breaks plus the scanner's CPU).
 */
import type { Series } from "../chart-spec.ts";
import { WIDE, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, round, type FigureContext, type FigureRecord, type FigureRun } from "./figure.ts";
import type { MatrixView } from "../../experiments/index.ts";

export function figure4(ctx: FigureContext, matrix: MatrixView): FigureRecord {
  const workloads = matrix.workloads;
  const runs = new Map<string, FigureRun>();
  for (const w of workloads) {
    for (const p of [...DEDUP_POLICIES, "none" as const]) {
      const r = matrix.get(w, p);
      if (r) runs.set(`${w}/${p}`, r);
    }
  }
  const bars = (value: (r: FigureRun) => number | null): Series[] =>
    DEDUP_POLICIES.map((p) => ({
      label: p,
      points: workloads.map((w, x) => {
        const r = runs.get(`${w}/${p}`);
        const v = r ? value(r) : null;
        return { x, y: v === null ? Number.NaN : v };
      }),
    })).filter((s) => s.points.some((pt) => Number.isFinite(pt.y)));
  const rows: (string | number | null)[][] = [];
  for (const w of workloads) {
    const base = runs.get(`${w}/none`);
    for (const p of DEDUP_POLICIES) {
      const r = runs.get(`${w}/${p}`);
      if (!r) continue;
      rows.push([w, p, round(r.summary.steadyCowBreaksPerSec, 1), r.summary.cowBreaks, round(r.summary.steadyGuestOpsPerSec, 0), base ? round(base.summary.steadyGuestOpsPerSec, 0) : null,
        r.summary.throughputLossPct === null ? null : round(r.summary.throughputLossPct, 2), round(r.summary.scannerCpuShare * 100, 3)]);
    }
  }
  const any = runs.values().next().value;
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 4,
    title: "CoW breaks and guest throughput loss per workload",
    caption:
      "(a) Copy-on-write breaks per second in steady state: a guest writing to a merged page traps and gets a private copy. " +
      "(b) Guest throughput (operations per simulated second) lost against the same run without de-duplication: CoW traps, copies and the scanner's CPU; " +
      "it is lost only where the guests keep the host's CPUs busy (no bar: no loss). " +
      "Workloads that rewrite shared content (kernel-build's short-lived compiler heaps, database's dirtied buffer pool) break the most.",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 4${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: matrix.source,
    setup: any ? matrix.setup : "no runs",
    deterministic: true,
    panels: [
      {
        file: "fig4a-cow-breaks",
        caption: "CoW breaks per simulated second in steady state, per workload and policy.",
        spec: { ...WIDE, kind: "bar", xLabel: "Workload", yLabel: "CoW breaks per second", categories: workloads, series: bars((r) => r.summary.steadyCowBreaksPerSec) },
      },
      {
        file: "fig4b-throughput-loss",
        caption: "Guest throughput lost vs. no de-duplication (%), per workload and policy.",
        spec: { ...WIDE, kind: "bar", xLabel: "Workload", yLabel: "Guest throughput loss (%)", categories: workloads, series: bars((r) => r.summary.throughputLossPct) },
      },
    ],
    table: {
      columns: ["workload", "policy", "CoW breaks/s (steady)", "CoW breaks (total)", "guest ops/s", "guest ops/s without dedup", "throughput loss %", "scanner CPU % of host"],
      rows,
    },
    measured: null,
  };
}
