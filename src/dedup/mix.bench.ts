#!/usr/bin/env bun
/**
 * Scanner benchmark on the "1 GiB mix" (issue 3): 262,144 pages in 4 guests, half of them copies
 * of 2,048 contents, half unique. For each policy: CPU time and pages/s of the passes until full
 * savings (pagesSharing unchanged over two passes), then of one steady-state pass after 1% of the
 * pages were rewritten, and of a full re-hash pass (a fresh scanner over the same memory).
 * pagesToScan 20000, as the kernel reference ran ksmd at full speed. CPU times are the process's
 * (they include Bun's GC helper threads); wall times of the single scanner thread are given too.
 * Reference (measured on this machine class, real KSM, smart_scan on): about 1.5 s of ksmd CPU over
 * two passes to merge the mix, then re-scans at about 2.4 M pages/s. With --workers, the workers
 * are started (and the partition workers warmed up) before the clock starts.
 *
 *   bun src/dedup/mix.bench.ts [--pages 262144] [--policies vmdedup,ksm,esx] [--workers 0] [--out file.json]
 */
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { Hypervisor } from "../hypervisor/index.ts";
import { createScanner, type Policy } from "./index.ts";
import { buildMixImage } from "./mix-image.ts";
import { partitionEngineOf, poolOf } from "./pool/index.ts";

const { values } = parseArgs({
  options: {
    pages: { type: "string", default: "262144" },
    policies: { type: "string", default: "vmdedup,ksm,esx" },
    workers: { type: "string", default: "0" },
    out: { type: "string" },
  },
});
const PAGES = Number(values.pages);
const GUESTS = 4;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const rows: Record<string, unknown>[] = [];
// warm-up (not recorded): every policy's whole sequence once on a 65,536-page mix, so that no
// measured pass pays the JIT's first compile of a code path (the serial hashing path, say, is
// first run by a partitioned scanner in its 1%-dirty pass)
for (const policy of values.policies!.split(",") as Policy[]) await measure(policy, 65_536);
for (const policy of values.policies!.split(",") as Policy[]) {
  const row = await measure(policy, PAGES);
  rows.push(row);
  console.log(JSON.stringify(row));
}
if (values.out) writeFileSync(values.out, JSON.stringify({ pages: PAGES, rows }, null, 2) + "\n");

async function measure(policy: Policy, PAGES: number): Promise<Record<string, unknown>> {
  const hv = new Hypervisor({ frames: PAGES + 1024 });
  const guests = buildMixImage(hv, { pages: PAGES, guests: GUESTS });
  const s = createScanner(hv, { policy, pagesToScan: 20000, sleepMillisecs: 0, workers: Number(values.workers) });
  // with workers: their start-up (and the partition workers' warm-up) before the clock, as in pool.bench.ts
  await poolOf(s)?.started();
  await partitionEngineOf(s)?.started();
  const t0 = cpuMs();
  const w0 = performance.now();
  let passes = 0;
  let last = -1;
  let stable = 0;
  while (stable < 2 && passes < 20) {
    await s.fullScans(1);
    passes++;
    const sharing = s.stats().pagesSharing;
    stable = sharing === last ? stable + 1 : 0;
    last = sharing;
  }
  const mergeCpuMs = cpuMs() - t0;
  const mergeWallMs = performance.now() - w0;
  const scannedToMerge = s.stats().pagesScanned;
  // 1% rewritten: same bytes again at offset 8 (changes the write generation, keeps content unique)
  const per = PAGES / GUESTS;
  let k = 0;
  for (let i = 0; i < PAGES; i += 100, k++) guests[i % GUESTS]!.write(Math.floor(i / GUESTS) % per, 8, new Uint8Array([k & 0xff, 1]));
  const scannedBefore = s.stats().pagesScanned;
  const t1 = cpuMs();
  const wd = performance.now();
  await s.fullScans(1);
  const dirtyWallMs = performance.now() - wd;
  const dirtyCpuMs = cpuMs() - t1;
  const dirtyScanned = s.stats().pagesScanned - scannedBefore;
  const st = s.stats();
  const work = s.work();
  hv.audit();
  await s.close();
  // full re-hash pass: a fresh scanner of the same policy visits (and hashes) every page once
  const fresh = createScanner(hv, { policy, pagesToScan: 20000, sleepMillisecs: 0, workers: Number(values.workers) });
  await poolOf(fresh)?.started();
  await partitionEngineOf(fresh)?.started();
  const t2 = cpuMs();
  const wf = performance.now();
  await fresh.fullScans(1);
  const fullPassWallMs = performance.now() - wf;
  const fullPassCpuMs = cpuMs() - t2;
  const fullPassScanned = fresh.stats().pagesScanned;
  await fresh.close();
  const row = {
    policy,
    passesToFullSavings: passes,
    mergeCpuMs: Math.round(mergeCpuMs),
    mergeWallMs: Math.round(mergeWallMs),
    mergePagesPerSec: Math.round(scannedToMerge / (mergeCpuMs / 1000)),
    dirtyPassCpuMs: Math.round(dirtyCpuMs),
    dirtyPassWallMs: Math.round(dirtyWallMs * 10) / 10,
    dirtyPassPagesPerSec: Math.round(dirtyScanned / (dirtyCpuMs / 1000)),
    fullRehashPassCpuMs: Math.round(fullPassCpuMs),
    fullRehashPagesPerSec: Math.round(fullPassScanned / (fullPassCpuMs / 1000)),
    fullRehashPassWallMs: Math.round(fullPassWallMs),
    // wall time: with workers 0 the scanner is one thread; process CPU also counts GC helper threads
    fullRehashOverDirtyPass: Number((fullPassWallMs / dirtyWallMs).toFixed(1)),
    pagesSharing: st.pagesSharing,
    pagesShared: st.pagesShared,
    pagesHashed: work.pagesHashed,
  };
  hv.audit();
  return row;
}
