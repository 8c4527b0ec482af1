/**
 * The measurements of the worker-pool benchmark (pool.bench.ts drives them interleaved and writes
 * the JSON). Each returns wall-clock figures of one run on a freshly built "mix" image (pages in 4
 * guests; even pages one of 2,048 contents, odd pages unique; every page full of xorshift data):
 *   rawRehash     the pool alone: hashFrame over every populated page in slot order (no policy);
 *   mergeAndDirty vmdedup from a fresh scanner (its pool and partition workers started first,
 *                 start-up excluded) until
 *                 its savings reach the oracle's ("merged": wall time from the first batch to the
 *                 batch after which pagesSharing + zeroPages = maxSharing().savablePages), the rest
 *                 of that pass, then one steady pass after 1% of the pages were rewritten;
 *   smallBatches  the simulator's hand-off: two scanners over two copies of the image, one hashing
 *                 inline (workers 0) and one with the pool, alternating batches of 2,000 pages with
 *                 a 20 ms sleep after each pair (so idle workers go to sleep, as between ksmd
 *                 wake-ups); returns the paired per-batch wall-time ratios pool / inline.
 */
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../create-scanner.ts";
import { buildMixImage } from "../mix-image.ts";
import { maxSharing } from "../oracle.ts";
import type { HashAheadFilter, VisitOrder } from "../visit-order.ts";
import { WorkerPool, partitionEngineOf, poolOf } from "./index.ts";

export const GUESTS = 4;
export const CONTENTS = 2048;

export function buildImage(pages: number, extraFrames: number): { hv: Hypervisor; guests: Guest[] } {
  const hv = new Hypervisor({ frames: pages + extraFrames + 16 });
  const guests = buildMixImage(hv, { pages, guests: GUESTS, contents: CONTENTS, name: "g" });
  return { hv, guests };
}

/** An ascending order over every populated slot (the pool alone, no policy). */
function everySlotOrder(hv: Hypervisor): VisitOrder {
  const sf = hv.pageTable.slotFrame;
  const total = hv.pageTable.slotCount;
  return {
    ascending: true,
    inPass: true,
    begin() {},
    next: () => -1,
    abandon() {},
    peek(after, slots, frames, max, maxPositions, out) {
      let n = 0;
      let s = after < 0 ? 0 : after + 1;
      const end = Math.min(total, s + maxPositions);
      for (; s < end && n < max; s++) {
        if (sf[s]! < 0) continue;
        slots[n] = s;
        frames[n++] = sf[s]!;
      }
      if (out) {
        out.passEnd = s >= total;
        out.lastPosition = s - 1;
      }
      return n;
    },
  };
}

export interface RawResult {
  pagesPerSec: number;
  dispatchUs: number;
  chunkUs: number;
}

/** The pool alone over every populated slot; workers 0 = xxHash3 inline on this thread. */
export async function rawRehash(hv: Hypervisor, workers: number, chunk: number): Promise<RawResult> {
  const sf = hv.pageTable.slotFrame;
  const total = hv.pageTable.slotCount;
  const everyPage: HashAheadFilter = { wouldHash: () => true };
  const pool = new WorkerPool(hv.memory, everySlotOrder(hv), everyPage, { workers: Math.max(workers, 1), chunk });
  if (workers > 0) await pool.started(); // start-up not timed: a scanner's pool is long-lived
  const t0 = Bun.nanoseconds();
  let x = 0;
  if (workers === 0) {
    for (let s = 0; s < total; s++) x ^= Number(Bun.hash.xxHash3(hv.memory.view(sf[s]!)) & 0xffn);
  } else {
    for (let s = 0; s < total; s++) {
      pool.hashFrame(s, sf[s]!);
      x ^= pool.lo;
    }
  }
  const ns = Bun.nanoseconds() - t0;
  const c = pool.counters;
  await pool.close();
  if (x === 0.5) console.log(x);
  const pps = total / (ns / 1e9);
  return { pagesPerSec: pps, dispatchUs: c.chunks ? c.dispatchNs / c.chunks / 1e3 : 0, chunkUs: (chunk / pps) * 1e6 };
}

export interface MergeResult {
  /** Wall ms from the first batch until savings reached the oracle's (start-up excluded). */
  mergedMs: number;
  /** Wall ms of the whole first pass. */
  firstPassMs: number;
  /** Wall ms of one full pass after 1% of the pages were rewritten. */
  dirtyPassMs: number;
  pages: number;
  savable: number;
  /** Hash-ahead pool hits / (hits + misses) over the run (0 for workers 0). */
  hitRate: number;
  /** Batches decided in partitions, batches the engine's chooser gave to the scanner's thread,
   * and batches the partition engine declined (run on one thread). */
  partitionedBatches: number;
  serialChosenBatches: number;
  declinedBatches: number;
  /** Process CPU ms (every thread: the scanner's, the workers', the runtime's) of the first pass
   * and of the 1%-dirty pass. */
  firstPassCpuMs: number;
  dirtyPassCpuMs: number;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Rewrites every 100th page (same bytes at offset 8, a new write generation): the 1%-dirty pass. */
export function dirtyOnePercent(guests: Guest[], pages: number): void {
  const per = pages / GUESTS;
  let k = 0;
  for (let i = 0; i < pages; i += 100, k++) guests[i % GUESTS]!.write(Math.floor(i / GUESTS) % per, 8, new Uint8Array([k & 0xff, 1]));
}

/** The partition engine's choice per batch: "adaptive" (the default, by measured wall time) or "always" partitions. */
export type EngineMode = "adaptive" | "always";

export async function mergeAndDirty(pages: number, workers: number, pagesToScan: number, mode: EngineMode = "adaptive"): Promise<MergeResult> {
  const { hv, guests } = buildImage(pages, 0);
  const savable = maxSharing(hv).savablePages;
  const s = createScanner(hv, { policy: "vmdedup", workers, pagesToScan, sleepMillisecs: 0 });
  await poolOf(s)?.started();
  const eng = partitionEngineOf(s);
  if (eng && mode === "always") eng.adaptive = false;
  await eng?.started();
  const c0 = cpuMs();
  const t0 = Bun.nanoseconds();
  let mergedNs = -1;
  while (s.stats().fullScans === 0) {
    await s.scan(pagesToScan);
    if (mergedNs < 0) {
      const st = s.stats();
      if (st.pagesSharing + st.zeroPages >= savable) mergedNs = Bun.nanoseconds() - t0;
    }
  }
  const firstPassNs = Bun.nanoseconds() - t0;
  const firstPassCpuMs = cpuMs() - c0;
  dirtyOnePercent(guests, pages);
  const c1 = cpuMs();
  const t1 = Bun.nanoseconds();
  await s.fullScans(1);
  const dirtyNs = Bun.nanoseconds() - t1;
  const dirtyPassCpuMs = cpuMs() - c1;
  const c = poolOf(s)?.counters;
  const e = partitionEngineOf(s)?.counters;
  hv.audit();
  s.audit();
  await s.close();
  return {
    mergedMs: mergedNs < 0 ? Number.NaN : mergedNs / 1e6,
    firstPassMs: firstPassNs / 1e6,
    dirtyPassMs: dirtyNs / 1e6,
    pages,
    savable,
    hitRate: c ? c.hits / Math.max(1, c.hits + c.misses) : 0,
    partitionedBatches: e?.batches ?? 0,
    serialChosenBatches: e?.serialChosen ?? 0,
    declinedBatches: e?.failed ?? 0,
    firstPassCpuMs,
    dirtyPassCpuMs,
  };
}

/** Per-batch wall ratios (pool / inline) of `batches` alternating batches of `batchPages`. */
export async function smallBatches(pages: number, workers: number, batches: number, mode: EngineMode = "adaptive", batchPages = 2000, sleepMs = 20): Promise<number[]> {
  const a = buildImage(pages, 0);
  const b = buildImage(pages, 0);
  const inline = createScanner(a.hv, { policy: "vmdedup", workers: 0, pagesToScan: batchPages });
  const pooled = createScanner(b.hv, { policy: "vmdedup", workers, pagesToScan: batchPages });
  await poolOf(pooled)?.started();
  const eng = partitionEngineOf(pooled);
  if (eng && mode === "always") eng.adaptive = false;
  await eng?.started();
  const ratios: number[] = [];
  for (let i = 0; i < batches; i++) {
    // alternate which scanner goes first, so a cache warmed by one does not always favour the other
    const first = i % 2 === 0 ? inline : pooled;
    const second = first === inline ? pooled : inline;
    let t = Bun.nanoseconds();
    await first.scan(batchPages);
    const t1 = Bun.nanoseconds() - t;
    t = Bun.nanoseconds();
    await second.scan(batchPages);
    const t2 = Bun.nanoseconds() - t;
    const [ti, tp] = first === inline ? [t1, t2] : [t2, t1];
    ratios.push(tp / ti);
    await Bun.sleep(sleepMs);
  }
  if (JSON.stringify(inline.stats()) !== JSON.stringify(pooled.stats())) throw new Error("small batches: the two scanners disagree");
  await inline.close();
  await pooled.close();
  return ratios;
}
