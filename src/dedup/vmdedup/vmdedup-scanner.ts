/**
 * Policy "vmdedup": de-duplication inside the hypervisor, after VMDedup (Shaikh et al., IC2E 2014).
 *
 * The scanner walks every registered page in ksm_do_scan's order (AscendingOrder, through
 * ScannerBase's batch loop) and keeps one global hash index of 64-bit page fingerprints (xxHash3
 * through this.hasher; see ../hash/hash-scanner-base.ts for the index, the lookup/merge step and
 * the statistics).
 *
 * What the hypervisor knows and a process-level scanner (KSM) does not: the write generation of
 * every machine frame, bumped on every change of its bytes and on every allocation, so
 * (frame, generation) names one version of one page's content. Each slot remembers the
 * (frame, generation) seen at its last visit. A visit then costs:
 *   - nothing, when the page maps the zero frame, or is unchanged and already indexed or merged
 *     (a merged page must still map a SHARED frame: sharing lost without a write is re-processed
 *     with the remembered fingerprint, no hash);
 *   - no hash either, when it is unchanged and VOLATILE: it is now known stable, so it is looked
 *     up and indexed with the fingerprint remembered from the visit that saw it change; the same
 *     for an INDEXED page waiting for room in a full shared frame (waitRoom);
 *   - one hash otherwise (first visit, or written since the last visit), then the lookup/merge
 *     step. A never-seen page is indexed at once, so a duplicate merges on its first visit; a
 *     page seen written is merged if a partner is indexed, else held out as VOLATILE for a pass.
 * So a pass over memory in which nothing was written hashes no page at all.
 *
 * Unshared entries are validated by generation: an entry stands for its page while the page
 * still maps the entry's frame at the entry's generation (a frame that was freed, rewritten or
 * reallocated has a different generation). A full byte compare precedes every merge anyway.
 *
 * "Unchanged since its last visit" (unchangedSinceVisit below) is the one predicate both the
 * visit and the worker pool's hash-ahead (VmdedupHashAhead) decide by.
 */
import { FrameState, type Hypervisor } from "../../hypervisor/index.ts";
import { PartitionedHashScanner } from "../hash/partitioned-scanner.ts";
import type { HashIndex } from "../hash/hash-index.ts";
import { Kind, type HashSlots } from "../hash/hash-slots.ts";
import type { HashAheadFilter } from "../visit-order.ts";

/** The page maps the frame and generation of its last visit, and was indexed, merged or seen volatile then. */
function unchangedSinceVisit(slots: HashSlots, writeGen: Uint32Array, slot: number, frame: number): boolean {
  const k = slots.kind[slot]!;
  return slots.seenFrame[slot] === frame && slots.seenGen[slot] === writeGen[frame] && k !== Kind.NONE && k !== Kind.ZERO;
}

/** Hash ahead (worker pool) only pages a visit would hash: not the zero frame, changed since their last visit. */
export class VmdedupHashAhead implements HashAheadFilter {
  constructor(
    private readonly hv: Hypervisor,
    private readonly slots: HashSlots,
  ) {}

  wouldHash(slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame && !unchangedSinceVisit(this.slots, this.hv.memory.frameWriteGen, slot, frame);
  }
}

export class VmdedupScanner extends PartitionedHashScanner {
  readonly policy = "vmdedup" as const;

  protected visit(slot: number, frame: number): void {
    const hv = this.hv;
    if (frame === hv.zeroFrame) {
      this.seeZeroMapped(slot);
      return;
    }
    const m = hv.memory;
    const slots = this.slots;
    const k = slots.kind[slot]!;
    if (unchangedSinceVisit(slots, m.frameWriteGen, slot, frame)) {
      if (k === Kind.INDEXED && slots.waitRoom[slot] === 0) return;
      if (k === Kind.MERGED && m.frameState[frame] === FrameState.SHARED && !this.mayFold(frame)) return;
      // unchanged, but volatile (now stable), waiting for room, alone on a shared frame or no
      // longer shared: no new hash needed
      const hi = slots.hashHi[slot]!;
      const lo = slots.hashLo[slot]!;
      this.forgetSlot(slot);
      this.process(slot, frame, hi, lo, false);
      return;
    }
    const changed = k !== Kind.NONE;
    if (changed) this.forgetSlot(slot);
    this.hasher.hashFrame(slot, frame);
    slots.seenFrame[slot] = frame;
    slots.seenGen[slot] = m.frameWriteGen[frame]!;
    this.process(slot, frame, this.hasher.hi, this.hasher.lo, changed);
  }

  protected hintValid(ix: HashIndex, pos: number, _hi: number, _lo: number): boolean {
    const h = ix.aux[pos]!;
    const f = ix.frame[pos]!;
    return (
      this.slots.kind[h] === Kind.INDEXED &&
      this.hv.pageTable.slotFrame[h] === f &&
      this.hv.memory.frameWriteGen[f] === ix.gen[pos] &&
      this.registration.registered[h] === 1
    );
  }
}
