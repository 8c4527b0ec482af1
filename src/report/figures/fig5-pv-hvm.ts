/**
 * Figure 5: PV vs. HVM guests. A PV guest's page tables hold machine frame numbers, so every
 * merge (and every CoW break) must also rewrite the guest's page-table entry (a ptUpdate) and
 * flush; an HVM guest's nested/extended tables are the hypervisor's own. Two measurements:
 *   merge cost: the workload's guests booted (no guest activity), one scanner run until its
 *     savings stop growing, counting merges, ptUpdates (hv.stats) and the scanner's CPU from the
 *     cost model (calibration file) -> ptUpdates and scanner CPU per merge;
 *   savings and overhead: full simulations of the same workload as HVM and as PV guests.
 */
import { createScanner } from "../../dedup/create-scanner.ts";
import { CostModel, loadCalibration } from "../../sim/cost-model.ts";
import { resolveSpec } from "../../sim/spec.ts";
import { WorkloadRunner } from "../../sim/workload-runner.ts";
import type { Series } from "../chart-spec.ts";
import type { FigureConfig } from "./config.ts";
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord, type FigureRun } from "./figure.ts";
import { workloadInMode, type RunCache } from "./runs.ts";

const MODES = ["hvm", "pv"] as const;
const MAX_PASSES = 10;

export interface MergeCost {
  mode: "hvm" | "pv";
  policy: string;
  passes: number;
  merges: number;
  ptUpdates: number;
  /** Simulated scanner CPU of the passes (cost model), seconds. */
  scannerCpuSec: number;
}

/** Boots `workload`'s guests in `mode` and scans until pagesSharing + zero pages stop growing. Deterministic. */
export async function measureMergeCost(workload: string, mode: "hvm" | "pv", policy: string, guests: number, guestMemBytes: number, seed: number): Promise<MergeCost> {
  const w = resolveSpec(workloadInMode(workload, mode), { guests, guestMem: guestMemBytes });
  const runner = new WorkloadRunner(w, seed);
  runner.startDue(Number.MAX_SAFE_INTEGER);
  const hv = runner.hv;
  const scanner = createScanner(hv, { policy: policy as "vmdedup", pagesToScan: 4096, sleepMillisecs: 0, seed });
  const cost = new CostModel(loadCalibration());
  const work0 = scanner.work();
  const pt0 = hv.stats().ptUpdates;
  let passes = 0;
  let last = -1;
  let stable = 0;
  while (stable < 2 && passes < MAX_PASSES) {
    await scanner.fullScans(1);
    passes++;
    const st = scanner.stats();
    const saved = st.pagesSharing + st.zeroPages;
    stable = saved === last ? stable + 1 : 0;
    last = saved;
  }
  const work = scanner.work();
  const ptUpdates = hv.stats().ptUpdates - pt0;
  const scannerCpuSec = cost.scannerBatch(scanner.stats().pagesScanned, work, work0, ptUpdates);
  hv.audit();
  await scanner.close();
  return { mode, policy, passes, merges: work.merges - work0.merges, ptUpdates, scannerCpuSec };
}

export async function figure5(ctx: FigureContext, cfg: FigureConfig, cache: RunCache): Promise<FigureRecord> {
  const costs: MergeCost[] = [];
  const runs: FigureRun[] = [];
  for (const mode of MODES) {
    for (const policy of DEDUP_POLICIES) {
      ctx.progress(`merge cost: ${cfg.pvWorkload} ${mode.toUpperCase()} / ${policy}`);
      costs.push(await measureMergeCost(cfg.pvWorkload, mode, policy, cfg.matrixGuests, cfg.guestMemBytes, ctx.seed));
      Bun.gc(true);
      runs.push(await cache.run({
        workload: cfg.pvWorkload, policy, mode, guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.matrixDurationSec,
        pagesToScan: cfg.matrixPagesToScan, sleepMillisecs: cfg.sleepMillisecs, oracleEverySec: cfg.oracleEverySec, seed: ctx.seed,
      }));
    }
  }
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
