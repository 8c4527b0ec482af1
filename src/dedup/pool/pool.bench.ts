/**
 * Worker-pool benchmark (issues 4 and 13): a script, not a timed test.
 *
 *   bun src/dedup/pool/pool.bench.ts [--gib 1] [--rounds 5] [--workers 0,1,2] [--chunks 16384]
 *     [--pages-to-scan 20000] [--small-batches 40] [--engine adaptive|always] [--raw-only] [--out file.json]
 *
 * "The mix": --gib x 262,144 pages in 4 guests, even pages one of 2,048 contents, odd pages
 * unique (pool-bench-cases.ts). Every round runs each worker count once, the order rotating per
 * round (so drift and load fall on each in turn); each case on a freshly built image:
 *   raw      the pool alone re-hashing every page, per worker count (--chunks: for 2 workers);
 *            the scaling curve: pages/s vs threads (workers 0 = the scanner's thread alone = 1
 *            thread; n workers = n + 1 threads, the scanner's thread claiming sub-chunks too),
 *            with the ideal line = 1 thread x min(threads, cores);
 *   merge    vmdedup, pool started first (start-up excluded): wall ms until merged (savings =
 *            the oracle's), the first pass, and a 1%-dirty steady pass;
 *   small    the simulator's batches (2,000 pages, 20 ms apart), pool vs inline, paired
 *            per-batch ratios with gate tier 2's median confidence interval (bench-stats.ts, shared with the gate).
 * One warm-up run of each case precedes the rounds (not recorded). The speed-up lines (paired by round) are for every worker count; "speedup" in the JSON is for workers = cores - 1. Prints one line per round and the medians with min-max; --out writes everything as JSON.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { median, medianInterval } from "./bench-stats.ts";
import { DEFAULT_CHUNK } from "./index.ts";
import { buildImage, mergeAndDirty, rawRehash, smallBatches, type EngineMode } from "./pool-bench-cases.ts";
import { spareCores } from "./spare-cores.ts";

const { values } = parseArgs({
  options: {
    gib: { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
    workers: { type: "string" },
    chunks: { type: "string", default: String(DEFAULT_CHUNK) },
    "pages-to-scan": { type: "string", default: "20000" },
    "small-batches": { type: "string", default: "40" },
    "raw-only": { type: "boolean", default: false },
    engine: { type: "string", default: "adaptive" }, // adaptive | always (every batch >= 512 pages in partitions)
    out: { type: "string" },
  },
});
const CORES = navigator.hardwareConcurrency;
const GIB = Number(values.gib);
const PAGES = Math.round(GIB * 262_144);
const ROUNDS = Number(values.rounds);
const WORKERS = (values.workers ?? Array.from({ length: CORES + 1 }, (_, i) => i).join(",")).split(",").map(Number);
const CHUNKS = values.chunks!.split(",").map(Number);
const PAGES_TO_SCAN = Number(values["pages-to-scan"]);
const SMALL = Number(values["small-batches"]);
const ENGINE = values.engine as EngineMode;
if (!(PAGES >= 4096 && PAGES % 4 === 0) || !(ROUNDS >= 1) || WORKERS.some((w) => !(w >= 0)) || !WORKERS.includes(0) || !["adaptive", "always"].includes(ENGINE)) {
  console.error("pool.bench: --gib must give >= 4096 pages (a multiple of 4), --rounds >= 1, --workers must include 0, --engine adaptive|always");
  process.exit(2);
}

const fmt = (x: number): string => (x / 1e6).toFixed(2) + " M";
const rotate = <T>(xs: T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length]!);
const summary = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const threadsOf = (w: number): number => (w === 0 ? 1 : w + 1); // the scanner's thread hashes and decides too

const load: string[] = [];
const spare: number[] = [];
// the load, and the cores this process can use now (spare-cores.ts: ~1 when others keep every core busy)
const noteLoad = async (when: string): Promise<void> => {
  const c = await spareCores(CORES);
  spare.push(c);
  load.push(`${when}: load ${loadavg().map((x) => x.toFixed(2)).join(" ")}, spare cores ${c.toFixed(2)} of ${CORES}`);
};
await noteLoad("start");
console.log(`pool bench: ${GIB} GiB = ${PAGES} pages, ${ROUNDS} rounds, workers ${WORKERS.join(",")}, cores ${CORES}, ${load[0]}`);

// ---- raw re-hash: the scaling curve --------------------------------------------------------------
const raw: Record<string, number[]> = {};
const dispatch: number[] = [];
{
  const { hv } = buildImage(PAGES, 0);
  for (const w of WORKERS) await rawRehash(hv, w, DEFAULT_CHUNK); // warm-up (JIT), not recorded
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const w of rotate(WORKERS, r)) {
      const m = await rawRehash(hv, w, DEFAULT_CHUNK);
      (raw[`w${w}`] ??= []).push(m.pagesPerSec);
      if (w === 2) dispatch.push((m.dispatchUs / m.chunkUs) * 100);
      line.push(`w${w} ${fmt(m.pagesPerSec)}`);
    }
    for (const chunk of CHUNKS.filter((c) => c !== DEFAULT_CHUNK)) {
      const m = await rawRehash(hv, 2, chunk);
      (raw[`w2-chunk${chunk}`] ??= []).push(m.pagesPerSec);
      line.push(`w2 chunk ${chunk} ${fmt(m.pagesPerSec)}`);
    }
    console.log(`  raw round ${r + 1}: ${line.join(", ")} pages/s`);
  }
}
const one = median(raw.w0!);
const scaling = WORKERS.map((w) => ({
  workers: w,
  threads: threadsOf(w),
  pagesPerSec: summary(raw[`w${w}`]!),
  idealPagesPerSec: one * Math.min(threadsOf(w), CORES),
}));
console.log(`scaling (raw re-hash, pages/s vs threads; ideal = 1 thread x min(threads, ${CORES} cores)):`);
for (const p of scaling)
  console.log(`  workers ${p.workers} (${p.threads} thread${p.threads > 1 ? "s" : ""}): ${fmt(p.pagesPerSec.median)} (${fmt(p.pagesPerSec.min)}-${fmt(p.pagesPerSec.max)}), ideal ${fmt(p.idealPagesPerSec)}`);
if (dispatch.length) console.log(`  owner dispatch per chunk, 2 workers: median ${median(dispatch).toFixed(1)}% of the chunk's hashing time`);
await noteLoad("after raw");

// ---- vmdedup: merged, first pass, 1%-dirty pass ------------------------------------------------
const merge: Record<string, {
  mergedMs: number[]; firstPassMs: number[]; dirtyPassMs: number[]; hitRate: number[]; partitioned: number[]; serialChosen: number[]; declined: number[];
  firstPassCpuMs: number[]; dirtyPassCpuMs: number[];
}> = {};
const small: Record<string, ReturnType<typeof medianInterval> & { ratios: number[] }> = {};
if (!values["raw-only"]) {
  for (const w of WORKERS) await mergeAndDirty(Math.min(PAGES, 65_536), w, PAGES_TO_SCAN); // warm-up, not recorded
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const w of rotate(WORKERS, r)) {
      const m = await mergeAndDirty(PAGES, w, PAGES_TO_SCAN, ENGINE);
      const e = (merge[`w${w}`] ??= { mergedMs: [], firstPassMs: [], dirtyPassMs: [], hitRate: [], partitioned: [], serialChosen: [], declined: [], firstPassCpuMs: [], dirtyPassCpuMs: [] });
      e.partitioned.push(m.partitionedBatches);
      e.serialChosen.push(m.serialChosenBatches);
      e.firstPassCpuMs.push(m.firstPassCpuMs);
      e.dirtyPassCpuMs.push(m.dirtyPassCpuMs);
      e.declined.push(m.declinedBatches);
      e.mergedMs.push(m.mergedMs);
      e.firstPassMs.push(m.firstPassMs);
      e.dirtyPassMs.push(m.dirtyPassMs);
      e.hitRate.push(m.hitRate);
      line.push(
        `w${w} merged ${m.mergedMs.toFixed(0)} ms, dirty pass ${m.dirtyPassMs.toFixed(1)} ms (cpu ${m.firstPassCpuMs.toFixed(0)} / ${m.dirtyPassCpuMs.toFixed(1)} ms,` +
          ` batches partitioned ${m.partitionedBatches}, chosen serial ${m.serialChosenBatches})`,
      );
      Bun.gc(true);
    }
    console.log(`  vmdedup round ${r + 1}: ${line.join("; ")}`);
  }
  await noteLoad("after merge");
  // ---- the simulator's small batches ----------------------------------------------------------
  const smallPages = Math.min(PAGES, 65_536);
  for (const w of WORKERS.filter((x) => x > 0)) {
    const ratios = await smallBatches(smallPages, w, SMALL, ENGINE);
    small[`w${w}`] = { ...medianInterval(ratios, 0.9), ratios };
    const s = small[`w${w}`]!;
    console.log(`  small batches (2000 pages / 20 ms, ${smallPages} pages), w${w} / w0 per batch: median ${s.median.toFixed(3)}, 90% CI [${s.lo.toFixed(3)}, ${s.hi.toFixed(3)}] (n ${s.n})`);
    Bun.gc(true);
  }
  await noteLoad("after small batches");
}

const ratio = (a: number[], b: number[]) => summary(a.map((x, i) => x / b[i]!));
// the speed-up headline: workers = cores - 1 (the scanner's thread is an executor too: the
// README's advice), or the largest count measured when that one was not
const best = WORKERS.includes(CORES - 1) && CORES > 1 ? CORES - 1 : Math.max(...WORKERS);
const speedupOf = (w: number) =>
  merge.w0 && merge[`w${w}`]
    ? {
        workers: w, merged: ratio(merge.w0.mergedMs, merge[`w${w}`]!.mergedMs), dirtyPass: ratio(merge.w0.dirtyPassMs, merge[`w${w}`]!.dirtyPassMs),
        // CPU of the pool's passes / one thread's (every thread of the process): what the partitioned work costs in all
        firstPassCpu: ratio(merge[`w${w}`]!.firstPassCpuMs, merge.w0.firstPassCpuMs), dirtyPassCpu: ratio(merge[`w${w}`]!.dirtyPassCpuMs, merge.w0.dirtyPassCpuMs),
      }
    : null;
const out = {
  bench: "pool.bench",
  gib: GIB,
  engine: ENGINE,
  pages: PAGES,
  rounds: ROUNDS,
  cores: CORES,
  cpu: cpus()[0]?.model ?? "unknown",
  load,
  spareCores: spare,
  scaling,
  raw: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, summary(v)])),
  merge: Object.fromEntries(Object.entries(merge).map(([k, v]) => [k, {
    mergedMs: summary(v.mergedMs), firstPassMs: summary(v.firstPassMs), dirtyPassMs: summary(v.dirtyPassMs), hitRate: median(v.hitRate),
    partitionedBatches: median(v.partitioned), serialChosenBatches: median(v.serialChosen), declinedBatches: median(v.declined),
    firstPassCpuMs: summary(v.firstPassCpuMs), dirtyPassCpuMs: summary(v.dirtyPassCpuMs),
  }])),
  // vmdedup's merging pass, pages/s against executor threads (workers + the scanner's thread)
  mergeScaling: merge.w0
    ? WORKERS.filter((w) => merge[`w${w}`]).map((w) => {
        const pps = merge[`w${w}`]!.firstPassMs.map((ms) => PAGES / (ms / 1e3));
        const threads = threadsOf(w);
        return { workers: w, threads, pagesPerSec: summary(pps), idealPagesPerSec: (PAGES / (median(merge.w0!.firstPassMs) / 1e3)) * Math.min(threads, CORES) };
      })
    : [],
  // paired by round: one thread (w0) time / pool time, i.e. the speed-up
  speedup: speedupOf(best),
  speedupByWorkers: Object.fromEntries(WORKERS.filter((w) => w > 0).map((w) => [`w${w}`, speedupOf(w)])),
  smallBatches: small,
};
for (const w of WORKERS.filter((x) => x > 0)) {
  const sp = speedupOf(w);
  if (!sp) continue;
  console.log(
    `vmdedup speed-up, w${w} vs w0 (paired by round)${w === best ? " [cores - 1]" : ""}: merged ${sp.merged.median.toFixed(2)}x (${sp.merged.min.toFixed(2)}-${sp.merged.max.toFixed(2)}),` +
      ` 1%-dirty pass ${sp.dirtyPass.median.toFixed(2)}x (${sp.dirtyPass.min.toFixed(2)}-${sp.dirtyPass.max.toFixed(2)});` +
      ` merged wall median w0 ${median(merge.w0!.mergedMs).toFixed(0)} ms, w${w} ${median(merge[`w${w}`]!.mergedMs).toFixed(0)} ms;` +
      ` CPU w${w} / w0: first pass ${sp.firstPassCpu.median.toFixed(2)}x, dirty pass ${sp.dirtyPassCpu.median.toFixed(2)}x`,
  );
}
for (const p of out.mergeScaling)
  console.log(`  merging pass scaling: workers ${p.workers} (${p.threads} threads): ${fmt(p.pagesPerSec.median)} pages/s (${fmt(p.pagesPerSec.min)}-${fmt(p.pagesPerSec.max)}), ideal ${fmt(p.idealPagesPerSec)}`);
if (values.out) writeFileSync(values.out, JSON.stringify(out, null, 2) + "\n");
