/**
 * Makes the paper figures' records: the experiments layer collects what each selected figure
 * needs (src/experiments/figures/collect.ts: runs shared between figures, the matrix fresh or
 * from a results document), then each figure's builder here turns that data into its record,
 * in figure order. Figure 6 is measured; every other figure is deterministic for a seed.
 * Figure 9 (security) is the paper's side-channel figure; figure 8 is density.
 */
import {
  assembleFigureData, collectFigureData, figureJobs, outputsOf, FULL, QUICK,
  type CollectOptions, type FigureConfig, type FigureMitigation, type FigureData, type FigureDataDocument, type JobPool, type WorkloadCatalog,
} from "../../experiments/index.ts";
import type { ResultsDocument } from "../results-schema.ts";
import type { WorkloadSpec } from "../../sim/index.ts";
import type { FigureContext, FigureRecord } from "./figure.ts";
import { figure1 } from "./fig1-guests.ts";
import { figure2 } from "./fig2-savings-time.ts";
import { figure3 } from "./fig3-cost-benefit.ts";
import { figure4 } from "./fig4-cow-throughput.ts";
import { figure5 } from "./fig5-pv-hvm.ts";
import { figure6 } from "./fig6-workers.ts";
import { figure7 } from "./fig7-time-to-merge.ts";
import { figure8 } from "./fig8-density.ts";
import { figure9 } from "./fig9-security.ts";

export const FIGURE_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

export interface GenerateOptions {
  seed: number;
  quick: boolean;
  /** The workloads the figures run (the canned ones, passed in by scripts/figures.ts). */
  catalog: WorkloadCatalog;
  /** Shipped trace replays for figure 8's trace rows (scripts/figures.ts hands them in; absent: none). */
  traces?: readonly WorkloadSpec[];
  /** Figures to make (default all). */
  only?: readonly number[];
  from?: { doc: ResultsDocument; file: string };
  /** The invocation, recorded in each figure. */
  command: string;
  progress?: (line: string) => void;
  /** Replaces FULL/QUICK (tests). */
  config?: FigureConfig;
  /** The mitigation of the fresh simulation runs of figures 1-5 and 7 (`--mitigation`; absent = off). Figure 9 runs every mitigation. */
  mitigation?: FigureMitigation;
  /** Where the simulations run (--jobs; default one at a time in this thread). */
  pool?: JobPool;
  /** Take every job's result from a merged figure-data document (`--data`) instead of running them. */
  data?: { doc: FigureDataDocument; file: string };
}

/** " --mitigation M [--salt-groups G]" of the command line (empty for off). */
export function mitigationFlags(m: FigureMitigation | undefined): string {
  if (!m?.mitigation) return "";
  const g = m.saltGroups;
  return ` --mitigation ${m.mitigation}${g === undefined ? "" : ` --salt-groups ${Array.isArray(g) ? g.join(",") : g}`}`;
}

/** The figures' data from a merged figure-data document: its jobs checked against this version's list, nothing run. */
async function dataFromDocument(co: CollectOptions, data: NonNullable<GenerateOptions["data"]>): Promise<FigureData> {
  const outputs = outputsOf(data.doc, figureJobs(co), data.file);
  if (co.only.has(6) && !data.doc.fig6) throw new Error(`${data.file}: holds no figure 6 measurement (shard 1 makes it)`);
  if (co.only.has(9) && !data.doc.fig9) throw new Error(`${data.file}: holds no figure 9 security matrix (shard 1 makes it)`);
  return assembleFigureData(co, outputs, data.doc.fig6 ?? undefined, data.doc.fig9 ?? undefined);
}

export async function generateFigures(o: GenerateOptions): Promise<{ records: FigureRecord[]; simulations: number }> {
  const cfg = o.config ?? (o.quick ? QUICK : FULL);
  const progress = o.progress ?? (() => {});
  const ctx: FigureContext = {
    seed: o.seed,
    command: o.command,
    reproduceFlags: `${o.quick ? " --quick" : ""}${o.from ? ` --from ${o.from.file}` : ""}${mitigationFlags(o.mitigation)}`,
    progress,
  };
  const only = new Set<number>(o.only ?? FIGURE_IDS);
  const co: CollectOptions = { cfg, catalog: o.catalog, seed: o.seed, only, from: o.from, progress, ...(o.mitigation ? { mitigation: o.mitigation } : {}), ...(o.traces ? { traces: o.traces } : {}) };
  const { data, simulations } = o.data ? { data: await dataFromDocument(co, o.data), simulations: 0 } : await collectFigureData({ ...co, pool: o.pool });
  const build: Record<(typeof FIGURE_IDS)[number], () => FigureRecord> = {
    1: () => figure1(ctx, cfg, data.fig1!),
    2: () => figure2(ctx, data.matrix!, data.timeline),
    3: () => figure3(ctx, cfg, data.fig3!),
    4: () => figure4(ctx, data.matrix!),
    5: () => figure5(ctx, cfg, data.fig5!.costs, data.fig5!.runs),
    6: () => figure6(ctx, cfg, data.fig6!.samples, data.fig6!.cpu, data.fig6!.cores),
    7: () => figure7(ctx, data.matrix!, data.timeline),
    8: () => figure8(ctx, data.fig8!),
    9: () => figure9(ctx, data.fig9!.section, data.fig9!.source),
  };
  return { records: FIGURE_IDS.filter((id) => only.has(id)).map((id) => build[id]()), simulations };
}
