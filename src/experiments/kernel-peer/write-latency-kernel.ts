/**
 * Real write latencies of merged and unmerged pages on this host's KSM, the way the kernel's
 * selftest `ksm_tests -C` measures them (tools/testing/selftests/mm/ksm_tests.c, ksm_cow_time):
 * one anonymous mapping of 2 x PAIRS pages (MADV_MERGEABLE, no THP: kernel-memory.ts);
 *   1. unmerged: every page holds distinct bytes (so nothing can merge; KSM is off meanwhile);
 *      one one-byte store to every other page, each store timed on its own;
 *   2. merged: the pages become PAIRS pairs of duplicate pages (pair i: '+' x (i + 1) bytes, as
 *      ksm_tests fills them), KSM runs (pages_to_scan = all pages, 10 ms sleeps) until nearly
 *      every pair is merged (pages_sharing), then one store to the first page of each pair,
 *      timed: each takes the copy-on-write fault of a KSM page.
 * Rounds repeat this on fresh mappings. Each store is timed with Bun.nanoseconds() around it; the
 * median cost of an empty timed pair (timer overhead) is subtracted from every sample.
 * Departures from ksm_tests: it times the 2000 stores of a phase as one interval (an average);
 * we time each store (a distribution). It waits with ksm_merge_pages' full scans; we wait for
 * pages_sharing (and check, between polls, that nobody else uses KSM: KsmSysfs.assertStillOurs).
 * The host's KSM knobs are claimed (refused when KSM is in use: run != 0 or pages merged) and
 * restored exactly as found (KsmSysfs.restore, also on a signal or exit).
 */
import { cpus } from "node:os";
import { KsmSysfs, type KsmSysfsOptions } from "./ksm-sysfs.ts";
import { MmapMemory } from "./kernel-memory.ts";

export const KSM_TESTS_PAIRS = 2000;
const PAGE = 4096;

export interface KernelWriteLatency {
  /** ns per store, timer overhead subtracted; one per unmerged (merged) page timed. */
  unmergedNs: Float64Array;
  mergedNs: Float64Array;
  timerOverheadNs: number;
  pairs: number;
  rounds: number;
  /** Share of the pairs KSM had merged when the merged stores were timed (lowest over rounds). */
  mergedShare: number;
  /** The knobs as found (claim) and as left (after restore): equal when restore worked. */
  knobsFound: Record<string, string>;
  knobsLeft: Record<string, string>;
  host: string;
}

function timerOverhead(): number {
  const xs = new Float64Array(20001);
  for (let i = 0; i < xs.length; i++) {
    const t0 = Bun.nanoseconds();
    xs[i] = Bun.nanoseconds() - t0;
  }
  return xs.sort()[xs.length >> 1]!;
}

/** Times one one-byte store to page `first + k * step` for k < n, into out[at..]. */
function timeStores(mem: MmapMemory, first: number, step: number, n: number, out: Float64Array, at: number, overhead: number): void {
  for (let k = 0; k < n; k++) {
    const p = mem.page(first + k * step);
    const t0 = Bun.nanoseconds();
    p[0] = 0x2d; // '-', as ksm_tests writes
    out[at + k] = Bun.nanoseconds() - t0 - overhead;
  }
}

async function waitMerged(sysfs: KsmSysfs, pairs: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    await Bun.sleep(20);
    sysfs.assertStillOurs({ counters: false }); // ksmd runs: the counts are checked once it is stopped
    const sharing = sysfs.readNumber("pages_sharing");
    if (sharing >= pairs * 0.995 || performance.now() - t0 > timeoutMs) return Math.min(1, sharing / pairs);
  }
}

function knobs(sysfs: KsmSysfs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["run", "pages_to_scan", "sleep_millisecs", "use_zero_pages", "smart_scan", "max_page_sharing", "merge_across_nodes", "stable_node_chains_prune_millisecs"])
    try {
      out[k] = sysfs.readText(k);
    } catch {
      /* absent on this kernel */
    }
  return out;
}

/** Measures (throws KsmUnavailableError, changing nothing, when KSM is missing, not writable or in use). */
export async function measureKernelWriteLatency(o: { pairs?: number; rounds?: number; sysfs?: KsmSysfsOptions; mergeTimeoutMs?: number } = {}): Promise<KernelWriteLatency> {
  const pairs = o.pairs ?? KSM_TESTS_PAIRS;
  const rounds = o.rounds ?? 5;
  const sysfs = new KsmSysfs(o.sysfs);
  sysfs.claim();
  const knobsFound = knobs(sysfs);
  const unmergedNs = new Float64Array(pairs * rounds);
  const mergedNs = new Float64Array(pairs * rounds);
  let mergedShare = 1;
  const overhead = timerOverhead();
  try {
    sysfs.set("use_zero_pages", 0);
    sysfs.set("pages_to_scan", 2 * pairs);
    sysfs.set("sleep_millisecs", 10);
    for (let r = 0; r < rounds; r++) {
      const mem = new MmapMemory(2 * pairs);
      try {
        const words = new Uint32Array(PAGE / 4);
        for (let i = 0; i < 2 * pairs; i++) {
          words.fill(0x2a2a2a2a); // '*'
          words[0] = i + 1; // distinct: never merged
          words[1] = r;
          mem.page(i).set(new Uint8Array(words.buffer));
        }
        timeStores(mem, 0, 2, pairs, unmergedNs, r * pairs, overhead);
        for (let i = 0; i < pairs; i++) {
          for (const p of [mem.page(2 * i), mem.page(2 * i + 1)]) {
            p.fill(0);
            p.fill(0x2b, 0, i + 1); // '+' x (i + 1), as ksm_tests fills pair i
          }
        }
        sysfs.set("run", 1);
        mergedShare = Math.min(mergedShare, await waitMerged(sysfs, pairs, o.mergeTimeoutMs ?? 60_000));
        sysfs.set("run", 0); // ksmd idle while we time (the merged pages stay merged)
        await Bun.sleep(50); // let ksmd finish the batch it was in
        sysfs.assertStillOurs();
        timeStores(mem, 0, 2, pairs, mergedNs, r * pairs, overhead);
      } finally {
        mem.release();
      }
      sysfs.set("run", 2); // unmerge what is left before the next round
      sysfs.set("run", 0);
    }
  } finally {
    sysfs.restore();
  }
  return {
    unmergedNs, mergedNs, timerOverheadNs: overhead, pairs, rounds, mergedShare, knobsFound, knobsLeft: knobs(sysfs),
    host: `${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${(await Bun.file("/proc/sys/kernel/osrelease").text().catch(() => "?")).trim()}`,
  };
}
