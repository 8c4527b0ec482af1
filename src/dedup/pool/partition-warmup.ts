/**
 * A partition worker's warm-up (issue 13, part 3): before it reports "ready", a partition worker
 * runs the partitioned batch code (PartitionExec's phase H and phase P, the engine's apply) on a
 * small private image of its own, so that its JavaScript engine has compiled that code before the
 * first real batch. Each worker is a fresh JavaScript VM: without this, the first real batches
 * ran its executor in the interpreter and baseline tiers while the JIT threads compiled it on the
 * same cores (measured on the 1 GiB mix, 2 cores: 60-90 ms of JIT-thread CPU and a slower worker
 * inside the first merging pass, about a third of the partitioned pass's CPU). The warm-up is
 * part of the scanner's start-up (engine.started() waits for it); a batch posted before it ends
 * is done by the other executors (the worker sees the batch closed and leaves it).
 *
 * What it runs: vmdedup and then esx, each a scanner over a private 2,048-page mix (8 MiB;
 * duplicates, unique pages, zero pages) whose engine runs every batch of 256 pages or more in
 * partitions on this thread alone (no workers of its own, hashing inline), first passes and then
 * passes after rewrites (changed pages, CoW breaks), so every branch the real batches take
 * often is compiled. It changes nothing outside itself: its hypervisor is its own, discarded after.
 */
import { Hypervisor } from "../../hypervisor/index.ts";
import { composeScanner, resolveScannerOptions } from "../create-scanner.ts";
import { PageHasher } from "../fingerprint.ts";
import { buildMixImage, fillContent } from "../mix-image.ts";
import { partitionEngineOf } from "./index.ts";

const PAGES = 2048;
const BATCH = 512;
const PASSES = 6;

/** Runs the warm-up (synchronously apart from resolved awaits); returns the visits it made. */
export async function warmUpPartitions(): Promise<number> {
  let visits = 0;
  const page = new Uint8Array(4096);
  for (const policy of ["vmdedup", "esx"] as const) {
    const hv = new Hypervisor({ frames: PAGES + 16 });
    const guests = buildMixImage(hv, { pages: PAGES, guests: 4, contents: 64, name: "warm" });
    for (let i = 0; i < PAGES / 4; i += 16) guests[i % 4]!.write(i, 0, fillContent(0, page));
    const s = composeScanner(hv, resolveScannerOptions({ policy, workers: 1, pagesToScan: BATCH, sleepMillisecs: 0 }), () => new PageHasher(hv.memory));
    const eng = partitionEngineOf(s);
    if (!eng) return visits;
    eng.spawnWorkers = false;
    eng.adaptive = false;
    eng.minBatch = 256;
    for (let pass = 0; pass < PASSES; pass++) {
      await s.fullScans(1);
      visits += PAGES;
      // rewrites: some pages to a new content, some to a duplicate, some to the same bytes
      for (let i = pass; i < PAGES / 4; i += 7) guests[(i + pass) % 4]!.write(i, 0, fillContent(i % 3 === 0 ? 1 + (i % 64) : 10_000 * (pass + 1) + i, page));
    }
    await s.close();
  }
  return visits;
}
