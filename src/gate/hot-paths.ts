#!/usr/bin/env bun
/**
 * The measurement harness of gate tier 2 (relative speed): times the product's hot paths in the
 * source tree this file sits in, and prints one JSON line on stdout.
 *
 * It is self-contained on purpose: tier 2 copies this very file into the base commit's worktree
 * (at the same path, src/gate/hot-paths.ts) and runs both copies, so the base code and
 * the working tree's code are measured by the same harness. It therefore imports nothing but the
 * tree's own src/hypervisor and src/dedup, by relative path and dynamically: if the tree lacks an
 * API a path needs, that path is reported missing (with the reason) instead of crashing.
 *
 * The paths, each timed as `reps` short repetitions (a few ms each) after `warmup` untimed ones,
 * the paths' repetitions interleaved. The result is the fastest repetition, in ns per page: on a
 * shared 2-core machine other processes only ever add time, so the minimum is the estimate least
 * disturbed by them (the median is printed too, for information):
 *   hash      PageHasher.hashFrame over HASH_FRAMES random frames (1 MiB: L2-resident, so the
 *             time is the hash code's, not DRAM's; a hash that does twice the work shows ~2x);
 *   compare   the page comparer the policies call, on equal frame pairs (reads both pages to the
 *             end): FrameComparer.compare where src/dedup exports it, else (older trees, whose
 *             hash policies compared through MachineMemory) MachineMemory.compareFrames;
 *   merge     the merge step per page of MERGE_PAGES identical pairs: the hash policies' confirm
 *             compare (FrameComparer.equal; older trees: compareFrames), then the policies' share: hv.shareByHandle with the compared generations where the
 *             hypervisor has it, else (older trees) hv.share, which compares the pages again
 *             (the pairs are made private again, untimed, before each of INNER timed sweeps);
 *   scan      full vmdedup passes (scanner.scan, smart scan off) over 2 guests x SCAN_PAGES
 *             pages, each after every page of the second guest was rewritten (untimed): half
 *             the visits re-hash and look up, half find their page unchanged (INNER passes);
 *   cow       CoW breaks: a guest write of 16 bytes to each of COW_PAGES shared pages (the
 *             sharing is set up untimed with hv.share before each of INNER timed sweeps);
 *   mergepass a whole merging pass: the first vmdedup full pass (scanner.scan) over a fresh
 *             host of 2 guests x PASS_PAGES pages, the second guest a copy of the first (half
 *             the pages merge); host and scanner are built untimed, INNER passes per repetition.
 * Before the paths, each repetition also times a reference (xxHash3 of L2-resident pages, no
 * product code): `referenceNsPerPage`, its fastest repetition, tells how fast this process ran.
 * Output: {"ok":true,"nsPerPage":{"hash":..,...},"medianNsPerPage":{..},"referenceNsPerPage":..,"missing":{"scan":"reason"},"setupMs":..}
 * or {"ok":false,"reason":"..."} when nothing can be measured. Flags: --reps N, --warmup N.
 */
const PAGE = 4096;
const HASH_FRAMES = 256;
const COMPARE_PAIRS = 128;
const SCAN_PAGES = 1024;
const COW_PAGES = 1024;
const MERGE_PAGES = 1024;
const PASS_PAGES = 1024;
const INNER = 4; // scan and cow: timed rounds per repetition (setup between them untimed)

type Timed = () => number; // runs one repetition, returns ns per page

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  return Number.isInteger(v) && v > 0 ? v : def;
}

/** Fills `page` with xorshift32 words from `seed` (every page distinct). */
function fillRandom(page: Uint8Array, seed: number): void {
  const u32 = new Uint32Array(page.buffer, page.byteOffset, PAGE >>> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < u32.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    u32[i] = x >>> 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** hash: PageHasher.hashFrame over HASH_FRAMES random frames. */
function hashPath(mods: Mods): Path {
  const { Hypervisor, dedupMod } = mods;
  const page = new Uint8Array(PAGE);
  if (typeof dedupMod.PageHasher !== "function") throw new Error("src/dedup exports no PageHasher");
  const hv = new Hypervisor({ frames: HASH_FRAMES + 16 });
  const g = hv.createGuest({ pages: HASH_FRAMES, name: "hash" });
  const frames = new Int32Array(HASH_FRAMES);
  const slot0 = typeof g.slotBase === "number" ? g.slotBase : 0;
  for (let p = 0; p < HASH_FRAMES; p++) {
    fillRandom(page, p + 1);
    g.write(p, 0, page);
    frames[p] = g.frameOf(p);
  }
  const hasher = new dedupMod.PageHasher(hv.memory);
  const N = HASH_FRAMES * 64;
  const run = () => {
    const s = performance.now();
    let acc = 0;
    for (let i = 0; i < N; i++) {
      hasher.hashFrame(slot0 + (i & (HASH_FRAMES - 1)), frames[i & (HASH_FRAMES - 1)]!);
      acc ^= hasher.lo;
    }
    const ns = ((performance.now() - s) * 1e6) / N;
    return acc === 0.5 ? -1 : ns; // keeps acc alive
  };
  return { run };
}

/** compare: the comparer the policies call, on equal pairs. */
function comparePath(mods: Mods): Path {
  const { Hypervisor, dedupMod } = mods;
  const page = new Uint8Array(PAGE);
  const hv = new Hypervisor({ frames: COMPARE_PAIRS * 2 + 16 });
  if (typeof hv.memory?.compareFrames !== "function") throw new Error("MachineMemory has no compareFrames");
  const g = hv.createGuest({ pages: COMPARE_PAIRS * 2, name: "cmp" });
  const a = new Int32Array(COMPARE_PAIRS);
  const b = new Int32Array(COMPARE_PAIRS);
  for (let p = 0; p < COMPARE_PAIRS; p++) {
    fillRandom(page, p + 7);
    g.write(2 * p, 0, page);
    g.write(2 * p + 1, 0, page);
    a[p] = g.frameOf(2 * p);
    b[p] = g.frameOf(2 * p + 1);
  }
  const m = hv.memory;
  const N = COMPARE_PAIRS * 128;
  const work = { pagesHashed: 0, compares: 0, compareBytes: 0, zeroChecks: 0, merges: 0, lookups: 0 };
  const cmp: { compare(a: number, b: number): number } =
    typeof dedupMod.FrameComparer === "function" ? new dedupMod.FrameComparer(m, work) : { compare: (x: number, y: number) => m.compareFrames(x, y) };
  const run = () => {
    const s = performance.now();
    let acc = 0;
    for (let i = 0; i < N; i++) acc |= cmp.compare(a[i & (COMPARE_PAIRS - 1)]!, b[i & (COMPARE_PAIRS - 1)]!);
    const ns = ((performance.now() - s) * 1e6) / N;
    if (acc !== 0) throw new Error("equal frames compared unequal");
    return ns;
  };
  return { run };
}

/** scan: full vmdedup passes after a rewrite of one guest. */
async function scanPath(mods: Mods): Promise<Path> {
  const { Hypervisor, dedupMod } = mods;
  const page = new Uint8Array(PAGE);
  if (typeof dedupMod.createScanner !== "function") throw new Error("src/dedup exports no createScanner");
  const hv = new Hypervisor({ frames: SCAN_PAGES * 3 + 64 });
  const ga = hv.createGuest({ pages: SCAN_PAGES, name: "a" });
  const gb = hv.createGuest({ pages: SCAN_PAGES, name: "b" });
  for (let p = 0; p < SCAN_PAGES; p++) {
    fillRandom(page, p + 1000);
    ga.write(p, 0, page);
    if (p & 1) fillRandom(page, p + 50000); // odd pages unique to b, even pages duplicates
    gb.write(p, 0, page);
  }
  const scanner: ScannerLike = dedupMod.createScanner(hv, { policy: "vmdedup", pagesToScan: SCAN_PAGES * 2, smartScan: false });
  await scanner.fullScans(2);
  const stamp = new Uint8Array(16);
  const dv = new DataView(stamp.buffer);
  let gen = 0;
  const total = SCAN_PAGES * 2;
  const run = async () => {
    let ms = 0;
    for (let pass = 0; pass < INNER; pass++) {
      gen++;
      for (let p = 0; p < SCAN_PAGES; p++) {
        dv.setUint32(0, gen);
        dv.setUint32(4, p);
        gb.write(p, 64, stamp);
      }
      const s = performance.now();
      // a batch stops at the end of a pass, so a call may visit nothing: the pass ended there
      let visited = 0;
      for (let calls = 0; visited < total && calls < 4; calls++) visited += await scanner.scan(total - visited);
      ms += performance.now() - s;
      if (visited !== total) throw new Error(`scan visited ${visited} of ${total} pages`);
    }
    return (ms * 1e6) / (INNER * total);
  };
  return { run, close: () => scanner.close() };
}

/** cow: CoW breaks of shared pages. */
function cowPath(mods: Mods): Path {
  const { Hypervisor, dedupMod } = mods;
  const page = new Uint8Array(PAGE);
  if (typeof Hypervisor.prototype.share !== "function") throw new Error("Hypervisor has no share()");
  const hv = new Hypervisor({ frames: COW_PAGES * 3 + 64 });
  const ga = hv.createGuest({ pages: COW_PAGES, name: "a" });
  const gb = hv.createGuest({ pages: COW_PAGES, name: "b" });
  const small = new Uint8Array(16).fill(0x5a); // the timed write; a gets it too before sharing
  for (let p = 0; p < COW_PAGES; p++) {
    fillRandom(page, p + 9000);
    page.set(small);
    ga.write(p, 0, page);
    gb.write(p, 0, page);
  }
  const run = () => {
    let ms = 0;
    for (let k = 0; k < INNER; k++) {
      for (let p = 0; p < COW_PAGES; p++) {
        ga.write(p, 0, small); // a and b identical again (no-op content-wise after the first rep)
        hv.share(ga, p, gb, p);
      }
      const s = performance.now();
      for (let p = 0; p < COW_PAGES; p++) gb.write(p, 0, small);
      ms += performance.now() - s;
      if (gb.isShared(COW_PAGES - 1)) throw new Error("write did not break sharing");
    }
    return (ms * 1e6) / (INNER * COW_PAGES);
  };
  return { run };
}

/** merge: the merge step per page (compare + share by handle; older trees: compareFrames + hv.share). */
function mergePath(mods: Mods): Path {
  const { Hypervisor, dedupMod } = mods;
  const hv = new Hypervisor({ frames: MERGE_PAGES * 3 + 64 });
  const ga = hv.createGuest({ pages: MERGE_PAGES, name: "a" });
  const gb = hv.createGuest({ pages: MERGE_PAGES, name: "b" });
  const pages = new Uint8Array(MERGE_PAGES * PAGE);
  for (let p = 0; p < MERGE_PAGES; p++) {
    fillRandom(pages.subarray(p * PAGE, (p + 1) * PAGE), p + 20000);
    ga.write(p, 0, pages.subarray(p * PAGE, (p + 1) * PAGE));
  }
  const m = hv.memory;
  const sf: Int32Array = hv.pageTable.slotFrame;
  const byHandle = typeof hv.shareByHandle === "function" && typeof dedupMod.FrameComparer === "function";
  const work = { pagesHashed: 0, compares: 0, compareBytes: 0, zeroChecks: 0, merges: 0, lookups: 0 };
  const cmp = byHandle ? new dedupMod.FrameComparer(m, work) : null;
  const sa = ga.slotBase as number;
  const sb = gb.slotBase as number;
  const run = () => {
    let ms = 0;
    for (let k = 0; k < INNER; k++) {
      for (let p = 0; p < MERGE_PAGES; p++) gb.write(p, 0, pages.subarray(p * PAGE, (p + 1) * PAGE)); // private again
      const s = performance.now();
      if (cmp) {
        for (let p = 0; p < MERGE_PAGES; p++) {
          const fa = sf[sa + p]!;
          const fb = sf[sb + p]!;
          if (cmp.equal(fa, fb)) hv.shareByHandle(sa + p, fa, cmp.genA, sb + p, fb, cmp.genB);
        }
      } else {
        for (let p = 0; p < MERGE_PAGES; p++) if (m.compareFrames(sf[sa + p]!, sf[sb + p]!) === 0) hv.share(ga, p, gb, p);
      }
      ms += performance.now() - s;
      if (gb.frameOf(MERGE_PAGES - 1) !== ga.frameOf(MERGE_PAGES - 1)) throw new Error("merge step did not share");
    }
    return (ms * 1e6) / (INNER * MERGE_PAGES);
  };
  return { run };
}

/** mergepass: the first vmdedup pass over a fresh host whose guest b copies guest a. */
function mergePassPath(mods: Mods): Path {
  const { Hypervisor, dedupMod } = mods;
  if (typeof dedupMod.createScanner !== "function") throw new Error("src/dedup exports no createScanner");
  const image = new Uint8Array(PASS_PAGES * PAGE);
  for (let p = 0; p < PASS_PAGES; p++) fillRandom(image.subarray(p * PAGE, (p + 1) * PAGE), p + 70000);
  const total = PASS_PAGES * 2;
  const run = async () => {
    let ms = 0;
    for (let k = 0; k < INNER; k++) {
      const hv = new Hypervisor({ frames: total + 64 });
      for (const name of ["a", "b"]) {
        const g = hv.createGuest({ pages: PASS_PAGES, name });
        for (let p = 0; p < PASS_PAGES; p++) g.write(p, 0, image.subarray(p * PAGE, (p + 1) * PAGE));
      }
      const sc = dedupMod.createScanner(hv, { policy: "vmdedup", pagesToScan: total, smartScan: false });
      try {
        const s = performance.now();
        let visited = 0;
        for (let calls = 0; visited < total && calls < 4; calls++) visited += await sc.scan(total - visited);
        ms += performance.now() - s;
        if (visited !== total) throw new Error(`mergepass visited ${visited} of ${total} pages`);
        if (hv.stats().sharingMappings !== PASS_PAGES) throw new Error(`mergepass merged ${hv.stats().sharingMappings} of ${PASS_PAGES} pages`);
      } finally {
        await sc.close();
      }
    }
    return (ms * 1e6) / (INNER * total);
  };
  return { run };
}

type Mods = { Hypervisor: any; dedupMod: Record<string, any> };
/** A measured path: run() does one repetition and returns ns per page. */
interface Path {
  run: () => number | Promise<number>;
  close?: () => Promise<void>;
}
interface ScannerLike {
  scan(n: number): Promise<number>;
  fullScans(n: number): Promise<void>;
  close(): Promise<void>;
}
/** The paths in table order; a maker that throws reports its path missing (the tree lacks an API). */
const PATHS: [string, (mods: Mods) => Path | Promise<Path>][] = [
  ["hash", hashPath],
  ["compare", comparePath],
  ["scan", scanPath],
  ["cow", cowPath],
  ["merge", mergePath],
  ["mergepass", mergePassPath],
];

async function main(): Promise<void> {
  const reps = arg("--reps", 15);
  const warmup = arg("--warmup", 3);
  const t0 = performance.now();
  let hvMod: Record<string, any>;
  let dedupMod: Record<string, any>;
  try {
    hvMod = await import("../hypervisor/index.ts");
    dedupMod = await import("../dedup/index.ts");
  } catch (e) {
    console.log(JSON.stringify({ ok: false, reason: `cannot import src/hypervisor or src/dedup: ${(e as Error).message}` }));
    return;
  }
  const Hypervisor = hvMod.Hypervisor;
  if (typeof Hypervisor !== "function") {
    console.log(JSON.stringify({ ok: false, reason: "src/hypervisor exports no Hypervisor" }));
    return;
  }
  const mods: Mods = { Hypervisor, dedupMod };
  const paths: Record<string, Path> = {};
  const missing: Record<string, string> = {};
  for (const [name, make] of PATHS) {
    try {
      paths[name] = await make(mods);
    } catch (e) {
      missing[name] = (e as Error).message;
    }
  }

  // The reference: the same kind of work as the hash path (xxHash3 of L2-resident pages of a
  // SharedArrayBuffer) without any product code. Its time tracks how fast this process happens to
  // run (CPU placement and frequency on a shared host vary by tens of percent from one process to
  // the next); tier 2 divides every path by it, so that only the product's own cost is compared.
  const page = new Uint8Array(PAGE);
  const refPages = new Uint8Array(new SharedArrayBuffer(HASH_FRAMES * PAGE));
  for (let p = 0; p < HASH_FRAMES; p++) {
    fillRandom(page, 7919 * (p + 1));
    refPages.set(page, p * PAGE);
  }
  const refViews = Array.from({ length: HASH_FRAMES }, (_, p) => refPages.subarray(p * PAGE, (p + 1) * PAGE));
  const reference: Timed = () => {
    const N = HASH_FRAMES * 64;
    const s = performance.now();
    let acc = 0n;
    for (let i = 0; i < N; i++) acc ^= Bun.hash.xxHash3(refViews[i & (HASH_FRAMES - 1)]!);
    const ns = ((performance.now() - s) * 1e6) / N;
    return acc === 1n ? -1 : ns;
  };
  const refSamples: number[] = [];

  const setupMs = performance.now() - t0;
  const samples: Record<string, number[]> = {};
  for (const k of Object.keys(paths)) samples[k] = [];
  // repetitions interleave the paths, so a burst of noise hits all of them a little
  try {
    for (let r = 0; r < warmup + reps; r++) {
      const refNs = reference();
      if (r >= warmup) refSamples.push(refNs);
      for (const [k, path] of Object.entries(paths)) {
        const ns = await path.run();
        if (r >= warmup) samples[k]!.push(ns);
      }
    }
  } catch (e) {
    console.log(JSON.stringify({ ok: false, reason: `measurement failed: ${(e as Error).message}` }));
    return;
  } finally {
    for (const path of Object.values(paths)) await path.close?.();
  }
  const nsPerPage: Record<string, number> = {};
  const medianNsPerPage: Record<string, number> = {};
  for (const [k, xs] of Object.entries(samples)) {
    nsPerPage[k] = Math.min(...xs);
    medianNsPerPage[k] = median(xs);
  }
  if (Object.keys(nsPerPage).length === 0) {
    console.log(JSON.stringify({ ok: false, reason: `no hot path available: ${JSON.stringify(missing)}` }));
    return;
  }
  const referenceNsPerPage = Math.min(...refSamples);
  console.log(JSON.stringify({ ok: true, nsPerPage, medianNsPerPage, referenceNsPerPage, missing, setupMs: Math.round(setupMs), wallMs: Math.round(performance.now() - t0) }));
}

await main();

