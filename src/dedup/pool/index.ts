/**
 * The hashing worker pool (issue 4). createFrameHasher picks the hasher of a scanner: the calling
 * thread for workers: 0 and for a fingerprintOverride (a JS function that cannot run in a
 * worker); else a WorkerPool hashing ahead of the scanner's visit order (workers start at the
 * first chunk there is to hash), peeking the scanner's VisitOrder through its HashAheadFilter.
 * Ascending orders are matched by slot range, esx's shuffled order by position.
 */
import type { MachineMemory } from "../../hypervisor/index.ts";
import { PageHasher, type FrameHasher, type FingerprintFn } from "../fingerprint.ts";
import type { HashAheadFilter, VisitOrder } from "../visit-order.ts";
import { warnIfMoreThanCores } from "./pool-config.ts";
import { WorkerPool } from "./worker-pool.ts";
import type { PartitionEngine } from "../hash/partition-engine.ts";

export { WorkerPool } from "./worker-pool.ts";
export { DEFAULT_CHUNK, resetCoreWarning, type PoolCounters, type PoolOptions } from "./pool-config.ts";

export function createFrameHasher(
  memory: MachineMemory,
  opts: { workers: number; fingerprintOverride?: FingerprintFn },
  order: VisitOrder,
  filter: HashAheadFilter,
): FrameHasher {
  warnIfMoreThanCores(opts.workers);
  if (opts.workers === 0 || opts.fingerprintOverride) return new PageHasher(memory, opts.fingerprintOverride);
  return new WorkerPool(memory, order, filter, { workers: opts.workers });
}

/** The partition engine of a scanner (vmdedup with workers), or null (tests and benchmarks). */
export function partitionEngineOf(scanner: object): PartitionEngine | null {
  const f = (scanner as { partitionEngine?: () => PartitionEngine | null }).partitionEngine;
  return typeof f === "function" ? f.call(scanner) : null;
}

/** The pool of a scanner, or null when it hashes in its own thread (tests and benchmarks). */
export function poolOf(scanner: object): WorkerPool | null {
  const h = (scanner as { hasher?: unknown }).hasher;
  return h instanceof WorkerPool ? h : null;
}
