/**
 * Makes the paper figures' records: runs (or reads) what each selected figure needs, in figure
 * order, sharing simulation runs between figures (RunCache). Figures 2, 4 and 7 read the
 * workload x policy matrix, from fresh runs or from a results document (`from`); figures 1, 3
 * and 5 always run their own sweeps (no results document holds them); figure 6 is measured.
 */
import os from "node:os";
import type { ResultsDocument } from "../results-schema.ts";
import { FULL, QUICK, type FigureConfig } from "./config.ts";
import type { FigureContext, FigureRecord } from "./figure.ts";
import { figure1 } from "./fig1-guests.ts";
import { figure2 } from "./fig2-savings-time.ts";
import { figure3 } from "./fig3-cost-benefit.ts";
import { figure4 } from "./fig4-cow-throughput.ts";
import { figure5 } from "./fig5-pv-hvm.ts";
import { figure6, measureWorkers } from "./fig6-workers.ts";
import { figure7 } from "./fig7-time-to-merge.ts";
import { documentMatrix, freshMatrix } from "./matrix.ts";
import { RunCache } from "./runs.ts";

export const FIGURE_IDS = [1, 2, 3, 4, 5, 6, 7] as const;

export interface GenerateOptions {
  seed: number;
  quick: boolean;
  /** Figures to make (default all). */
  only?: readonly number[];
  from?: { doc: ResultsDocument; file: string };
  /** The invocation, recorded in each figure. */
  command: string;
  progress?: (line: string) => void;
  /** Replaces FULL/QUICK (tests). */
  config?: FigureConfig;
}

export async function generateFigures(o: GenerateOptions): Promise<{ records: FigureRecord[]; simulations: number }> {
  const cfg = o.config ?? (o.quick ? QUICK : FULL);
  const progress = o.progress ?? (() => {});
  const ctx: FigureContext = {
    seed: o.seed,
    command: o.command,
    reproduceFlags: `${o.quick ? " --quick" : ""}${o.from ? ` --from ${o.from.file}` : ""}`,
    progress,
  };
  const cache = new RunCache(progress);
  const matrix = o.from ? documentMatrix(o.from.doc, o.from.file) : freshMatrix(cache, cfg, o.seed);
  const wanted = new Set(o.only ?? FIGURE_IDS);
  // figures 2 and 7: the config's workloads the source has, else its first two
  const present = cfg.timelineWorkloads.filter((w) => matrix.workloads.includes(w));
  const timeline = present.length > 0 ? present : matrix.workloads.slice(0, 2);
  const records: FigureRecord[] = [];
  for (const id of FIGURE_IDS) {
    if (!wanted.has(id)) continue;
    switch (id) {
      case 1: records.push(await figure1(ctx, cfg, cache)); break;
      case 2: records.push(await figure2(ctx, matrix, timeline)); break;
      case 3: records.push(await figure3(ctx, cfg, cache)); break;
      case 4: records.push(await figure4(ctx, matrix)); break;
      case 5: records.push(await figure5(ctx, cfg, cache)); break;
      case 6: records.push(figure6(ctx, cfg, await measureWorkers(cfg, progress), os.cpus()[0]?.model ?? "unknown CPU", os.cpus().length)); break;
      case 7: records.push(await figure7(ctx, matrix, timeline)); break;
    }
  }
  return { records, simulations: cache.count };
}
