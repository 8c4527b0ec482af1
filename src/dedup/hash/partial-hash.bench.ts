/**
 * Partial hashing (UKSM, Xia et al., FAST'18 "...partial hashing"), measured before adopting it:
 * a script, not a timed test.
 *
 *   bun src/dedup/hash/partial-hash.bench.ts [--pages 262144] [--rounds 5] [--out file.json]
 *
 * What it measures, on two images (both 4 guests, visited in ascending slot order, one thread):
 *   "mix"        the 1 GiB mix of the scanner benchmarks (even pages one of 2,048 contents, odd unique);
 *   "real-guest" a real-guest-like mix (reference/real-guests.md): 67% zero pages; of the rest 15%
 *                copies of 2,048 contents, 85% unique.
 * Two ways of finding the candidates of a first pass (every page visited once, as vmdedup's first
 * pass or esx's every pass over unshared pages):
 *   full     xxHash3 of every whole page, looked up in a fingerprint index (HashIndex);
 *   partial  xxHash3 of a 256-byte sample (--sample spread: four 64-byte pieces at 0, 1088, 2176,
 *            3264, copied together; --sample contiguous: bytes 1024-1279 hashed in place) looked up
 *            in a sample index; only a page whose sample matches an earlier page's (and that
 *            earlier page, once) is then read whole and hashed into the full index. A zero page's
 *            sample matches the zero sample, so zero pages are always read whole (their zeros
 *            must be confirmed before mapping the zero frame).
 * Reported per image: pages read whole (and the fraction), bytes read per page, and wall ns per
 * page of each method (median of --rounds, interleaved, min-max), plus the ratio.
 * Compares (8 KiB each for every merge) and merges are the same for both methods and are not part
 * of this measurement; the scanner's full first pass costs about 2x the hashing alone (see the
 * report), so a hashing saving of x% is about x/2 % of a first pass.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Hypervisor } from "../../hypervisor/index.ts";
import { median } from "../pool/bench-stats.ts";
import { buildMixImage, fillContent } from "../mix-image.ts";
import { HashIndex } from "./hash-index.ts";

const { values } = parseArgs({
  options: {
    pages: { type: "string", default: "262144" },
    rounds: { type: "string", default: "5" },
    sample: { type: "string", default: "spread" }, // spread: 4 x 64 B copied together; contiguous: 256 B at 1024, hashed in place
    out: { type: "string" },
  },
});
const PAGES = Number(values.pages);
const ROUNDS = Number(values.rounds);
const SAMPLE_OFFSETS = [0, 1088, 2176, 3264]; // bytes; 64 bytes each, 4 different cache lines
const CONTIGUOUS = values.sample === "contiguous";
const tmp64 = new BigUint64Array(1);
const tmp32 = new Uint32Array(tmp64.buffer);

function realGuestImage(pages: number): Hypervisor {
  const hv = new Hypervisor({ frames: pages + 16 });
  const per = pages / 4;
  const page = new Uint8Array(4096);
  let x = 12345;
  let n = 0;
  for (let gi = 0; gi < 4; gi++) {
    const g = hv.createGuest({ pages: per, name: `r${gi}` });
    for (let gfn = 0; gfn < per; gfn++, n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const r = (x >>> 8) % 10_000;
      const id = r < 6_700 ? 0 : r < 6_700 + 495 ? 1 + ((x >>> 4) % 2048) : 0x40000000 + n; // 15% of 33% are copies
      g.write(gfn, 0, fillContent(id, page));
    }
  }
  return hv;
}

interface Pass {
  ns: number;
  fullReads: number;
  sampleReads: number;
  groups: number; // full-index keys seen twice or more (same for both methods: a check)
}

function fullPass(hv: Hypervisor): Pass {
  const sf = hv.pageTable.slotFrame;
  const n = hv.pageTable.slotCount;
  const ix = new HashIndex(2 * n);
  let groups = 0;
  const t0 = Bun.nanoseconds();
  for (let s = 0; s < n; s++) {
    tmp64[0] = Bun.hash.xxHash3(hv.memory.view(sf[s]!));
    const lo = tmp32[0]!;
    const hi = tmp32[1]!;
    const p = ix.first(hi, lo);
    if (p < 0) ix.insert(hi, lo, sf[s]!, 0, s);
    else if (ix.aux[p]! >= 0) {
      ix.aux[p] = -1;
      groups++;
    }
  }
  return { ns: Bun.nanoseconds() - t0, fullReads: n, sampleReads: 0, groups };
}

function partialPass(hv: Hypervisor): Pass {
  const sf = hv.pageTable.slotFrame;
  const n = hv.pageTable.slotCount;
  const sample = new HashIndex(2 * n); // sample key -> first page (aux = slot; gen 1 once read whole)
  const full = new HashIndex(2 * n);
  const buf = new Uint8Array(256);
  const m = hv.memory;
  let fullReads = 0;
  let groups = 0;
  const readWhole = (slot: number): void => {
    fullReads++;
    tmp64[0] = Bun.hash.xxHash3(m.view(sf[slot]!));
    const lo = tmp32[0]!;
    const hi = tmp32[1]!;
    const p = full.first(hi, lo);
    if (p < 0) full.insert(hi, lo, sf[slot]!, 0, slot);
    else if (full.aux[p]! >= 0) {
      full.aux[p] = -1;
      groups++;
    }
  };
  const t0 = Bun.nanoseconds();
  for (let s = 0; s < n; s++) {
    const f = sf[s]!;
    const seg = m.segmentOf(f);
    const off = m.byteOffset(f);
    if (CONTIGUOUS) tmp64[0] = Bun.hash.xxHash3(seg.subarray(off + 1024, off + 1280));
    else {
      for (let k = 0; k < 4; k++) buf.set(seg.subarray(off + SAMPLE_OFFSETS[k]!, off + SAMPLE_OFFSETS[k]! + 64), k * 64);
      tmp64[0] = Bun.hash.xxHash3(buf);
    }
    const lo = tmp32[0]!;
    const hi = tmp32[1]!;
    const p = sample.first(hi, lo);
    if (p < 0) {
      sample.insert(hi, lo, f, 0, s);
      continue;
    }
    if (sample.gen[p] === 0) {
      sample.gen[p] = 1;
      readWhole(sample.aux[p]!); // the earlier page with this sample, once
    }
    readWhole(s);
  }
  return { ns: Bun.nanoseconds() - t0, fullReads, sampleReads: n, groups };
}

const images: Record<string, Hypervisor> = {};
images.mix = new Hypervisor({ frames: PAGES + 16 });
buildMixImage(images.mix, { pages: PAGES, guests: 4 });
images["real-guest"] = realGuestImage(PAGES);
const out: Record<string, unknown> = { bench: "partial-hash", pages: PAGES, rounds: ROUNDS, sampleBytes: 256, sample: CONTIGUOUS ? "contiguous 256 B at 1024" : "4 x 64 B at 0, 1088, 2176, 3264" };
for (const [name, hv] of Object.entries(images)) {
  fullPass(hv); // warm-up
  partialPass(hv);
  const fullNs: number[] = [];
  const partNs: number[] = [];
  let f!: Pass;
  let p!: Pass;
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      f = fullPass(hv);
      p = partialPass(hv);
    } else {
      p = partialPass(hv);
      f = fullPass(hv);
    }
    fullNs.push(f.ns / PAGES);
    partNs.push(p.ns / PAGES);
  }
  if (f.groups !== p.groups) throw new Error(`${name}: partial hashing found ${p.groups} duplicate groups, full ${f.groups}`);
  const bytesPartial = (p.sampleReads * 256 + p.fullReads * 4096) / PAGES;
  const row = {
    pagesReadWhole: { full: f.fullReads, partial: p.fullReads, partialFraction: p.fullReads / PAGES },
    bytesReadPerPage: { full: 4096, partial: Math.round(bytesPartial) },
    nsPerPage: {
      full: { median: median(fullNs), min: Math.min(...fullNs), max: Math.max(...fullNs) },
      partial: { median: median(partNs), min: Math.min(...partNs), max: Math.max(...partNs) },
    },
    partialOverFull: median(partNs.map((x, i) => x / fullNs[i]!)),
    duplicateGroups: f.groups,
  };
  out[name] = row;
  console.log(
    `${name}: pages read whole ${p.fullReads} of ${PAGES} (${((100 * p.fullReads) / PAGES).toFixed(1)}%), ${row.bytesReadPerPage.partial} B/page;` +
      ` ns/page full ${row.nsPerPage.full.median.toFixed(0)} (${row.nsPerPage.full.min.toFixed(0)}-${row.nsPerPage.full.max.toFixed(0)}),` +
      ` partial ${row.nsPerPage.partial.median.toFixed(0)} (${row.nsPerPage.partial.min.toFixed(0)}-${row.nsPerPage.partial.max.toFixed(0)}); partial/full ${row.partialOverFull.toFixed(2)}`,
  );
}
if (values.out) writeFileSync(values.out, JSON.stringify(out, null, 2) + "\n");
