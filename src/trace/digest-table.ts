/**
 * An open-addressing hash table keyed by 128-bit page digests (16 bytes, read as four u32
 * words), holding per distinct digest: how many pages carry it (count), the last guest seen with
 * it (lastGuest: distinct contents within each guest are counted in the same single pass), and one
 * byte of payload (aux: the size class, so the codec runs once per distinct content).
 * Typed arrays only; linear probing on the digest's first word (already well mixed: XXH3 output);
 * load factor at most 1/2; doubling. Memory: 30 bytes per slot, so O(distinct digests).
 */

export class DigestTable {
  private keys: Uint32Array;
  private used: Uint8Array;
  /** Pages counted under this digest (callers increment). */
  count: Uint32Array;
  /** Index of the last guest counted under this digest, -1 before any. */
  lastGuest: Int32Array;
  /** One byte per digest for the caller (the size class). */
  aux: Uint8Array;
  private mask: number;
  /** Distinct digests held. */
  size = 0;
  /** Whether the last slotOf() inserted the digest. */
  inserted = false;

  constructor(expectedDistinct = 1 << 12) {
    let cap = 16;
    while (cap < expectedDistinct * 2) cap *= 2;
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap * 4);
    this.used = new Uint8Array(cap);
    this.count = new Uint32Array(cap);
    this.lastGuest = new Int32Array(cap).fill(-1);
    this.aux = new Uint8Array(cap);
  }

  /** The slot of the digest at words d[w*4 .. w*4+4); inserted with count 0 when absent. */
  slotOf(d: Uint32Array, w: number): number {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const b = w * 4;
    const k0 = d[b]!, k1 = d[b + 1]!, k2 = d[b + 2]!, k3 = d[b + 3]!;
    const keys = this.keys;
    const used = this.used;
    let i = k0 & this.mask;
    while (used[i] === 1) {
      const o = i * 4;
      if (keys[o] === k0 && keys[o + 1] === k1 && keys[o + 2] === k2 && keys[o + 3] === k3) {
        this.inserted = false;
        return i;
      }
      i = (i + 1) & this.mask;
    }
    const o = i * 4;
    keys[o] = k0;
    keys[o + 1] = k1;
    keys[o + 2] = k2;
    keys[o + 3] = k3;
    used[i] = 1;
    this.size++;
    this.inserted = true;
    return i;
  }

  private grow(): void {
    const { keys, used, count, lastGuest, aux } = this;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap * 4);
    this.used = new Uint8Array(cap);
    this.count = new Uint32Array(cap);
    this.lastGuest = new Int32Array(cap).fill(-1);
    this.aux = new Uint8Array(cap);
    for (let j = 0; j < used.length; j++) {
      if (used[j] !== 1) continue;
      let i = keys[j * 4]! & this.mask;
      while (this.used[i] === 1) i = (i + 1) & this.mask;
      this.keys.set(keys.subarray(j * 4, j * 4 + 4), i * 4);
      this.used[i] = 1;
      this.count[i] = count[j]!;
      this.lastGuest[i] = lastGuest[j]!;
      this.aux[i] = aux[j]!;
    }
  }

  /** Histogram of counts over held digests: map count -> digests with that count (not a hot path). */
  countHistogram(): Map<number, number> {
    const h = new Map<number, number>();
    for (let i = 0; i < this.used.length; i++) if (this.used[i] === 1) h.set(this.count[i]!, (h.get(this.count[i]!) ?? 0) + 1);
    return h;
  }
}
