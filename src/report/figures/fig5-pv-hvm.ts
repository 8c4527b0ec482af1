/**
 * Figure 5: PV vs. HVM guests. A PV guest's page tables hold machine frame numbers, so every
 * merge (and every CoW break) must also rewrite the guest's page-table entry (a ptUpdate) and
 * flush; an HVM guest's nested/extended tables are the hypervisor's own. Two measurements:
 *   merge cost (src/experiments/figures/merge-cost.ts): the workload's guests booted, scanned
 *     until savings stop growing -> ptUpdates and scanner CPU per merge;
 *   savings and overhead: full simulations of the same workload as HVM and as PV guests.
 */
import { MAX_PASSES, type FigureConfig, type MergeCost } from "../../experiments/index.ts";
import type { Series } from "../chart-spec.ts";
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord, type FigureRun } from "./figure.ts";

const MODES = ["hvm", "pv"] as const;

/** `costs` and `runs`: each policy with HVM and with PV guests (src/experiments/figures/merge-cost.ts, collect.ts). */
export function figure5(ctx: FigureContext, cfg: FigureConfig, costs: readonly MergeCost[], runs: readonly FigureRun[]): FigureRecord {
  const usPerMerge = (c: MergeCost) => (c.merges > 0 ? (c.scannerCpuSec * 1e6) / c.merges : Number.NaN);
  const bars = (value: (mode: "hvm" | "pv", policy: string) => number): Series[] =>
    DEDUP_POLICIES.map((p) => ({ label: p, points: MODES.map((m, x) => ({ x, y: value(m, p) })) }));
  const cost = (m: string, p: string) => costs.find((c) => c.mode === m && c.policy === p)!;
  const run = (m: string, p: string) => runs.find((r) => r.mode === m && r.policy === p)!;
  const categories = ["HVM guests", "PV guests"];
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 5,
    title: "PV vs. HVM guests: merge cost and savings",
    caption:
      "(a) Scanner CPU per merged page (simulated, from the cost model) until the scanner has merged what the booted guests hold: " +
      "with PV guests every merge also rewrites a page-table entry of the guest (a ptUpdate, see the table), so merging costs more. " +
      "(b) Memory saved in steady state by the same workload as HVM and as PV guests: the content is the same, so are the savings.",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 5${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: "fresh simulation runs",
    setup:
      `${cfg.pvWorkload} as ${cfg.matrixGuests} guests x ${mib(cfg.guestMemBytes)}, every family HVM or every family PV. ` +
      `(a) guests booted, no guest activity, scanned at pagesToScan 4096 until savings stop growing (at most ${MAX_PASSES} passes); ` +
      `(b) ${cfg.matrixDurationSec} s simulated at pagesToScan ${cfg.matrixPagesToScan} every ${cfg.sleepMillisecs} ms`,
    deterministic: true,
    panels: [
      {
        file: "fig5a-merge-cost-pv-hvm",
        caption: "Scanner CPU per merged page (µs), HVM vs. PV guests, per policy.",
        spec: { ...COLUMN, kind: "bar", xLabel: cfg.pvWorkload, yLabel: "Scanner CPU per merge (µs)", categories, series: bars((m, p) => usPerMerge(cost(m, p))) },
      },
      {
        file: "fig5b-savings-pv-hvm",
        caption: "Memory saved in steady state (%), HVM vs. PV guests, per policy.",
        spec: { ...COLUMN, kind: "bar", xLabel: cfg.pvWorkload, yLabel: "Memory saved (% of guest memory)", categories, series: bars((m, p) => run(m, p).summary.steadySavingsPct) },
      },
    ],
    table: {
      columns: ["guests", "policy", "merges", "ptUpdates", "ptUpdates per merge", "scanner CPU per merge (µs)", "steady saved %", "scanner CPU % of host", "throughput loss %", "CoW breaks/s"],
      rows: costs.map((c) => {
        const r = run(c.mode, c.policy);
        return [c.mode.toUpperCase(), c.policy, c.merges, c.ptUpdates, c.merges ? round(c.ptUpdates / c.merges, 3) : null, round(usPerMerge(c), 3),
          round(r.summary.steadySavingsPct, 1), round(r.summary.scannerCpuShare * 100, 3), r.summary.throughputLossPct === null ? null : round(r.summary.throughputLossPct, 2), round(r.summary.steadyCowBreaksPerSec, 1)];
      }),
    },
    measured: null,
  };
}
