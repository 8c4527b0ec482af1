/**
 * The order in which a scanner visits pages, shared by the one batch loop (ScannerBase.scanBatch)
 * and the hashing worker pool's hash-ahead (dedup/pool), so the two can never disagree.
 *
 * A VisitOrder walks one pass at a time over the registered, populated page slots (Registration
 * and the page table): begin(pass) starts a pass over the guests alive then, next() returns the
 * next slot of the pass that is registered and populated now (or -1 at the end of the pass, which
 * ends it), abandon() drops the pass (run=2). What a policy does with a slot (skip zero-mapped
 * pages, smart scan) is the batch loop's business, not the order's.
 *
 * Positions. peek() lists upcoming candidates without moving anything; `after` and
 * PeekResult.lastPosition are positions in the order, the same kind of number in every
 * implementation. In the ascending order a position is the slot number itself (its pass visits
 * slots in increasing order), so `ascending` tells the pool it may match requests by slot range;
 * in other orders (esx's shuffle) positions are indexes into the pass's order, matched one by one.
 *
 * Implementations: AscendingOrder (this file; ksm_do_scan's walk: guests in creation order, each
 * in ascending gfn, which is ascending slot order) and ShuffledOrder (esx/shuffled-order.ts).
 */
import type { Hypervisor, Guest } from "../hypervisor/index.ts";
import type { Registration } from "./registration.ts";

/** Where a peek stopped: `passEnd` when it reached the end of the pass, else `lastPosition`, the
 * last position examined (peek again after it). */
export interface PeekResult {
  passEnd: boolean;
  lastPosition: number;
}

/** The policy's side of hash-ahead: whether a visit of (slot, frame) would hash the page. No side effects. */
export interface HashAheadFilter {
  wouldHash(slot: number, frame: number): boolean;
}

/** The default hash-ahead filter: every page but the zero frame (policy "none" never hashes). */
export class NonZeroFrames implements HashAheadFilter {
  constructor(private readonly hv: Hypervisor) {}

  wouldHash(_slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame;
  }
}

export interface VisitOrder {
  /** true: positions are slots and a pass visits them in increasing order. */
  readonly ascending: boolean;
  /** A pass has begun and not ended or been abandoned. */
  readonly inPass: boolean;
  /** Starts pass number `pass` (the scanner's fullScans count) over the guests alive now. */
  begin(pass: number): void;
  /** The next registered, populated slot of the pass, or -1: the pass has ended. */
  next(): number;
  /** Drops the current pass; the next batch begins a new one. */
  abandon(): void;
  /**
   * Read-only: writes up to `max` upcoming candidates into slots/frames, in visit order:
   * registered, populated pages for which filter.wouldHash() holds. `after`: -1 = from the
   * cursor, -2 = from the start of the next pass, a position = after it in the current pass.
   * Examines at most `maxPositions` positions; `out` (if given) says where it stopped. Lists
   * nothing before the first pass has begun.
   */
  peek(after: number, slots: Int32Array, frames: Int32Array, max: number, maxPositions: number, out: PeekResult | undefined, filter: HashAheadFilter): number;
}

/** ksm_do_scan's walk: the guests alive at the pass's start in creation order, each in ascending gfn. */
export class AscendingOrder implements VisitOrder {
  readonly ascending = true;
  private passGuests: Guest[] | null = null;
  private guestIdx = 0;
  private gfn = 0;
  private started = false; // a pass has begun at least once (peek lists nothing before)

  constructor(
    private readonly hv: Hypervisor,
    private readonly registration: Registration,
  ) {}

  get inPass(): boolean {
    return this.passGuests !== null;
  }

  begin(_pass: number): void {
    this.passGuests = this.hv.guests.slice();
    this.started = true;
    this.guestIdx = 0;
    this.gfn = 0;
  }

  next(): number {
    const guests = this.passGuests;
    if (guests === null) return -1;
    const reg = this.registration.registered;
    const sf = this.hv.pageTable.slotFrame;
    while (this.guestIdx < guests.length) {
      const g = guests[this.guestIdx]!;
      if (!g.destroyed) {
        const base = g.slotBase;
        for (let gfn = this.gfn; gfn < g.pages; gfn++) {
          const s = base + gfn;
          if (reg[s] === 0 || sf[s]! < 0) continue;
          this.gfn = gfn + 1;
          return s;
        }
      }
      this.guestIdx++;
      this.gfn = 0;
    }
    this.passGuests = null;
    return -1;
  }

  abandon(): void {
    this.passGuests = null;
  }

  peek(after: number, slots: Int32Array, frames: Int32Array, max: number, maxPositions: number, out: PeekResult | undefined, filter: HashAheadFilter): number {
    if (out) {
      out.passEnd = true;
      out.lastPosition = -1;
    }
    if (!this.started) return 0;
    const inPass = this.passGuests !== null && after !== -2;
    const guests = inPass ? this.passGuests! : this.hv.guests;
    let gi = 0;
    let gfn = 0;
    if (after === -1 && inPass) {
      gi = this.guestIdx;
      gfn = this.gfn;
    } else if (after >= 0) {
      while (gi < guests.length && guests[gi]!.slotBase + guests[gi]!.pages <= after) gi++;
      if (gi < guests.length && guests[gi]!.slotBase <= after) gfn = after - guests[gi]!.slotBase + 1;
    }
    const sf = this.hv.pageTable.slotFrame;
    const reg = this.registration.registered;
    let n = 0;
    let budget = maxPositions;
    for (; gi < guests.length && n < max; gi++, gfn = 0) {
      const g = guests[gi]!;
      if (g.destroyed) continue;
      const e = g.slotBase + g.pages;
      for (let s = g.slotBase + gfn; s < e && n < max; s++) {
        if (budget-- <= 0) {
          if (out) {
            out.passEnd = false;
            out.lastPosition = s - 1;
          }
          return n;
        }
        if (reg[s] !== 1) continue;
        const f = sf[s]!;
        if (f < 0 || !filter.wouldHash(s, f)) continue;
        slots[n] = s;
        frames[n] = f;
        n++;
      }
    }
    if (out && n === max) {
      out.passEnd = false;
      out.lastPosition = slots[n - 1]!;
    }
    return n;
  }
}
