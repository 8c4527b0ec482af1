/**
 * Figure 3: the cost/benefit curve of scanning. The scan rate (pagesToScan pages every
 * sleepMillisecs) is swept on a churning workload; each run gives one point: the scanner's CPU
 * share of the host (cost, log scale) against the steady-state memory saved (benefit). The
 * oracle's steady level is the dashed ceiling no rate can pass.
 */
import type { Series } from "../chart-spec.ts";
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord, type FigureRun } from "./figure.ts";
import type { FigureConfig } from "../../experiments/index.ts";

/** `runs`: each policy at each pagesToScan of the sweep (src/experiments/figures/collect.ts). */
export function figure3(ctx: FigureContext, cfg: FigureConfig, runs: readonly FigureRun[]): FigureRecord {
  const cpu = (r: FigureRun) => r.summary.scannerCpuShare * 100;
  const xs = runs.map(cpu).filter((x) => x > 0);
  const oracle = Math.max(...runs.map((r) => r.summary.oracleSavablePct));
  const series: Series[] = DEDUP_POLICIES.map((p) => ({ label: p, points: runs.filter((r) => r.policy === p && cpu(r) > 0).map((r) => ({ x: cpu(r), y: r.summary.steadySavingsPct })) }));
  if (xs.length > 0) series.push({ label: "oracle", points: [{ x: Math.min(...xs), y: oracle }, { x: Math.max(...xs), y: oracle }] });
  const rate = (r: FigureRun) => Math.round(((r.pagesToScan ?? 0) * 1000) / (r.sleepMillisecs || 1));
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 3,
    title: "Memory saved vs. scanner CPU as the scan rate varies",
    caption:
      `Each point is one run of ${cfg.sweepWorkload} at one scan rate (pagesToScan ${cfg.sweepPagesToScan.join(", ")} pages every ${cfg.sleepMillisecs} ms, left to right): ` +
      "the scanner's share of the host's CPU over the run against the memory it saves in steady state. " +
      "Saving more takes disproportionately more CPU: the compiler heaps' duplicates live seconds, and only a fast scanner finds them before they change. " +
      "The dashed line is the oracle (every duplicate present merged).",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 3${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: "fresh simulation runs",
    setup: `${cfg.sweepWorkload}, ${cfg.sweepGuests} HVM guests x ${mib(cfg.guestMemBytes)}, ${cfg.sweepDurationSec} s simulated, sleepMillisecs ${cfg.sleepMillisecs}, pagesToScan ${cfg.sweepPagesToScan.join(", ")}; scanner at nice 5 on 2 simulated CPUs`,
    deterministic: true,
    panels: [{
      file: "fig3-savings-vs-scanner-cpu",
      caption: `Memory saved vs. scanner CPU share, ${cfg.sweepWorkload}, scan rate swept.`,
      spec: {
        ...COLUMN, kind: "line", xLabel: "Scanner CPU (% of host, log scale)", yLabel: "Memory saved (% of guest memory)", xLog: true, yMin: 0, series,
        // whole decades, so the log axis is labelled at powers of ten only
        ...(xs.length > 0 ? { xMin: 10 ** Math.floor(Math.log10(Math.min(...xs))), xMax: 10 ** Math.ceil(Math.log10(Math.max(...xs))) } : {}),
      },
    }],
    table: {
      columns: ["policy", "pagesToScan", "pages/s", "scanner CPU % of host", "steady saved %", "oracle %", "full passes", "CoW breaks/s"],
      rows: runs.map((r) => [r.policy, r.pagesToScan, rate(r), round(cpu(r), 3), round(r.summary.steadySavingsPct, 1), round(r.summary.oracleSavablePct, 1), r.summary.fullScans, round(r.summary.steadyCowBreaksPerSec, 1)]),
    },
    measured: null,
  };
}
