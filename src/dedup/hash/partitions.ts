/**
 * Partitions of the hash policies' index by content fingerprint (issue 13, part 3): a
 * fingerprint's partition is a mix of both its halves modulo the partition count, independent of
 * the bucket a table puts it in (HashIndex.home mixes differently), so each partition's table is
 * filled as evenly as a whole one. Equal contents have equal fingerprints, so they always land in
 * the same partition, and each partition can decide its merges alone (partition-exec.ts).
 *
 * The count. One when the scanner hashes on its own thread (workers 0, or a fingerprintOverride,
 * a JS function no worker can run); otherwise twice the threads that execute partitions (the
 * workers and the scanner's thread), so that an uneven split (the zero page's partition on a
 * real guest) still balances. The count changes no result: a key's entries are met in insertion
 * order in any table (hash-index.ts, "Per-key order").
 */
import type { ResolvedScannerOptions } from "../types.ts";

export function partitionCount(o: Pick<ResolvedScannerOptions, "workers" | "fingerprintOverride">): number {
  return o.workers === 0 || o.fingerprintOverride ? 1 : 2 * (o.workers + 1);
}

/** The partition (0 .. n-1) of fingerprint (hi, lo). */
export function partitionOf(hi: number, lo: number, n: number): number {
  return (Math.imul(hi ^ Math.imul(lo, 0x85ebca6b), 0xc2b2ae35) >>> 0) % n;
}
