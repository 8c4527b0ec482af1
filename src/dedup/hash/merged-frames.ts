/**
 * What the hash-table policies' statistics are read from (see hash-scanner-base.ts): the frames
 * this scanner merged pages into, each with its write generation at merge time and its content
 * group (frames of one content that maxPageSharing split: a group with >= 2 live frames is a
 * chain, its frames dups, as in KSM), and the slots it mapped to the zero frame. count() reads
 * the hypervisor's state through them, dropping entries that no longer hold (so CoW breaks show
 * up at once, no lazy counting as in KSM).
 */
import { FrameState, type Hypervisor } from "../../hypervisor/index.ts";
import { Kind, type HashSlots } from "./hash-slots.ts";

export interface MergedCounts {
  shared: number;
  sharing: number;
  chains: number;
  dups: number;
  zeros: number;
}

export class MergedFrames {
  readonly frameListed: Uint8Array;
  readonly frameMergeGen: Uint32Array;
  readonly frameGroup: Int32Array;
  mergedList = new Int32Array(64);
  mergedLen = 0;
  private nextGroup = 0;
  /** Whether some content ever needed a second frame (only then do groups matter). */
  chainsPossible = false;
  zeroList = new Int32Array(64);
  zeroLen = 0;

  constructor(
    private readonly hv: Hypervisor,
    private readonly slots: HashSlots,
  ) {
    const frames = hv.memory.frames + 1;
    this.frameListed = new Uint8Array(frames);
    this.frameMergeGen = new Uint32Array(frames);
    this.frameGroup = new Int32Array(frames);
  }

  /** Frame `f` became a shared frame of this scanner; `fullGroup` >= 0: a content whose frame was full. */
  noteShared(f: number, fullGroup: number): void {
    let group = fullGroup;
    if (group >= 0) this.chainsPossible = true;
    else group = this.nextGroup++;
    if (!this.frameListed[f]) {
      this.frameListed[f] = 1;
      if (this.mergedLen === this.mergedList.length) this.mergedList = growInt32(this.mergedList);
      this.mergedList[this.mergedLen++] = f;
    }
    this.frameMergeGen[f] = this.hv.memory.frameWriteGen[f]!;
    this.frameGroup[f] = group;
  }

  /** Slot `slot` was mapped to the zero frame by this scanner. */
  noteZero(slot: number): void {
    const s = this.slots;
    if (s.inZeroList[slot]) return;
    s.inZeroList[slot] = 1;
    if (this.zeroLen === this.zeroList.length) this.zeroList = growInt32(this.zeroList);
    this.zeroList[this.zeroLen++] = slot;
  }

  reset(): void {
    this.zeroLen = 0;
    this.frameListed.fill(0);
    this.mergedLen = 0;
    this.chainsPossible = false;
  }

  /** The counts stats() reports; compacts both lists (entries that no longer hold go). */
  count(): MergedCounts {
    const m = this.hv.memory;
    const state = m.frameState;
    const wg = m.frameWriteGen;
    const rc = m.frameRefcount;
    let shared = 0;
    let sharing = 0;
    let kept = 0;
    const list = this.mergedList;
    for (let i = 0; i < this.mergedLen; i++) {
      const f = list[i]!;
      if (state[f] === FrameState.SHARED && wg[f] === this.frameMergeGen[f]) {
        list[kept++] = f;
        shared++;
        sharing += rc[f]! - 1;
      } else this.frameListed[f] = 0;
    }
    this.mergedLen = kept;
    let chains = 0;
    let dups = 0;
    if (this.chainsPossible) {
      const perGroup = new Map<number, number>();
      for (let i = 0; i < kept; i++) {
        const g = this.frameGroup[list[i]!]!;
        perGroup.set(g, (perGroup.get(g) ?? 0) + 1);
      }
      for (const n of perGroup.values()) {
        if (n < 2) continue;
        chains++;
        dups += n;
      }
    }
    return { shared, sharing, chains, dups, zeros: this.countZeros() };
  }

  private countZeros(): number {
    const sf = this.hv.pageTable.slotFrame;
    const zf = this.hv.zeroFrame;
    const { kind, inZeroList } = this.slots;
    let zeros = 0;
    for (let i = 0; i < this.zeroLen; i++) {
      const s = this.zeroList[i]!;
      if (kind[s] === Kind.ZERO && sf[s] === zf) this.zeroList[zeros++] = s;
      else inZeroList[s] = 0;
    }
    this.zeroLen = zeros;
    return zeros;
  }

  /** scanner.audit(): list marks agree with the lists. */
  audit(fail: (msg: string) => never): void {
    const seen = new Uint8Array(this.frameListed.length);
    for (let i = 0; i < this.mergedLen; i++) {
      const f = this.mergedList[i]!;
      if (f < 0 || f >= this.hv.memory.frames) fail(`merged-frame list entry ${i} is ${f}, not a pool frame`);
      if (seen[f]++) fail(`frame ${f} is on the merged-frame list twice`);
      if (!this.frameListed[f]) fail(`frame ${f} is on the merged-frame list but not marked listed`);
    }
    for (let f = 0; f < seen.length; f++) if (this.frameListed[f] && !seen[f]) fail(`frame ${f} is marked listed but not on the merged-frame list`);
    const inZero = this.slots.inZeroList;
    let marked = 0;
    for (let s = 0; s < inZero.length; s++) marked += inZero[s]!;
    if (marked !== this.zeroLen) fail(`${marked} slots marked on the zero list, the list holds ${this.zeroLen}`);
    for (let i = 0; i < this.zeroLen; i++) if (!inZero[this.zeroList[i]!]) fail(`zero list entry ${this.zeroList[i]} is not marked`);
  }
}

function growInt32(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
