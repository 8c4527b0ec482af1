/**
 * Figure 6 (measured, wall-clock): scanner throughput against hashing worker threads.
 *
 * Image: a hypervisor with 4 guests holding `pages` pages in all; even pages hold one of 2,048
 * contents (duplicates), odd pages are unique; every page is a full page of xorshift data (as
 * src/dedup/pool/pool.bench.ts builds "the mix", smaller). For each round, policy and worker
 * count (the order of worker counts rotates every round, so drift and warm-up fall on each in
 * turn), on a freshly built image:
 *   1. the scanner merges the image (two full passes, worker start-up included, not timed);
 *   2. every page is rewritten with its own bytes (each page changed: each must be hashed again);
 *   3. one full pass is timed: pages scanned / wall seconds.
 * The figure shows the median over rounds; the table also gives min and max. These numbers
 * depend on the machine and its load, unlike every other figure.
 */
import { buildMixImage } from "../../dedup/mix-image.ts";
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../../dedup/create-scanner.ts";
import type { FigureConfig } from "./config.ts";
import { COLUMN, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord } from "./figure.ts";

const GUESTS = 4;
const CONTENTS = 2048;

export interface WorkerSample {
  policy: string;
  workers: number;
  round: number;
  pagesPerSec: number;
}

function buildImage(pages: number): { hv: Hypervisor; guests: Guest[] } {
  const hv = new Hypervisor({ frames: 2 * pages + 64 });
  const guests = buildMixImage(hv, { pages, guests: GUESTS, contents: CONTENTS, name: "w" });
  return { hv, guests };
}

async function rescanPagesPerSec(pages: number, policy: string, workers: number): Promise<number> {
  const { hv, guests } = buildImage(pages);
  const s = createScanner(hv, { policy: policy as "vmdedup", workers, pagesToScan: 4096, sleepMillisecs: 0 });
  await s.fullScans(2);
  for (const g of guests) for (let gfn = 0; gfn < g.pages; gfn++) g.write(gfn, 0, g.read(gfn, 0, 1));
  const before = s.stats().pagesScanned;
  const t0 = Bun.nanoseconds();
  await s.fullScans(1);
  const ns = Bun.nanoseconds() - t0;
  const scanned = s.stats().pagesScanned - before;
  await s.close();
  return scanned / (ns / 1e9);
}

export async function measureWorkers(cfg: FigureConfig, progress: (line: string) => void): Promise<WorkerSample[]> {
  const samples: WorkerSample[] = [];
  const counts = cfg.workerCounts;
  for (let round = 0; round < cfg.workerRounds; round++) {
    const order = counts.map((_, i) => counts[(i + round) % counts.length]!);
    for (const policy of DEDUP_POLICIES) {
      for (const workers of order) {
        progress(`scanner throughput: round ${round + 1}/${cfg.workerRounds}, ${policy}, ${workers} workers`);
        samples.push({ policy, workers, round, pagesPerSec: await rescanPagesPerSec(cfg.workerPages, policy, workers) });
        Bun.gc(true);
      }
    }
  }
  return samples;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function figure6(ctx: FigureContext, cfg: FigureConfig, samples: WorkerSample[], cpu: string, cores: number): FigureRecord {
  const counts = [...new Set(samples.map((s) => s.workers))].sort((a, b) => a - b);
  const of = (p: string, w: number) => samples.filter((s) => s.policy === p && s.workers === w).map((s) => s.pagesPerSec);
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
      "Wall-clock pages per second of one full scan pass after every page changed (so every page is hashed again), with 0 (hashing on the scanner's thread), 1 and 2 hashing worker threads; median of the rounds. " +
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
        series: DEDUP_POLICIES.map((p) => ({ label: p, points: counts.map((w, x) => ({ x, y: of(p, w).length ? round(median(of(p, w)) / 1e6, 4) : Number.NaN })) })),
      },
    }],
    table: null,
    measured: { columns: ["policy", "workers", "median M pages/s", "min", "max", "rounds", "vs. 0 workers"], rows },
  };
}
