/**
 * Figure 6 (measured, wall-clock): scanner throughput against hashing worker threads, from the
 * samples of src/experiments/figures/worker-throughput.ts (median over rounds; the table also
 * gives min and max). These numbers depend on the machine and its load, unlike every other figure.
 */
import { median, WORKER_IMAGE_CONTENTS as CONTENTS, WORKER_IMAGE_GUESTS as GUESTS, type FigureConfig, type WorkerSample } from "../../experiments/index.ts";
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord } from "./figure.ts";

export function figure6(ctx: FigureContext, cfg: FigureConfig, samples: readonly WorkerSample[], cpu: string, cores: number): FigureRecord {
  const counts = [...new Set(samples.map((s) => s.workers))].sort((a, b) => a - b);
  const of = (p: string, w: number) => samples.filter((s) => s.policy === p && s.workers === w).map((s) => s.pagesPerSec);
  const one = median(of("vmdedup", 0).length ? of("vmdedup", 0) : [Number.NaN]);
  // threads: the scanner's thread alone with 0 workers, else the workers and the scanner's thread
  const idealOf = (w: number): number => round((one * Math.min(w === 0 ? 1 : w + 1, cores)) / 1e6, 4);
  const rows: (string | number | null)[][] = [];
  for (const p of DEDUP_POLICIES) {
    const base = median(of(p, 0));
    for (const w of counts) {
      const v = of(p, w);
      if (v.length === 0) continue;
      rows.push([p, w, round(median(v) / 1e6, 3), round(Math.min(...v) / 1e6, 3), round(Math.max(...v) / 1e6, 3), v.length, base > 0 ? round(median(v) / base, 2) : null]);
    }
  }
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 6,
    title: "Scanner throughput vs. hashing worker threads (measured)",
    caption:
      "Wall-clock pages per second of one full scan pass after every page changed (so every page is hashed again), with 0 (hashing on the scanner's thread), 1 and 2 hashing worker threads; median of the rounds; " +
      "the last series is the ideal scaling curve (vmdedup's one-thread rate times min(threads, cores), threads = workers + the scanner's thread). " +
      `Measured on this machine (${cpu}, ${cores} cores): machine-dependent and not reproducible byte for byte, unlike the other figures.`,
    command: ctx.command,
    reproduce: `bun run figures --only 6${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: "wall-clock measurement of the real scanner code (not the simulated clock)",
    setup: `synthetic image of ${cfg.workerPages} pages (${mib(cfg.workerPages * 4096)}) in ${GUESTS} guests, half copies of ${CONTENTS} contents, half unique; pagesToScan 4096; ${cfg.workerRounds} rounds, worker order rotating per round`,
    deterministic: false,
    panels: [{
      file: "fig6-scanner-throughput-vs-workers",
      caption: "Scanner pages/s (wall-clock) vs. hashing worker threads, per policy; machine-dependent.",
      spec: {
        ...COLUMN,
        kind: "bar",
        xLabel: "Hashing worker threads",
        yLabel: "Pages scanned (millions/s)",
        categories: counts.map(String),
        series: [
          ...DEDUP_POLICIES.map((p) => ({ label: p, points: counts.map((w, x) => ({ x, y: of(p, w).length ? round(median(of(p, w)) / 1e6, 4) : Number.NaN })) })),
          // the ideal line: vmdedup with 0 workers (one thread) times min(threads, cores)
          { label: `ideal (vmdedup 1 thread x min(threads, ${cores}))`, points: counts.map((w, x) => ({ x, y: idealOf(w) })) },
        ],
      },
    }],
    table: null,
    measured: { columns: ["policy", "workers", "median M pages/s", "min", "max", "rounds", "vs. 0 workers"], rows },
  };
}
