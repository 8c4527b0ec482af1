/**
 * ESX's visit order (Waldspurger, OSDI 2002, section 4.1: pages are sampled at random): each pass
 * visits the slots registered and populated when it begins, in a fresh random order. The slots
 * are snapshotted into a typed array (live guests in creation order, ascending gfn) and shuffled
 * by Fisher-Yates with a SplitMix32 stream seeded from the scanner's seed and the pass number
 * (sampling.ts), so a pass still covers every page once and the same seed gives the same orders.
 * next() passes over a slot that became unpopulated or unregistered since the snapshot; guests
 * created during a pass are in the next pass's snapshot only. Positions (see VisitOrder) are
 * indexes into the pass's order; peeking into the next pass lists nothing (its order is drawn
 * when it begins).
 */
import type { Hypervisor } from "../../hypervisor/index.ts";
import type { Registration } from "../registration.ts";
import type { HashAheadFilter, PeekResult, VisitOrder } from "../visit-order.ts";
import { passSeed, shuffle, SplitMix32 } from "./sampling.ts";

export class ShuffledOrder implements VisitOrder {
  readonly ascending = false;
  private order = new Int32Array(0);
  private orderLen = 0;
  private pos = 0;
  private passActive = false;

  constructor(
    private readonly hv: Hypervisor,
    private readonly registration: Registration,
    private readonly seed: number,
  ) {}

  get inPass(): boolean {
    return this.passActive;
  }

  /** The current pass's order (a copy; for tests and traces). */
  snapshot(): Int32Array {
    return this.order.slice(0, this.orderLen);
  }

  begin(pass: number): void {
    const reg = this.registration.registered;
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
    this.pos = 0;
    this.passActive = true;
    shuffle(order, n, new SplitMix32(passSeed(this.seed, pass)));
  }

  next(): number {
    const reg = this.registration.registered;
    const sf = this.hv.pageTable.slotFrame;
    while (this.pos < this.orderLen) {
      const s = this.order[this.pos++]!;
      if (reg[s] !== 0 && sf[s]! >= 0) return s;
    }
    this.passActive = false;
    return -1;
  }

  abandon(): void {
    this.passActive = false;
  }

  peek(after: number, slots: Int32Array, frames: Int32Array, max: number, maxPositions: number, out: PeekResult | undefined, filter: HashAheadFilter): number {
    if (out) {
      out.passEnd = true;
      out.lastPosition = -1;
    }
    if (!this.passActive || after === -2) return 0;
    const reg = this.registration.registered;
    const sf = this.hv.pageTable.slotFrame;
    const order = this.order;
    let pos = after === -1 ? this.pos : after + 1;
    const end = Math.min(this.orderLen, pos + maxPositions);
    let n = 0;
    for (; pos < end && n < max; pos++) {
      const s = order[pos]!;
      if (reg[s] !== 1) continue;
      const f = sf[s]!;
      if (f < 0 || !filter.wouldHash(s, f)) continue;
      slots[n] = s;
      frames[n] = f;
      n++;
    }
    if (out) {
      out.passEnd = pos >= this.orderLen;
      out.lastPosition = pos - 1;
    }
    return n;
  }
}
