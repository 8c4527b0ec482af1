/**
 * `vmdedup calibrate`: measures the cost model's constants on this host by timing the real
 * hypervisor and dedup code paths (hv.write, hv.share, MachineMemory compares and copies,
 * PageHasher), and returns a calibration document to write next to default.json.
 *
 * Method: a pool of `pages` frames (default 16,384 = 64 MiB, larger than L2) is filled with
 * distinct data; each operation is timed over the whole pool (cold, sequential), 5 rounds,
 * median round -> ns per operation. Differences isolate parts: cowTrap = a 1-byte write that
 * breaks sharing minus a page copy minus a 1-byte private write; ptUpdate = a PV share minus an
 * HVM share. The TLB flush cannot be observed from JavaScript and keeps its value from the base
 * calibration, marked so. Results vary with the machine and its noise; they are a snapshot.
 */
import { cpus } from "node:os";
import { PageHasher } from "../dedup/index.ts";
import { Hypervisor, PAGE_SIZE, type Guest } from "../hypervisor/index.ts";
import { COST_KEYS, loadCalibration, type Calibration, type CostKey } from "./cost-model.ts";
import { PageFiller } from "./content.ts";
import { calibrateHost } from "./calibrate-host.ts";

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** ns per op: runs `round` 5 times (after one warm-up), each doing `n` ops. */
function time(n: number, setup: () => void, round: () => void): number {
  const r: number[] = [];
  for (let i = 0; i < 6; i++) {
    setup();
    const t0 = Bun.nanoseconds();
    round();
    if (i > 0) r.push((Bun.nanoseconds() - t0) / n);
  }
  return median(r);
}

function fillGuest(g: Guest, pages: number, filler: PageFiller, base: number): void {
  for (let i = 0; i < pages; i++) g.write(i, 0, filler.named(base + i));
}

type Measured = Partial<Record<CostKey, number>>;

/** hash, compare, zero check, copy, visit, write: on one guest of distinct pages and one copy of it. */
function measureMemoryOps(pages: number, filler: PageFiller, m: Measured): void {
  const frames = (g: Guest) => Int32Array.from({ length: pages }, (_, i) => g.frameOf(i));
  const hv = new Hypervisor({ frames: 3 * pages + 16 });
  const a = hv.createGuest({ pages });
  const b = hv.createGuest({ pages });
  const z = hv.createGuest({ pages });
  fillGuest(a, pages, filler, 1);
  fillGuest(b, pages, filler, 1); // same contents as a
  for (let i = 0; i < pages; i++) z.write(i, 0, new Uint8Array(PAGE_SIZE));
  const fa = frames(a), fb = frames(b), fz = frames(z);
  const mem = hv.memory;
  const hasher = new PageHasher(mem);
  let sink = 0;
  m.hashPage = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) hasher.hashFrame(i, fa[i]!); sink ^= hasher.lo; });
  m.compareBase = time(pages - 1, () => {}, () => { for (let i = 1; i < pages; i++) sink ^= mem.compareFrames(fa[i]!, fa[i - 1]!); });
  const equal = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) sink ^= mem.compareFrames(fa[i]!, fb[i]!); });
  m.compareByte = Math.max(0, equal - m.compareBase) / (2 * PAGE_SIZE);
  m.zeroCheck = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) sink ^= +mem.isZeroFrameContent(fz[i]!); });
  m.pageCopy = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) mem.copyFrame(fa[i]!, fz[i]!); });
  const seg = mem.segments[0]!;
  m.visitPage = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) sink ^= seg[mem.byteOffset(fb[i]!)]!; });
  const full = filler.named(999_999);
  m.writeByte = time(pages, () => {}, () => { for (let i = 0; i < pages; i++) a.write(i, 0, full); }) / PAGE_SIZE;
  if (sink === 0.5) console.log(sink);
}

/** merge (HVM and PV, their difference = ptUpdate) and the CoW break (needs m.pageCopy). */
function measureMergeAndCow(pages: number, filler: PageFiller, m: Measured): void {
  const one = new Uint8Array(1).fill(1);
  const shareCost = (mode: "hvm" | "pv") => {
    let hv!: Hypervisor, a!: Guest, b!: Guest;
    return time(pages, () => {
      hv = new Hypervisor({ frames: 2 * pages + 16 });
      a = hv.createGuest({ pages, mode });
      b = hv.createGuest({ pages, mode });
      fillGuest(a, pages, filler, 1);
      fillGuest(b, pages, filler, 1);
    }, () => { for (let i = 0; i < pages; i++) hv.share(a, i, b, i); });
  };
  const hvm = shareCost("hvm");
  const pv = shareCost("pv");
  m.merge = hvm;
  m.ptUpdate = Math.max(0, pv - hvm);
  let hv!: Hypervisor, a!: Guest, b!: Guest;
  const setup = () => {
    hv = new Hypervisor({ frames: 2 * pages + 16 });
    a = hv.createGuest({ pages });
    b = hv.createGuest({ pages });
    fillGuest(a, pages, filler, 1);
    fillGuest(b, pages, filler, 1);
  };
  const cow = time(pages, () => { setup(); for (let i = 0; i < pages; i++) hv.share(a, i, b, i); }, () => { for (let i = 0; i < pages; i++) b.write(i, 0, one); });
  const plain = time(pages, setup, () => { for (let i = 0; i < pages; i++) b.write(i, 0, one); });
  m.cowTrap = Math.max(0, cow - plain - m.pageCopy!);
}

/** An open-addressing probe of a 32-bit key in a typed array at 50% load. */
function measureLookup(m: Measured): void {
  const size = 1 << 16;
  const mask = 2 * size - 1;
  const table = new Uint32Array(2 * size); // 0 = empty
  const keys = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    const k = (keys[i] = (Math.imul(i + 1, 0x9e3779b1) >>> 0) | 1);
    let j = Math.imul(k, 0x85ebca6b) >>> 15;
    while (table[j & mask] !== 0) j++;
    table[j & mask] = k;
  }
  let hits = 0;
  m.lookup = time(size, () => {}, () => {
    for (let i = 0; i < size; i++) {
      const k = keys[(i * 7919) & (size - 1)]!;
      let j = Math.imul(k, 0x85ebca6b) >>> 15;
      while (table[j & mask] !== k && table[j & mask] !== 0) j++;
      hits += j & 1;
    }
  });
  if (hits < 0) console.log(hits);
}

export function calibrate(pages = 16384, base = loadCalibration()): Calibration {
  const filler = new PageFiller(7);
  const m: Measured = {};
  measureMemoryOps(pages, filler, m);
  measureMergeAndCow(pages, filler, m);
  measureLookup(m);
  const when = new Date().toISOString().slice(0, 10);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const constants = {} as Calibration["constants"];
  for (const k of COST_KEYS) {
    const v = m[k];
    constants[k] = v === undefined
      ? { ns: base.constants[k].ns, source: `${base.constants[k].source} (kept from calibration "${base.name}": not measurable from JavaScript)` }
      : { ns: +v.toFixed(4), source: `measured by \`vmdedup calibrate\` on ${when}, ${cpus().length} x ${cpu}, Bun ${Bun.version}, over ${pages} pages (median of 5 rounds)` };
  }
  const host = calibrateHost(2048, when, `${cpus().length} x ${cpu}`);
  return { name: `measured-${when}`, description: `Measured on this host by timing the hv/dedup code paths; see src/sim/calibrate.ts.`, constants, host };
}
