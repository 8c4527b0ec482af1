/**
 * Policy "esx": VMware ESX transparent page sharing (Waldspurger, OSDI 2002, section 4).
 *
 * Random sampling. Each pass visits the pages registered and populated when it begins, in a
 * fresh random order drawn from options.seed and the pass number (ShuffledOrder,
 * shuffled-order.ts), through ScannerBase's one batch loop: a pass covers every page once, a
 * slot that became unpopulated or unregistered since the pass began is passed over without a
 * visit, and guests created during a pass are in the next pass only.
 *
 * One global hash table (the shared HashIndex, see ../hash/hash-scanner-base.ts) holds
 *   - shared frames: 64-bit fingerprint, frame (COW, i.e. SHARED in the hypervisor), and
 *   - hints: the fingerprint of an unshared page plus a back-reference to it (its page slot;
 *     the paper keeps a truncated hash, which matters only as a pre-filter: a hint match is
 *     always re-validated by re-hashing the hinted page).
 * ESX does not track writes to unshared pages, so every visit of a page that is not mapped to a
 * shared frame or the zero frame hashes it again. Then:
 *   - same fingerprint as its own hint: nothing to do (unless the hint waits for room in a full
 *     shared frame: then the lookup below runs again);
 *   - otherwise the lookup/merge step: a shared frame with this fingerprint is compared byte for
 *     byte and shared into; a hint with this fingerprint is re-validated by re-hashing its page
 *     (it may have changed since it was hinted: then the hint is dropped and that page counts as
 *     volatile), compared in full, and both pages share the hinted page's frame, which turns the
 *     hint into a shared-frame entry; zero pages go to the zero frame; with no partner the page
 *     gets a hint (or, if it was seen changed since its hint, waits a visit as volatile).
 * Pages mapped to a frame this scanner shares are not re-hashed (a write would have broken the
 * COW mapping; the hypervisor knows), except the last page of a frame that may fold into another
 * frame of its content (see mayFold in hash-scanner-base.ts). "Still merged and unchanged"
 * (stillMerged below) is the one predicate both the visit and the worker pool's hash-ahead
 * (EsxHashAhead) decide by.
 */
import { FrameState, type Hypervisor, type MachineMemory } from "../../hypervisor/index.ts";
import { PartitionedHashScanner } from "../hash/partitioned-scanner.ts";
import type { HashIndex } from "../hash/hash-index.ts";
import { Kind, type HashSlots } from "../hash/hash-slots.ts";
import type { ScannerParts } from "../scanner-base.ts";
import type { HashAheadFilter } from "../visit-order.ts";
import type { ShuffledOrder } from "./shuffled-order.ts";

/** The page is still merged on the shared frame it was merged onto, unchanged since. */
function stillMerged(slots: HashSlots, m: MachineMemory, slot: number, frame: number): boolean {
  return (
    slots.kind[slot] === Kind.MERGED &&
    slots.seenFrame[slot] === frame &&
    m.frameState[frame] === FrameState.SHARED &&
    slots.seenGen[slot] === m.frameWriteGen[frame]
  );
}

/** Hash ahead only pages a visit would hash: not the zero frame, not still merged on an unchanged shared frame. */
export class EsxHashAhead implements HashAheadFilter {
  constructor(
    private readonly hv: Hypervisor,
    private readonly slots: HashSlots,
  ) {}

  wouldHash(slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame && !stillMerged(this.slots, this.hv.memory, slot, frame);
  }
}

export class EsxScanner extends PartitionedHashScanner {
  readonly policy = "esx" as const;

  constructor(
    parts: ScannerParts,
    slots: HashSlots,
    private readonly shuffled: ShuffledOrder,
  ) {
    super(parts, slots);
  }

  /** The current pass's visit order (a copy; for tests and traces). */
  passOrder(): Int32Array {
    return this.shuffled.snapshot();
  }

  protected visit(slot: number, frame: number): void {
    const hv = this.hv;
    if (frame === hv.zeroFrame) {
      this.seeZeroMapped(slot);
      return;
    }
    const m = hv.memory;
    const slots = this.slots;
    const k = slots.kind[slot]!;
    if (stillMerged(slots, m, slot, frame) && !this.mayFold(frame)) return;
    this.hasher.hashFrame(slot, frame);
    const hi = this.hasher.hi;
    const lo = this.hasher.lo;
    const changed = k !== Kind.NONE && (hi !== slots.hashHi[slot] || lo !== slots.hashLo[slot]);
    if (k === Kind.INDEXED && !changed && slots.waitRoom[slot] === 0) return;
    this.forgetSlot(slot);
    slots.seenFrame[slot] = frame;
    slots.seenGen[slot] = m.frameWriteGen[frame]!;
    this.process(slot, frame, hi, lo, changed);
  }

  /** A hint stands while its page, re-hashed now, still has the hint's fingerprint. */
  protected hintValid(ix: HashIndex, pos: number, hi: number, lo: number): boolean {
    const h = ix.aux[pos]!;
    const f = this.hv.pageTable.slotFrame[h]!;
    if (this.slots.kind[h] !== Kind.INDEXED || this.registration.registered[h] !== 1 || f < 0 || f === this.hv.zeroFrame) return false;
    this.hasher.hashFrame(h, f);
    if (this.hasher.hi !== hi || this.hasher.lo !== lo) return false;
    ix.frame[pos] = f;
    ix.gen[pos] = this.hv.memory.frameWriteGen[f]!;
    return true;
  }
}
