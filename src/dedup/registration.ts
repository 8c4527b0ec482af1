/**
 * Which page slots a scanner may merge (MADV_MERGEABLE, or every page with mergeAny): one byte
 * per slot, grown with the page table. Built before the scanner and shared with its VisitOrder.
 * The bytes live in a SharedArrayBuffer (partition workers read them in place).
 */
export class Registration {
  /** 1 = registered, 0 = not; indexed by page slot (hv.pageTable). */
  registered: Uint8Array = new Uint8Array(new SharedArrayBuffer(0));
  /** Registered slots: +1 / -1 as set() flips a slot's byte. */
  private nRegistered = 0;

  get count(): number {
    return this.nRegistered;
  }

  /** Grows to at least `capacity` slots (doubling); returns the new length. */
  grow(capacity: number): number {
    if (this.registered.length >= capacity) return this.registered.length;
    const r = new Uint8Array(new SharedArrayBuffer(Math.max(capacity, this.registered.length * 2)));
    r.set(this.registered);
    this.registered = r;
    return r.length;
  }

  set(first: number, count: number, value: 0 | 1): void {
    const r = this.registered;
    for (let s = first, e = first + count; s < e; s++) {
      if (r[s] !== value) {
        r[s] = value;
        this.nRegistered += value ? 1 : -1;
      }
    }
  }

  /** Throws (via `fail`) when the count disagrees with the bytes (scanner.audit()). */
  audit(fail: (msg: string) => never): void {
    let n = 0;
    for (let s = 0; s < this.registered.length; s++) {
      const v = this.registered[s]!;
      if (v > 1) fail(`registration: slot ${s} holds ${v}`);
      n += v;
    }
    if (n !== this.nRegistered) fail(`registration: count ${this.nRegistered}, recounted ${n}`);
  }
}
