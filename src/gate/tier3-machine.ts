/**
 * Gate tier 3, ratios to the machine: the vmdedup scanner's pages/s on a full re-hash pass, as a
 * fraction of this machine's sequential read bandwidth measured in the same run over the same
 * bytes. A fraction, not a time, so it is comparable across machines and tracked in the
 * verdict; the floor (default 25%) catches a collapse, not a few percent.
 *
 * Algorithm.
 *  1. Build the "mix" of src/dedup/mix.bench.ts at MIX_PAGES pages (4 guests; half the pages
 *     copies of 2,048 contents, half unique), then let a vmdedup scanner merge it (2 passes,
 *     untimed) and close it: the host is in steady state, as after a day of dedup.
 *  2. `reps` times, alternating the two measurements:
 *       read: Bun.hash.crc32 over the MIX_PAGES x 4 KiB of machine memory the pages were
 *             written into, in one native call (the machine's sequential read ceiling, ~10-13
 *             GB/s on this machine class, see limits.md Q1);
 *       scan: a fresh vmdedup scanner (so every page is visited and hashed once: the "full
 *             re-hash pass" of mix.bench.ts), fullScans(1), wall time.
 *     Each side's estimate is its fastest repetition (interference only adds time).
 *  3. fraction = (MIX_PAGES / scan s) / (MIX_PAGES / read s); pass when fraction >= floor.
 */
import { buildMixImage } from "../dedup/mix-image.ts";
import { createScanner } from "../dedup/index.ts";
import { Hypervisor, PAGE_SIZE } from "../hypervisor/index.ts";
import type { TierVerdict } from "./verdict.ts";
import { table } from "./verdict.ts";

export const MIX_PAGES = 65536; // 256 MiB
/** Scanner pages/s must be at least this fraction of the read bandwidth. */
export const MACHINE_RATIO_FLOOR = 0.25;
const GUESTS = 4;

export interface MachineRatio {
  pages: number;
  readPagesPerSec: number;
  readGBps: number;
  scanPagesPerSec: number;
  fraction: number;
  readMs: number[];
  scanMs: number[];
}

function buildMix(hv: Hypervisor, pages: number): void {
  buildMixImage(hv, { pages, guests: GUESTS });
}

export async function measureMachineRatio(reps = 7, pages = MIX_PAGES): Promise<MachineRatio> {
  const hv = new Hypervisor({ frames: pages + 1024 });
  buildMix(hv, pages);
  const bytes = hv.memory.segments[0]!.subarray(0, pages * PAGE_SIZE); // frames 0..pages-1: where the pages were written
  const warm = createScanner(hv, { policy: "vmdedup", pagesToScan: 20000, sleepMillisecs: 0 });
  await warm.fullScans(2);
  await warm.close();
  const readMs: number[] = [];
  const scanMs: number[] = [];
  let sink = 0;
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    sink ^= Bun.hash.crc32(bytes);
    readMs.push(performance.now() - t);
    const s = createScanner(hv, { policy: "vmdedup", pagesToScan: 20000, sleepMillisecs: 0 });
    t = performance.now();
    await s.fullScans(1);
    scanMs.push(performance.now() - t);
    const visited = s.stats().pagesScanned;
    await s.close();
    if (visited !== pages) throw new Error(`the re-hash pass visited ${visited} of ${pages} pages`);
  }
  if (sink === 0.5) console.log(sink); // keeps the reads alive
  const readS = Math.min(...readMs) / 1000;
  const scanS = Math.min(...scanMs) / 1000;
  const readPagesPerSec = pages / readS;
  const scanPagesPerSec = pages / scanS;
  return {
    pages, readPagesPerSec: Math.round(readPagesPerSec), readGBps: Math.round((pages * PAGE_SIZE) / readS / 1e7) / 100,
    scanPagesPerSec: Math.round(scanPagesPerSec), fraction: Math.round((scanPagesPerSec / readPagesPerSec) * 10000) / 10000,
    readMs: readMs.map((x) => Math.round(x * 100) / 100), scanMs: scanMs.map((x) => Math.round(x * 100) / 100),
  };
}

/** Tier 3 as the gate runs it. */
export async function runMachineTier(o: { floor?: number; reps?: number; pages?: number } = {}): Promise<TierVerdict> {
  const t0 = performance.now();
  const floor = o.floor ?? MACHINE_RATIO_FLOOR;
  const name = "tier 3: ratio to the machine";
  let m: MachineRatio;
  try {
    m = await measureMachineRatio(o.reps ?? 15, o.pages ?? MIX_PAGES);
  } catch (e) {
    return { name, status: "fail", couldNotRun: true, summary: `measurement failed: ${(e as Error).message}`, wallSec: (performance.now() - t0) / 1000, report: [] };
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const report = table(
    ["measure", "pages/s", "note"],
    [
      ["sequential read (crc32)", m.readPagesPerSec.toLocaleString("en-US"), `${m.readGBps} GB/s, best of ${m.readMs.length}`],
      ["vmdedup full re-hash pass", m.scanPagesPerSec.toLocaleString("en-US"), `best of ${m.scanMs.length}, ${m.pages} pages (4 guests, half duplicates)`],
    ],
  );
  report.push(`scanner / read = ${pct(m.fraction)} (floor ${pct(floor)})`);
  const ok = m.fraction >= floor;
  return {
    name, status: ok ? "pass" : "fail",
    summary: `scanner at ${pct(m.fraction)} of the sequential read bandwidth (${ok ? "floor" : "below the floor of"} ${pct(floor)})`,
    details: { floor, ...m }, wallSec: (performance.now() - t0) / 1000, report,
  };
}
