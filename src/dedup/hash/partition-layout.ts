/**
 * The shared-memory layout of a partitioned batch (partition-exec.ts runs it, partition-engine.ts
 * owns it): one SharedArrayBuffer per capacity holds the control words and, per visit position
 * of the batch, what the owner listed, what phase H classified and hashed, and the hypervisor
 * action the partition decided (applied by the owner, in position order).
 *
 * Control words (Int32, ctl[...]): SEQ the batch number; N visits; P partitions; HCUR/HDONE
 * phase H claim cursor / sub-chunks done (64 positions each); PCUR/PDONE phase P claim cursor /
 * partitions done; FAIL 1 = a visit lies outside what partitions decide exactly (the owner runs
 * the batch on its own thread); ENTER executors inside the batch right now (the owner closes a
 * batch by storing SEQ 0, then waits for ENTER 0: no executor is left reading it, and one that
 * comes late sees SEQ is not its batch and leaves); HASHED pages phase H
 * hashed; parameters USE_ZERO, MAX_SHARING, ZERO_HI/ZERO_LO (the zero page's fingerprint),
 * CHAINS (MergedFrames.chainsPossible at the batch's start), ZERO_FRAME, POLICY (0 vmdedup, 1 esx).
 * Per partition p, counts (Float64, res[p * RES_STRIDE + k]): lookups, compares, compareBytes,
 * zeroChecks, then the kind deltas (kindCount[k] += delta) for kinds 0..4, then (esx) the hinted
 * pages re-hashed to validate their hints.
 */
export const SEQ = 0;
export const N = 1;
export const P = 2;
export const HCUR = 3;
export const HDONE = 4;
export const PCUR = 5;
export const PDONE = 6;
export const FAIL = 7;
export const HASHED = 9;
export const USE_ZERO = 10;
export const MAX_SHARING = 11;
export const ZERO_HI = 12;
export const ZERO_LO = 13;
export const CHAINS = 14;
export const ZERO_FRAME = 15;
export const POLICY = 16; // 0 vmdedup, 1 esx
export const ENTER = 17; // executors inside the batch now
const CTL_WORDS = 32;

export const SUB = 64;
export const MAX_PARTITIONS = 256;
export const RES_STRIDE = 16;
export const R_LOOKUPS = 0;
export const R_COMPARES = 1;
export const R_COMPARE_BYTES = 2;
export const R_ZERO_CHECKS = 3;
export const R_KIND = 4; // + kind
export const R_HASHED = 9; // esx: hinted pages re-hashed in phase P

/** Visit classes (phase H). */
export const Cls = {
  /** nothing to do (unchanged and indexed, or merged on a frame still shared, or zero-mapped and seen). */
  NOOP: 0,
  /** hashed: first visit or changed since the last (old entry forgotten in pOld, processed in own);
   * esx: every page not still merged (pOld = own when its fingerprint did not change). */
  HASHED: 1,
  /** unchanged but with work (volatile now stable, waiting for room, merged frame no longer shared). */
  UNCHANGED: 2,
  /** zero-mapped now, with an index entry to forget (in own = pOld). */
  ZERO_FORGET: 3,
  /** zero-mapped now, no entry: only its kind and seen frame change (any partition). */
  ZERO_TRIVIAL: 4,
} as const;

/** Actions (phase P), applied by the owner in position order. */
export const Act = { NONE: 0, ZERO: 1, SHARE: 2, SHARE_HINT: 3 } as const;

export interface BatchViews {
  sab: SharedArrayBuffer;
  capacity: number;
  ctl: Int32Array;
  res: Float64Array;
  vSlot: Int32Array;
  vFrame: Int32Array;
  cls: Uint8Array;
  oldKind: Uint8Array;
  own: Int16Array;
  pOld: Int16Array;
  oldHi: Uint32Array;
  oldLo: Uint32Array;
  oldSeen: Int32Array;
  hHi: Uint32Array;
  hLo: Uint32Array;
  act: Uint8Array;
  aTarget: Int32Array;
  aTGen: Uint32Array;
  aMGen: Uint32Array;
  aKeep: Int32Array;
  aFull: Int32Array;
  /** Phase H's compare while the page was hot: against frame spec[i] (-1: none), equal or not, and
   * the compareBytes it counts (phase P uses it if process() compares the same two frames). */
  spec: Int32Array;
  specBytes: Int32Array;
  specEq: Uint8Array;
  /** Per phase-H sub-chunk (SUB positions): bit p set when a visit in it has work in partition p
   * (own or pOld), for p < 31; bit 31 stands for every partition from 31 on. Phase P skips the
   * sub-chunks without its bit (a steady batch leaves most sub-chunks empty for most partitions). */
  subMask: Int32Array;
}

/** Arrays start on cache-line boundaries: a phase-H sub-chunk (SUB positions) then covers whole
 * lines of every per-position array, so two executors classifying neighbouring sub-chunks never
 * write the same line (no false sharing between them). */
const LINE = 64;

/** Bytes: control words, results, per position 14 four-byte arrays, 2 two-byte, 4 one-byte, and
 * per sub-chunk one four-byte mask (each array rounded up to a cache line). */
export function batchBytes(capacity: number): number {
  return CTL_WORDS * 4 + MAX_PARTITIONS * RES_STRIDE * 8 + capacity * (14 * 4 + 2 * 2 + 4) + 4 * subChunks(capacity) + 24 * LINE;
}

function subChunks(capacity: number): number {
  return Math.ceil(capacity / SUB) + 1;
}

/** The subMask bit of partition p. */
export function partBit(p: number): number {
  return 1 << Math.min(p, 31);
}

export function batchViews(sab: SharedArrayBuffer, capacity: number): BatchViews {
  let o = 0;
  const take = <T>(make: (o: number) => T, bytes: number): T => {
    const v = make(o);
    o += Math.ceil(bytes / LINE) * LINE;
    return v;
  };
  const c = capacity;
  return {
    sab,
    capacity,
    ctl: take((x) => new Int32Array(sab, x, CTL_WORDS), CTL_WORDS * 4),
    res: take((x) => new Float64Array(sab, x, MAX_PARTITIONS * RES_STRIDE), MAX_PARTITIONS * RES_STRIDE * 8),
    vSlot: take((x) => new Int32Array(sab, x, c), 4 * c),
    vFrame: take((x) => new Int32Array(sab, x, c), 4 * c),
    oldHi: take((x) => new Uint32Array(sab, x, c), 4 * c),
    oldLo: take((x) => new Uint32Array(sab, x, c), 4 * c),
    oldSeen: take((x) => new Int32Array(sab, x, c), 4 * c),
    hHi: take((x) => new Uint32Array(sab, x, c), 4 * c),
    hLo: take((x) => new Uint32Array(sab, x, c), 4 * c),
    aTarget: take((x) => new Int32Array(sab, x, c), 4 * c),
    aTGen: take((x) => new Uint32Array(sab, x, c), 4 * c),
    aMGen: take((x) => new Uint32Array(sab, x, c), 4 * c),
    aKeep: take((x) => new Int32Array(sab, x, c), 4 * c),
    aFull: take((x) => new Int32Array(sab, x, c), 4 * c),
    spec: take((x) => new Int32Array(sab, x, c), 4 * c),
    specBytes: take((x) => new Int32Array(sab, x, c), 4 * c),
    own: take((x) => new Int16Array(sab, x, c), 2 * c),
    pOld: take((x) => new Int16Array(sab, x, c), 2 * c),
    cls: take((x) => new Uint8Array(sab, x, c), c),
    oldKind: take((x) => new Uint8Array(sab, x, c), c),
    act: take((x) => new Uint8Array(sab, x, c), c),
    specEq: take((x) => new Uint8Array(sab, x, c), c),
    subMask: take((x) => new Int32Array(sab, x, subChunks(c)), 4 * subChunks(c)),
  };
}

/** Everything an executor reads or writes in place; sent to a worker whenever a buffer changed. */
export interface PartitionLayout {
  batch: SharedArrayBuffer;
  capacity: number;
  segments: SharedArrayBuffer[];
  frames: number;
  writeGen: SharedArrayBuffer;
  refcount: SharedArrayBuffer;
  state: SharedArrayBuffer;
  slotFrame: SharedArrayBuffer;
  registered: SharedArrayBuffer;
  kind: SharedArrayBuffer;
  hashHi: SharedArrayBuffer;
  hashLo: SharedArrayBuffer;
  seenFrame: SharedArrayBuffer;
  seenGen: SharedArrayBuffer;
  waitRoom: SharedArrayBuffer;
  /** Per slot: the batch that visits it (SEQ) and its position there. */
  visitSeq: SharedArrayBuffer;
  visitPos: SharedArrayBuffer;
  /** Each partition's index (HashIndex.exportState(), buffers only). */
  parts: { keyHi: SharedArrayBuffer; keyLo: SharedArrayBuffer; frame: SharedArrayBuffer; gen: SharedArrayBuffer; aux: SharedArrayBuffer; header: SharedArrayBuffer; bits: number }[];
}
