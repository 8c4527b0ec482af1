/**
 * The hypervisor's mapping primitives and the paging counters they keep, in one place (every
 * change of a mapping goes through here, so the counters cannot drift; hv.audit() recomputes
 * them from scratch). Internal to the hypervisor layer: the Hypervisor validates an operation
 * completely, then applies it through these primitives; it exposes the counters read-only.
 *   linkSlot / mapSlot   slot -> frame: reverse-map push, refcount, counters; mapSlot also keeps
 *                        a PV guest's frame table and counts the remap of an existing entry
 *   unmapSlot            reverse-map unlink, refcount, counters; frees the frame with its last mapping
 *   markShared / markPrivate  PRIVATE <-> SHARED transitions with their counters
 *   moveToCopy           a slot moves to a fresh private frame holding a copy (or zeros)
 *   moveMappings         every mapping of one frame moves onto another (the share op's core)
 *   relocateShared       a SHARED frame's content and mappings move to a chosen free frame
 */
import type { Guest } from "./guest.ts";
import { FrameState, type MachineMemory } from "./machine-memory.ts";
import type { PageTable } from "./page-table.ts";

export class FrameMapper {
  /** Live guest pages mapping a frame: +1 on populate, -1 on discard and guest destruction. */
  populated = 0;
  /** SHARED frames: +1 when share makes a PRIVATE frame SHARED, -1 when one is freed or turns PRIVATE. */
  sharedFrames = 0;
  /** Mappings of SHARED frames beyond the first: +1 per mapping linked to an already SHARED frame
   * (or counted when the frame becomes SHARED), -1 per such mapping removed while others remain. */
  sharingMappings = 0;
  /** Mappings of the zero frame: +1 when a slot is linked to it, -1 when one is unlinked. */
  zeroMapped = 0;
  /** Writes to a SHARED or zero-mapped page (each breaks its sharing). */
  cowBreaks = 0;
  /** CoW breaks that copied the page into a new frame (not the last sharer writing in place). */
  cowCopies = 0;
  /** PV page-table rewrites: +1 per remap of an existing entry of a PV guest. */
  ptUpdates = 0;
  /** SHARED frames moved to a drawn free frame: +1 per relocateShared (shareByHandle's relocatePick). */
  relocations = 0;
  private readonly zeroFrame: number;

  constructor(
    private readonly memory: MachineMemory,
    private readonly pageTable: PageTable,
    private readonly guestById: readonly Guest[],
  ) {
    this.zeroFrame = memory.zeroFrame;
  }

  linkSlot(slot: number, f: number): void {
    const m = this.memory;
    const pt = this.pageTable;
    const head = m.frameRmapHead[f]!;
    pt.slotPrev[slot] = -1;
    pt.slotNext[slot] = head;
    if (head >= 0) pt.slotPrev[head] = slot;
    m.frameRmapHead[f] = slot;
    pt.slotFrame[slot] = f;
    m.frameRefcount[f]!++;
    if (f === this.zeroFrame) this.zeroMapped++;
    else if (m.frameState[f] === FrameState.SHARED) this.sharingMappings++;
  }

  /** Maps slot to f. `remap`: an existing entry is rewritten (counts a PV page-table update). */
  mapSlot(slot: number, f: number, remap: boolean): void {
    this.linkSlot(slot, f);
    const g = this.guestById[this.pageTable.slotGuest[slot]!]!;
    if (g.mode === "pv") {
      g.frameTable[slot - g.slotBase] = f;
      if (remap) this.ptUpdates++;
    }
  }

  /** Removes slot from f's reverse map; frees f when its last mapping goes. Leaves slotFrame. */
  unmapSlot(slot: number, f: number): void {
    const m = this.memory;
    const pt = this.pageTable;
    const prev = pt.slotPrev[slot]!;
    const next = pt.slotNext[slot]!;
    if (prev >= 0) pt.slotNext[prev] = next;
    else m.frameRmapHead[f] = next;
    if (next >= 0) pt.slotPrev[next] = prev;
    pt.slotNext[slot] = -1;
    pt.slotPrev[slot] = -1;
    const g = this.guestById[pt.slotGuest[slot]!]!;
    if (g.mode === "pv") g.frameTable[slot - g.slotBase] = -1;
    const rc = --m.frameRefcount[f]!;
    if (f === this.zeroFrame) {
      this.zeroMapped--;
      return;
    }
    if (m.frameState[f] === FrameState.SHARED) {
      if (rc > 0) this.sharingMappings--;
      else this.sharedFrames--;
    }
    if (rc === 0) m.freeFrame(f);
  }

  markShared(f: number): void {
    const m = this.memory;
    if (m.frameState[f] !== FrameState.PRIVATE) return;
    m.frameState[f] = FrameState.SHARED;
    this.sharedFrames++;
    this.sharingMappings += m.frameRefcount[f]! - 1;
  }

  /** A SHARED frame with exactly one mapping left becomes PRIVATE (no copy). */
  markPrivate(f: number): void {
    this.memory.frameState[f] = FrameState.PRIVATE;
    this.sharedFrames--;
  }

  /** Moves slot from frame `from` to a fresh private frame holding a copy (or zeros). */
  moveToCopy(slot: number, from: number): number {
    const m = this.memory;
    const nf = m.allocFrame();
    if (from === this.zeroFrame) m.zeroFill(nf);
    else m.copyFrame(from, nf);
    this.unmapSlot(slot, from);
    this.mapSlot(slot, nf, true);
    return nf;
  }

  /** f1 becomes SHARED; every mapping of f2 moves onto it; f2 is freed with its last mapping. */
  moveMappings(f1: number, f2: number): void {
    this.markShared(f1);
    const m = this.memory;
    while (m.frameRmapHead[f2]! >= 0) {
      const slot = m.frameRmapHead[f2]!;
      this.unmapSlot(slot, f2); // frees f2 with its last mapping
      this.mapSlot(slot, f1, true);
    }
  }

  /**
   * The SHARED frame `f` moves to the free frame at free-list position `pick` mod freeCount
   * (swapped to the top of the stack and popped): its bytes are copied there, every mapping
   * follows (PV entries rewritten and counted), `f` is freed. The caller has checked f is
   * SHARED and a free frame exists. Returns the new frame.
   */
  relocateShared(f: number, pick: number): number {
    const m = this.memory;
    const top = m.freeCount - 1;
    const i = pick % m.freeCount;
    const t = m.freeStack[i]!;
    m.freeStack[i] = m.freeStack[top]!;
    m.freeStack[top] = t;
    const nf = m.allocFrame();
    m.copyFrame(f, nf);
    this.moveMappings(nf, f);
    this.relocations++;
    return nf;
  }
}
