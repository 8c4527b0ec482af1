/**
 * Machine memory: the host's physical frames and their metadata.
 *
 * Frames are 4 KiB and live in SharedArrayBuffers so that hashing workers can read them in
 * place. Bun refuses a single SharedArrayBuffer above 4 GiB, so the bytes are split into
 * segments of 2^18 frames (1 GiB): frame f lives in segment f >>> 18 at byte (f & 0x3ffff) << 12.
 * Only the last segment is short. The OS commits SharedArrayBuffer pages lazily, so a 16 GiB
 * machine costs only what is touched.
 *
 * One extra frame, number `frames` (just past the pool), is the canonical zero frame: always
 * zero, never allocated, never freed, never counted in framesUsed.
 *
 * Per-frame metadata is struct-of-arrays over typed arrays (no object per frame):
 *   frameRefcount[f]  number of guest pages mapping f (for the zero frame: pages mapped to it)
 *   frameState[f]     FREE | PRIVATE | SHARED | ZERO (see FrameState)
 *   frameWriteGen[f]  bumped on every change of f's bytes (write, populate, copy into it);
 *                     never reset, so (frame, gen) names one version of one page's content.
 *                     Shared so that workers can read it before and after hashing.
 *   frameRmapHead[f]  first page slot of f's reverse map (-1: none); see PageTable.
 * The free list is a stack of frame numbers (freeStack[0 .. freeCount-1]); pop and push are
 * O(1). It starts in descending order so that frames are handed out 0, 1, 2, ... .
 */

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
export const SEGMENT_FRAME_SHIFT = 18;
export const SEGMENT_FRAMES = 1 << SEGMENT_FRAME_SHIFT;
const SEGMENT_FRAME_MASK = SEGMENT_FRAMES - 1;

/** RESERVED: taken out of the pool for a compression cache (host-slots.ts), no mapping. */
export const FrameState = { FREE: 0, PRIVATE: 1, SHARED: 2, ZERO: 3, RESERVED: 4 } as const;
export type FrameStateValue = (typeof FrameState)[keyof typeof FrameState];

/** What a worker needs to read frames in place: the segment buffers and the generation array. */
export interface SharedMemoryHandles {
  segments: SharedArrayBuffer[];
  writeGen: SharedArrayBuffer;
  frames: number; // pool size; the zero frame is number `frames`
}

export class MachineMemory {
  readonly frames: number;
  readonly zeroFrame: number;
  readonly segments: Uint8Array[];
  readonly segmentBuffers: SharedArrayBuffer[];
  /** Buffer views of the segments (no copy), for allocation-free native compares. */
  readonly segmentBufs: Buffer[];
  readonly frameRefcount: Uint32Array;
  readonly frameState: Uint8Array;
  readonly frameWriteGen: Uint32Array;
  readonly frameRmapHead: Int32Array;
  readonly freeStack: Int32Array;
  freeCount: number;

  constructor(frames: number) {
    this.frames = frames;
    this.zeroFrame = frames;
    const total = frames + 1; // + the zero frame
    this.segments = [];
    this.segmentBuffers = [];
    for (let first = 0; first < total; first += SEGMENT_FRAMES) {
      const n = Math.min(SEGMENT_FRAMES, total - first);
      const buf = new SharedArrayBuffer(n * PAGE_SIZE);
      this.segmentBuffers.push(buf);
      this.segments.push(new Uint8Array(buf));
    }
    this.segmentBufs = this.segmentBuffers.map((b) => Buffer.from(b));
    this.frameRefcount = new Uint32Array(new SharedArrayBuffer(total * 4));
    this.frameState = new Uint8Array(new SharedArrayBuffer(total));
    this.frameWriteGen = new Uint32Array(new SharedArrayBuffer(total * 4));
    this.frameRmapHead = new Int32Array(total).fill(-1);
    this.freeStack = new Int32Array(frames);
    for (let i = 0; i < frames; i++) this.freeStack[i] = frames - 1 - i;
    this.freeCount = frames;
    this.frameState[this.zeroFrame] = FrameState.ZERO;
  }

  handles(): SharedMemoryHandles {
    return { segments: this.segmentBuffers, writeGen: this.frameWriteGen.buffer as SharedArrayBuffer, frames: this.frames };
  }

  /** Pops a free frame. The caller has checked freeCount > 0. Its bytes are stale until filled. */
  allocFrame(): number {
    const f = this.freeStack[--this.freeCount]!;
    this.frameState[f] = FrameState.PRIVATE;
    this.frameWriteGen[f] = (this.frameWriteGen[f]! + 1) >>> 0;
    return f;
  }

  freeFrame(f: number): void {
    this.frameState[f] = FrameState.FREE;
    this.frameRefcount[f] = 0;
    this.freeStack[this.freeCount++] = f;
  }

  /** The segment holding frame f; index bytes with byteOffset(f). */
  segmentOf(f: number): Uint8Array {
    return this.segments[f >>> SEGMENT_FRAME_SHIFT]!;
  }

  byteOffset(f: number): number {
    return (f & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
  }

  /** A view of frame f's 4 KiB (no copy). */
  view(f: number): Uint8Array {
    const off = (f & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    return this.segments[f >>> SEGMENT_FRAME_SHIFT]!.subarray(off, off + PAGE_SIZE);
  }

  zeroFill(f: number): void {
    const off = (f & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    this.segments[f >>> SEGMENT_FRAME_SHIFT]!.fill(0, off, off + PAGE_SIZE);
  }

  copyFrame(from: number, to: number): void {
    const src = this.segments[from >>> SEGMENT_FRAME_SHIFT]!;
    const dst = this.segments[to >>> SEGMENT_FRAME_SHIFT]!;
    const so = (from & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    const doff = (to & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    if (src === dst) dst.copyWithin(doff, so, so + PAGE_SIZE);
    else dst.set(src.subarray(so, so + PAGE_SIZE), doff);
  }

  /** Byte-exact comparison of two frames (memcmp order: <0, 0, >0), in place, no allocation. */
  compareFrames(a: number, b: number): number {
    const oa = (a & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    const ob = (b & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    return this.segmentBufs[a >>> SEGMENT_FRAME_SHIFT]!.compare(this.segmentBufs[b >>> SEGMENT_FRAME_SHIFT]!, ob, ob + PAGE_SIZE, oa, oa + PAGE_SIZE);
  }

  /** Index of the first byte where frames a and b differ, PAGE_SIZE when equal (cold path). */
  firstDifference(a: number, b: number): number {
    const sa = this.segments[a >>> SEGMENT_FRAME_SHIFT]!;
    const sb = this.segments[b >>> SEGMENT_FRAME_SHIFT]!;
    const oa = (a & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    const ob = (b & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    let i = 0;
    while (i < PAGE_SIZE && sa[oa + i] === sb[ob + i]) i++;
    return i;
  }

  framesEqual(a: number, b: number): boolean {
    return a === b || this.compareFrames(a, b) === 0;
  }

  isZeroFrameContent(f: number): boolean {
    const off = (f & SEGMENT_FRAME_MASK) << PAGE_SHIFT;
    return this.segmentBufs[f >>> SEGMENT_FRAME_SHIFT]!.compare(ZERO_PAGE_BUF, 0, PAGE_SIZE, off, off + PAGE_SIZE) === 0;
  }
}

export const ZERO_PAGE: Uint8Array = new Uint8Array(PAGE_SIZE);
const ZERO_PAGE_BUF = Buffer.from(ZERO_PAGE.buffer);
