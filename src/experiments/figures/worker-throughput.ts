/**
 * Figure 6's measurement (wall-clock): scanner throughput against hashing worker threads.
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
import { createScanner, type Policy } from "../../dedup/index.ts";
import { DEDUP_POLICIES } from "../run.ts";
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import type { FigureConfig } from "./config.ts";

export const GUESTS = 4;
export const CONTENTS = 2048;

export interface WorkerSample {
  policy: Policy;
  workers: number;
  round: number;
  pagesPerSec: number;
}

function buildImage(pages: number): { hv: Hypervisor; guests: Guest[] } {
  const hv = new Hypervisor({ frames: 2 * pages + 64 });
  const guests = buildMixImage(hv, { pages, guests: GUESTS, contents: CONTENTS, name: "w" });
  return { hv, guests };
}

async function rescanPagesPerSec(pages: number, policy: Policy, workers: number): Promise<number> {
  const { hv, guests } = buildImage(pages);
  const s = createScanner(hv, { policy, workers, pagesToScan: 4096, sleepMillisecs: 0 });
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

