/**
 * The worker pool's tuning constants, options and counters (see worker-pool.ts for the algorithm).
 */
/** Non-ascending orders: how far ahead of its pointer the pool looks for a requested slot, and how
 * many requests in a row may miss before it concludes it is out of step and resyncs. */
export const MATCH_WINDOW = 16;
export const MISSES_BEFORE_RESYNC = 128;

/** A peek examines at most this many chunks' worth of page slots: when few pages would hash
 * (a steady pass re-hashes only written pages) it stops there instead of walking all memory. */
export const PEEK_WINDOW_CHUNKS = 4;

export interface PoolOptions {
  workers: number;
  chunk?: number; // pages per chunk, multiple of 64 (default DEFAULT_CHUNK)
  faultMillis?: number; // give up waiting on a sub-chunk after this long (default 250)
}

/**
 * Pages per chunk. Measured (pool.bench.ts, raw re-hash of 1 GiB, 2 workers, 5 interleaved rounds):
 * 1024 -> 1.73 M pages/s, 4096 -> 1.85 M, 16384 -> 2.34 M; owner dispatch cost is 1-1.6% of a
 * chunk at every size, so the larger chunk wins by amortising the pipeline stalls (worker wake-up
 * ~100 us, owner catching up at chunk ends). 2 x 16384 positions x 24 B = 0.8 MB of shared buffer.
 */
export const DEFAULT_CHUNK = 16384;

/** The pool's counters (pool.counters, read-only outside the pool), all since its creation. */
export interface PoolCounters {
  /** hashFrame calls served from a worker's (or the owner's pre-hashed) result. */
  hits: number;
  /** hashFrame calls hashed inline (not peeked, stale, or no incarnation up). */
  misses: number;
  /** Chunks dispatched (peeked and opened to the workers). */
  chunks: number;
  /** Times the owner dropped both chunks and peeked afresh (out of step, or backing off). */
  resyncs: number;
  /** Workers replaced after a fault (one per dead worker, or one per rebuild of the whole pool). */
  restarts: number;
  /** Times the owner had to wait for a sub-chunk a worker was hashing. */
  waits: number;
  /** Sub-chunks the owner claimed and hashed itself (it had caught up with the workers). */
  ownerSubchunks: number;
  /** Owner wall-clock time spent peeking and dispatching chunks, ns (measured, not deterministic). */
  dispatchNs: number;
}

let warnedCores = false;
/** Warns once per process when `workers` exceeds the cores (allowed: it just does not help). */
export function warnIfMoreThanCores(workers: number): void {
  const cores = navigator.hardwareConcurrency;
  if (workers > cores && !warnedCores) {
    warnedCores = true;
    console.warn(`vmdedup: workers: ${workers} is more than the ${cores} cores of this machine; hashing will not get faster`);
  }
}

/** Test hook: warn again about more workers than cores. */
export function resetCoreWarning(): void {
  warnedCores = false;
}

/** One of the pool's two chunks of upcoming visits (owner-private bookkeeping; the shared part is in protocol.ts). */
export interface Chunk {
  slots: Int32Array; // owner-private: the slot of each position
  n: number;
  seq: number; // 0: not open
  ptr: number;
  passEnd: boolean; // the pass ends after the last position
  nextAfter: number; // not passEnd: peek the next chunk after this position of the order
}
