/**
 * The one page comparer of every policy (mm/ksm.c memcmp_pages / pages_identical): compares two
 * machine frames in memcmp order and charges the work to the scanner's cost counters (compares;
 * compareBytes = bytes read up to the first difference, for both pages, or 2 x 4096 when equal;
 * zeroChecks for tests against zeros). KSM walks its trees with compare(); the hash policies
 * confirm fingerprint matches with equal(); both test zero pages with isZero().
 *
 * Merge handles. An equal compare (or a zero test that found zeros) leaves the write generations
 * of the frames it read in genA/genB (genA: first argument). A policy merges through
 * hv.shareByHandle / hv.mapZeroByHandle with those (frame, generation) pairs: the hypervisor
 * checks them in O(1) instead of reading both pages again (as Xen's mem_sharing shares by handle).
 *
 * Hot path, no allocation: frames are read through 32-bit views of the memory segments made
 * once. Most tree compares meet pages that differ in their first bytes, and most of those pages
 * are cold (a tree walk touches a random page per level), so the first 8 bytes of each frame
 * are cached, big-endian, keyed by (frame, write generation): a cached prefix is valid exactly
 * while the frame's bytes are unchanged, so the result (and the bytes counted) is the same as
 * reading the page, without the cache miss. Equal prefixes go on to the native compare of the
 * rest (memcmp speed: the equal pages of every merge take this path); a difference found there
 * is then located by a word loop to count its bytes.
 *
 * Salts (mitigation.ts, salted): compare() orders by (salt, content), the salt first, reading no
 * bytes when the salts differ (KSM's trees become a salt-keyed forest in one order); equal() is
 * false without a compare for frames of different salts (the hash policies' index keyed by
 * (fingerprint, salt), as ESX mixes the salt into the hash). zero-only: equal() is always false and
 * compare() orders distinct frames by number (policies stop before either; this is the guard).
 * Off: one never-taken branch per call.
 */
import { SEGMENT_FRAMES, ZERO_PAGE, type MachineMemory } from "../hypervisor/index.ts";
import type { Mitigation } from "./mitigation.ts";
import type { ScannerWork } from "./types.ts";

const SEG_SHIFT = Math.log2(SEGMENT_FRAMES);
const SEG_MASK = SEGMENT_FRAMES - 1;
const WORDS = 1024; // 32-bit words per 4 KiB page
const ZERO_BUF = Buffer.from(ZERO_PAGE.buffer, ZERO_PAGE.byteOffset, ZERO_PAGE.byteLength);

export class FrameComparer {
  private readonly bytes: Uint8Array[];
  private readonly words: Uint32Array[];
  private readonly bufs: Buffer[];
  private readonly writeGen: Uint32Array;
  /** Cached first 8 bytes of a frame as two big-endian words, valid while prefixGen == gen. */
  private readonly prefixHi: Uint32Array;
  private readonly prefixLo: Uint32Array;
  private readonly prefixGen: Float64Array;
  /** Write generation of the first frame of the last equal compare (or of the last frame isZero found zero). */
  genA = 0;
  /** Write generation of the second frame of the last equal compare. */
  genB = 0;
  /** The mitigation when it restricts merges (salted, zero-only), else null. */
  private readonly restrict: Mitigation | null;

  constructor(
    memory: MachineMemory,
    private readonly work: ScannerWork,
    mitigation?: Mitigation,
  ) {
    this.restrict = mitigation && (mitigation.salted || mitigation.zeroOnly) ? mitigation : null;
    this.writeGen = memory.frameWriteGen;
    this.prefixHi = new Uint32Array(memory.frames + 1);
    this.prefixLo = new Uint32Array(memory.frames + 1);
    this.prefixGen = new Float64Array(memory.frames + 1).fill(-1);
    this.bytes = memory.segments;
    this.words = memory.segments.map((s) => new Uint32Array(s.buffer, s.byteOffset, s.byteLength >>> 2));
    this.bufs = memory.segments.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength));
  }

  /** memcmp(frame a, frame b) sign: < 0, 0, > 0. */
  compare(a: number, b: number): number {
    const work = this.work;
    work.compares++;
    if (this.restrict !== null && a !== b) {
      const d = this.restrict.zeroOnly ? a - b : this.restrict.saltOrder(a, b);
      if (d !== 0) return d;
    }
    const gen = this.writeGen;
    const ga = gen[a]!;
    const gb = gen[b]!;
    if (this.prefixGen[a] !== ga) this.loadPrefix(a);
    if (this.prefixGen[b] !== gb) this.loadPrefix(b);
    let x = this.prefixHi[a]!;
    let y = this.prefixHi[b]!;
    let at = 0;
    if (x === y) {
      x = this.prefixLo[a]!;
      y = this.prefixLo[b]!;
      at = 4;
    }
    if (x !== y) {
      work.compareBytes += 2 * (at + (Math.clz32(x ^ y) >>> 3) + 1);
      return x > y ? 1 : -1;
    }
    const oa = (a & SEG_MASK) << 10;
    const ob = (b & SEG_MASK) << 10;
    const r = this.bufs[a >>> SEG_SHIFT]!.compare(this.bufs[b >>> SEG_SHIFT]!, (ob << 2) + 8, (ob << 2) + 4096, (oa << 2) + 8, (oa << 2) + 4096);
    if (r === 0) {
      work.compareBytes += 8192;
      this.genA = ga;
      this.genB = gb;
      return 0;
    }
    const wa = this.words[a >>> SEG_SHIFT]!;
    const wb = this.words[b >>> SEG_SHIFT]!;
    let i = 2; // the first 8 bytes are equal
    while (wa[oa + i] === wb[ob + i]) i++;
    // first differing word i: find its first differing byte (memory order)
    const pa = this.bytes[a >>> SEG_SHIFT]!;
    const pb = this.bytes[b >>> SEG_SHIFT]!;
    let xa = (oa + i) << 2;
    let xb = (ob + i) << 2;
    for (let k = 0; k < 4; k++, xa++, xb++) {
      const d = pa[xa]! - pb[xb]!;
      if (d !== 0) {
        work.compareBytes += 2 * ((i << 2) + k + 1);
        return d;
      }
    }
    throw new Error("unreachable: differing words with equal bytes");
  }

  private loadPrefix(f: number): void {
    const p = this.bytes[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) << 12;
    this.prefixHi[f] = ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
    this.prefixLo[f] = ((p[o + 4]! << 24) | (p[o + 5]! << 16) | (p[o + 6]! << 8) | p[o + 7]!) >>> 0;
    this.prefixGen[f] = this.writeGen[f]!;
  }

  /**
   * Whether frames a and b hold the same bytes, with compare()'s accounting. The hash policies'
   * confirm step (a fingerprint matched, so the pages are nearly always equal): one native
   * compare of the whole pages, no prefix cache; a difference is located only to count its bytes.
   */
  equal(a: number, b: number): boolean {
    if (this.restrict !== null && a !== b && (this.restrict.zeroOnly || this.restrict.saltOrder(a, b) !== 0)) return false;
    const work = this.work;
    work.compares++;
    const oa = (a & SEG_MASK) << 12;
    const ob = (b & SEG_MASK) << 12;
    if (this.bufs[a >>> SEG_SHIFT]!.compare(this.bufs[b >>> SEG_SHIFT]!, ob, ob + 4096, oa, oa + 4096) === 0) {
      work.compareBytes += 8192;
      this.genA = this.writeGen[a]!;
      this.genB = this.writeGen[b]!;
      return true;
    }
    const pa = this.bytes[a >>> SEG_SHIFT]!;
    const pb = this.bytes[b >>> SEG_SHIFT]!;
    let i = 0;
    while (pa[oa + i] === pb[ob + i]) i++;
    work.compareBytes += 2 * (i + 1);
    return false;
  }

  /** True when frame f holds only zero bytes (the kernel's pages_identical with ZERO_PAGE);
   * then genA is f's write generation (the handle for mapZeroByHandle). */
  isZero(f: number): boolean {
    this.work.zeroChecks++;
    const w = this.words[f >>> SEG_SHIFT]!;
    const o = (f & SEG_MASK) << 10;
    if ((w[o]! | w[o + 1]! | w[o + WORDS - 1]!) !== 0) return false; // most non-zero pages end here
    const bo = (f & SEG_MASK) << 12;
    if (this.bufs[f >>> SEG_SHIFT]!.compare(ZERO_BUF, 0, 4096, bo, bo + 4096) !== 0) return false;
    this.genA = this.writeGen[f]!;
    return true;
  }
}
