/**
 * Allocation-free byte comparison of two machine frames for the scanners' hot path.
 *
 * MachineMemory.framesEqual makes two 4 KiB subarray views per call; at ~130k merges a pass that
 * garbage is measurable. Here each memory segment (a SharedArrayBuffer of 2^18 frames) is wrapped
 * once in a Buffer (a view, no copy), and frames are compared in place with Buffer#compare's
 * offset form. firstDifference() (cold: only after a mismatch) finds the first differing byte
 * for the work counters.
 */
import { PAGE_SIZE, SEGMENT_FRAMES, type MachineMemory } from "../../hypervisor/index.ts";

const SHIFT = Math.log2(SEGMENT_FRAMES);
const MASK = SEGMENT_FRAMES - 1;

export class FrameComparer {
  private readonly segs: Buffer[];

  constructor(memory: MachineMemory) {
    this.segs = memory.segmentBuffers.map((b) => Buffer.from(b));
  }

  /** True when frames a and b hold the same 4096 bytes. */
  equal(a: number, b: number): boolean {
    if (a === b) return true;
    const oa = (a & MASK) * PAGE_SIZE;
    const ob = (b & MASK) * PAGE_SIZE;
    return this.segs[a >>> SHIFT]!.compare(this.segs[b >>> SHIFT]!, ob, ob + PAGE_SIZE, oa, oa + PAGE_SIZE) === 0;
  }

  /** Index of the first differing byte of frames a and b, PAGE_SIZE when equal. */
  firstDifference(a: number, b: number): number {
    const sa = this.segs[a >>> SHIFT]!;
    const sb = this.segs[b >>> SHIFT]!;
    const oa = (a & MASK) * PAGE_SIZE;
    const ob = (b & MASK) * PAGE_SIZE;
    let i = 0;
    while (i < PAGE_SIZE && sa[oa + i] === sb[ob + i]) i++;
    return i;
  }
}
