/**
 * The worker pool's shared-memory protocol (both sides import this file).
 *
 * Memory. Workers get hv.memory.handles() once (the 1 GiB frame segments and the frameWriteGen
 * array, all SharedArrayBuffers) and read frames in place. Everything else they exchange with the
 * owner (the scanner's thread) lives in ONE SharedArrayBuffer per pool incarnation (a fault
 * replaces it, see worker-pool.ts), laid out as:
 *
 *   ctl     Int32[HEADER_WORDS]  control words, below
 *   then for each of the two chunk buffers b = 0, 1 (double buffering: workers hash chunk k+1
 *   while the owner consumes chunk k), with C = chunk size (a multiple of SUB = 64):
 *     hash      BigUint64[C]  xxHash3 of the frame (read by the owner as two u32: lo, hi)
 *     frames    Int32[C]      the frame to hash at each position (written by the owner)
 *     expect    Uint32[C]     the frame's write generation when the owner dispatched the chunk
 *     genBefore Uint32[C]     generation the worker read before hashing
 *     genAfter  Uint32[C]     generation the worker read after hashing
 *     done      Int32[C/64]   = the chunk's seq once sub-chunk j (positions 64j..64j+63) is hashed
 *
 * Control words:
 *   WAKE          bumped (and notified) by the owner whenever it opens a chunk; idle workers
 *                 Atomics.wait on it.
 *   STOP          1: workers exit their loop (close()).
 *   READY         number of workers that started (the owner hashes inline until one has).
 *   FAULT_*       test hook: worker FAULT_WORKER dies (throw / process.exit) in the middle of its
 *                 FAULT_AFTER-th sub-chunk.
 *   per buffer b: CUR (claim cursor), NSUB, N, SEQ.
 *   per worker w: CLAIM_SEQ/CLAIM_B/CLAIM_J, the sub-chunk it is hashing (CLAIM_SEQ 0 = none),
 *                 so that the owner can re-run the sub-chunk of a worker that died.
 *
 * Work distribution. The owner fills frames/expect of a closed buffer, stores N, NSUB and a new
 * SEQ (unique, increasing), then opens it by storing CUR = 0, bumps WAKE and notifies. A worker
 * claims sub-chunk j = Atomics.add(CUR, 1); j < NSUB is its alone. Workers take the older open
 * chunk first. After hashing it stores done[j] = SEQ and notifies (the owner may wait on it). The
 * owner closes a buffer with old = Atomics.exchange(CUR, CLOSED): the claims made are
 * min(old, NSUB), and the buffer is reused only after all of them are done, so no worker ever
 * writes into a chunk that is being refilled.
 *
 * Validity. The hash at position i is used for a visit of (slot, frame) only if the chunk put
 * that slot there, frames[i] is that frame, and genBefore[i] = genAfter[i] = expect[i] = the
 * frame's generation at the visit. Every change of a frame's bytes bumps its generation in the
 * same synchronous hypervisor call, and the worker hashed between dispatch and visit; so if the
 * generation is the same at dispatch and at visit, the bytes did not change in between, and the
 * hash is the hash of the bytes the owner sees. Otherwise the owner hashes inline.
 */

export const SUB = 64; // pages per sub-chunk (claim unit): best in limits.md Q5
export const SUB_SHIFT = 6;
export const CLOSED = 1 << 30; // CUR of a closed buffer (adds on it never reach NSUB)
export const MAX_POOL_WORKERS = 64;

export const WAKE = 0;
export const STOP = 1;
export const READY = 2;
export const FAULT_WORKER = 3;
export const FAULT_AFTER = 4;
export const FAULT_KIND = 5; // 1: throw, 2: process.exit
const BUF_BASE = 8; // 4 words per buffer
export const CUR = 0;
export const NSUB = 1;
export const N = 2;
export const SEQ = 3;
const WORKER_BASE = 16; // 3 words per worker
export const HEADER_WORDS = 256;

export const bufWord = (b: number, w: number): number => BUF_BASE + b * 4 + w;
export const claimSeqWord = (w: number): number => WORKER_BASE + w * 3;
export const claimBWord = (w: number): number => WORKER_BASE + w * 3 + 1;
export const claimJWord = (w: number): number => WORKER_BASE + w * 3 + 2;

export const FAULT_THROW = 1;
export const FAULT_EXIT = 2;

export interface ChunkViews {
  hash: BigUint64Array;
  hash32: Uint32Array; // alias of hash: lo = [2i], hi = [2i + 1] (little-endian)
  frames: Int32Array;
  expect: Uint32Array;
  genBefore: Uint32Array;
  genAfter: Uint32Array;
  done: Int32Array;
}

export interface PoolViews {
  ctl: Int32Array;
  bufs: [ChunkViews, ChunkViews];
}

function bufferBytes(chunk: number): number {
  return chunk * (8 + 4 + 4 + 4 + 4) + (chunk / SUB) * 4;
}

export function poolBufferBytes(chunk: number): number {
  return HEADER_WORDS * 4 + 2 * bufferBytes(chunk);
}

export function checkChunk(chunk: number): void {
  if (!Number.isInteger(chunk) || chunk < SUB || chunk % SUB !== 0 || chunk > 1 << 20)
    throw new RangeError(`chunk size must be a multiple of ${SUB} from ${SUB} to ${1 << 20}, got ${chunk}`);
}

export function poolViews(sab: SharedArrayBuffer, chunk: number): PoolViews {
  const ctl = new Int32Array(sab, 0, HEADER_WORDS);
  const one = (base: number): ChunkViews => {
    let o = base;
    const hash = new BigUint64Array(sab, o, chunk);
    const hash32 = new Uint32Array(sab, o, chunk * 2);
    o += chunk * 8;
    const frames = new Int32Array(sab, o, chunk);
    o += chunk * 4;
    const expect = new Uint32Array(sab, o, chunk);
    o += chunk * 4;
    const genBefore = new Uint32Array(sab, o, chunk);
    o += chunk * 4;
    const genAfter = new Uint32Array(sab, o, chunk);
    o += chunk * 4;
    const done = new Int32Array(sab, o, chunk / SUB);
    return { hash, hash32, frames, expect, genBefore, genAfter, done };
  };
  const b0 = HEADER_WORDS * 4;
  return { ctl, bufs: [one(b0), one(b0 + bufferBytes(chunk))] };
}

/** Segment views of machine memory (frame f: segment f >>> 18, byte (f & 0x3ffff) << 12). */
export interface FrameReader {
  segments: Uint8Array[];
  gen: Uint32Array;
}

/**
 * Hashes positions [from, to) of a chunk: generation before, xxHash3 of the frame in place,
 * generation after. A frame whose generation is no longer the dispatched one is not hashed
 * (its result could not be used). Used by workers and by the owner re-running a dead worker's
 * sub-chunk.
 */
export function hashRange(mem: FrameReader, v: ChunkViews, from: number, to: number): void {
  const { frames, expect, hash, genBefore, genAfter } = v;
  const segs = mem.segments;
  const gen = mem.gen;
  for (let i = from; i < to; i++) {
    const f = frames[i]!;
    const g0 = Atomics.load(gen, f);
    genBefore[i] = g0;
    if (g0 !== expect[i]) {
      genAfter[i] = g0;
      continue;
    }
    const off = (f & 0x3ffff) << 12;
    hash[i] = Bun.hash.xxHash3(segs[f >>> 18]!.subarray(off, off + 4096));
    genAfter[i] = Atomics.load(gen, f);
  }
}
