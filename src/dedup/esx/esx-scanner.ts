/**
 * Policy "esx": VMware ESX transparent page sharing (Waldspurger, OSDI 2002, section 4).
 *
 * Random sampling. Each pass visits the pages registered and populated when it starts, in a
 * fresh random order: the slots are snapshotted into a typed array (live guests in creation
 * order, ascending gfn) and shuffled by Fisher-Yates with a SplitMix32 stream seeded from
 * options.seed and the pass number (sampling.ts), so a pass still covers every page once and the
 * same seed gives the same orders. A batch visits up to `pages` pages of the order; a slot that
 * became unpopulated or unregistered since the snapshot is passed over without a visit; the end
 * of the order ends the batch and the pass (fullScans++), and guests created during a pass are
 * in the next pass's snapshot only.
 *
 * One global hash table (the shared HashIndex, see ../vmdedup/hash-scanner-base.ts) holds
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
 * frame of its content (see mayFold in hash-scanner-base.ts).
 */
import { FrameState } from "../../hypervisor/index.ts";
import type { PeekResult } from "../scanner-base.ts";
import { HashScannerBase, Kind } from "../vmdedup/hash-scanner-base.ts";
import { passSeed, shuffle, SplitMix32 } from "./sampling.ts";

export class EsxScanner extends HashScannerBase {
  readonly policy = "esx" as const;
  private order = new Int32Array(0);
  private orderLen = 0;
  private orderPos = 0;
  private inPass = false;

  /** The current pass's visit order (a copy; for tests and traces). */
  passOrder(): Int32Array {
    return this.order.slice(0, this.orderLen);
  }

  protected override scanBatch(pages: number): number {
    const reg = this.registered;
    const sf = this.hv.pageTable.slotFrame;
    let visited = 0;
    while (visited < pages) {
      if (!this.inPass) this.startPass();
      if (this.orderPos >= this.orderLen) {
        this.onPassEnd();
        this.fullScanCount++;
        this.inPass = false;
        break;
      }
      const slot = this.order[this.orderPos++]!;
      if (reg[slot] === 0) continue;
      const frame = sf[slot]!;
      if (frame < 0) continue;
      this.pagesScanned++;
      visited++;
      this.visit(slot, frame);
    }
    return visited;
  }

  // ---- hash-ahead (worker pool) ---------------------------------------------------------------
  /** The pool must match requests by position: this order is random, not ascending by slot. */
  get visitOrderAscending(): boolean {
    return false;
  }

  /** Hash ahead only pages a visit would hash: not those still merged on an unchanged shared frame. */
  protected override wouldHash(slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame && !this.stillMerged(slot, frame);
  }

  /** The page is still merged on the shared frame it was merged onto, unchanged since. */
  private stillMerged(slot: number, frame: number): boolean {
    const m = this.hv.memory;
    return (
      this.kind[slot] === Kind.MERGED &&
      this.seenFrame[slot] === frame &&
      m.frameState[frame] === FrameState.SHARED &&
      this.seenGen[slot] === m.frameWriteGen[frame]
    );
  }

  /**
   * The pool's peek into this pass's random order (read-only). Tokens are positions in the order:
   * `after` -1 = from the cursor, a position = after it; -2 (the next pass) lists nothing, since
   * that order is drawn when the pass starts.
   */
  override peekVisits(after: number, slots: Int32Array, frames: Int32Array, max: number, maxSlots = Infinity, out?: PeekResult): number {
    if (out) {
      out.passEnd = true;
      out.lastSlot = -1;
    }
    if (!this.inPass || after === -2) return 0;
    const reg = this.registered;
    const sf = this.hv.pageTable.slotFrame;
    const order = this.order;
    let pos = after === -1 ? this.orderPos : after + 1;
    const end = Math.min(this.orderLen, pos + maxSlots);
    let n = 0;
    for (; pos < end && n < max; pos++) {
      const s = order[pos]!;
      if (reg[s] !== 1) continue;
      const f = sf[s]!;
      if (f < 0 || !this.wouldHash(s, f)) continue;
      slots[n] = s;
      frames[n] = f;
      n++;
    }
    if (out) {
      out.passEnd = pos >= this.orderLen;
      out.lastSlot = pos - 1;
    }
    return n;
  }

  /** run=2: the next batch starts a new pass (a fresh order). */
  protected override restartPass(): void {
    super.restartPass();
    this.inPass = false;
  }

  private startPass(): void {
    const reg = this.registered;
    const sf = this.hv.pageTable.slotFrame;
    let n = 0;
    for (const g of this.hv.guests) n += g.pages;
    if (this.order.length < n) this.order = new Int32Array(n);
    const order = this.order;
    n = 0;
    for (const g of this.hv.guests) {
      for (let s = g.slotBase, e = s + g.pages; s < e; s++) if (reg[s] === 1 && sf[s]! >= 0) order[n++] = s;
    }
    this.orderLen = n;
    this.orderPos = 0;
    this.inPass = true;
    shuffle(order, n, new SplitMix32(passSeed(this.options.seed, this.fullScanCount)));
    this.onPassStart();
  }

  protected visit(slot: number, frame: number): void {
    const hv = this.hv;
    if (frame === hv.zeroFrame) {
      this.seeZeroMapped(slot);
      return;
    }
    const m = hv.memory;
    const k = this.kind[slot]!;
    if (this.stillMerged(slot, frame) && !this.mayFold(frame)) return;
    this.hasher.hashFrame(slot, frame);
    const hi = this.hasher.hi;
    const lo = this.hasher.lo;
    const changed = k !== Kind.NONE && (hi !== this.hashHi[slot] || lo !== this.hashLo[slot]);
    if (k === Kind.INDEXED && !changed && this.waitRoom[slot] === 0) return;
    this.forgetSlot(slot);
    this.seenFrame[slot] = frame;
    this.seenGen[slot] = m.frameWriteGen[frame]!;
    this.process(slot, frame, hi, lo, changed);
  }

  /** A hint stands while its page, re-hashed now, still has the hint's fingerprint. */
  protected hintValid(pos: number, hi: number, lo: number): boolean {
    const ix = this.index;
    const h = ix.aux[pos]!;
    const f = this.hv.pageTable.slotFrame[h]!;
    if (this.kind[h] !== Kind.INDEXED || this.registered[h] !== 1 || f < 0 || f === this.hv.zeroFrame) return false;
    this.hasher.hashFrame(h, f);
    if (this.hasher.hi !== hi || this.hasher.lo !== lo) return false;
    ix.frame[pos] = f;
    ix.gen[pos] = this.hv.memory.frameWriteGen[f]!;
    return true;
  }
}
