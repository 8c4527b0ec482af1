/**
 * Page slots: every guest page (guest, gfn) of every guest ever created has one global slot
 * number, slot = guest.slotBase + gfn. Guests get contiguous slot ranges in creation order and
 * slots are never reused, so scanners can keep per-page state in flat typed arrays indexed by
 * slot (their rmap_item analogue) and tell pages apart without objects.
 *
 *   slotFrame[slot]  the machine frame the page maps (the HVM p2m entry), -1 when unpopulated
 *   slotGuest[slot]  the owning guest's id
 *   slotHost[slot]   the host slot (swap or compression cache, host-slots.ts) holding the page
 *                    when the hypervisor has taken its frame away, -1 otherwise
 *   slotNext/Prev    the intrusive, doubly linked reverse map: all slots mapping one frame,
 *                    headed by MachineMemory.frameRmapHead[frame]. Every mapping is on its
 *                    frame's list (a private frame has a list of one), so a share or a CoW
 *                    break can find and repoint every mapping of a frame in O(mappings).
 *
 * The arrays grow by doubling when a guest is created; nothing holds on to them across that,
 * always read them through this object. slotFrame lives in a SharedArrayBuffer so that a
 * scanner's partition workers can read the mappings in place (they never write them).
 */
export class PageTable {
  slotFrame: Int32Array = new Int32Array(new SharedArrayBuffer(0));
  slotGuest: Int32Array<ArrayBuffer> = new Int32Array(0);
  slotNext: Int32Array<ArrayBuffer> = new Int32Array(0);
  slotPrev: Int32Array<ArrayBuffer> = new Int32Array(0);
  slotHost: Int32Array<ArrayBuffer> = new Int32Array(0);
  slotCount = 0;

  /** Sizes the slot arrays for `slots` slots at once (a caller that knows every guest up front: no doubling, no copies). */
  ensureCapacity(slots: number): void {
    if (slots <= this.slotFrame.length) return;
    this.slotFrame = grow(this.slotFrame, slots, -1);
    this.slotGuest = grow(this.slotGuest, slots, -1);
    this.slotNext = grow(this.slotNext, slots, -1);
    this.slotPrev = grow(this.slotPrev, slots, -1);
    this.slotHost = grow(this.slotHost, slots, -1);
  }

  /** Reserves `pages` slots and returns the first. */
  reserve(pages: number, guestId: number): number {
    const base = this.slotCount;
    const need = base + pages;
    if (need > this.slotFrame.length) {
      const cap = Math.max(need, this.slotFrame.length * 2, 1024);
      const sf = new Int32Array(new SharedArrayBuffer(4 * cap)).fill(-1);
      sf.set(this.slotFrame);
      this.slotFrame = sf;
      this.slotGuest = grow(this.slotGuest, cap, -1);
      this.slotNext = grow(this.slotNext, cap, -1);
      this.slotPrev = grow(this.slotPrev, cap, -1);
      this.slotHost = grow(this.slotHost, cap, -1);
    }
    this.slotGuest.fill(guestId, base, need);
    this.slotCount = need;
    return base;
  }
}

function grow(a: Int32Array, cap: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap).fill(fill);
  b.set(a);
  return b;
}
