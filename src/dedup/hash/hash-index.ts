/**
 * A hash index of 64-bit page fingerprints: an open-addressing multimap over typed arrays.
 *
 * Algorithm. Linear probing in a power-of-two table. An entry's home bucket is a multiplicative
 * mix of its two 32-bit key halves (so that even small or constant injected fingerprints spread
 * as well as they can). All entries with one key sit in the run of occupied buckets that starts at
 * their home bucket, so a lookup walks from the home bucket to the first empty bucket and reports
 * every bucket whose key matches (several entries may share a key: hash collisions between
 * different contents, and several frames of one content when max_page_sharing caps a frame).
 * Deletion is by backward shift (Knuth 6.4, algorithm R): the hole is filled by the next entry of
 * the run that may legally move there, repeatedly, so there are no tombstones and lookups never
 * slow down with churn. The table doubles and rehashes when it would pass a load of 0.7.
 *
 * Entry moves only go to buckets at or after the hole (cyclically), so a caller iterating the
 * matches of one key may delete the entry at `pos` and continue with `scan(pos, ...)`.
 *
 * Per-key order. The entries of one key are always met in the order they were inserted, whatever
 * other keys did: an insert lands after every entry of its key (they lie in one unbroken run from
 * the home bucket), a backward shift never moves an entry past another of its key (an entry that
 * may not move stops every later entry of the same home), and a rehash re-inserts the buckets
 * starting just after an empty one, so a run that wraps around the end of the table keeps its
 * order. Lookups therefore decide the same in one table or in several tables that split the keys
 * (the scanner's partitions by fingerprint, hash-scanner-base.ts), at any capacity.
 *
 * Shared tables (`shared`: the arrays live in SharedArrayBuffers, and so does the entry count):
 * the partition workers use such a table in place (HashIndex.attach on exportState()). Only the
 * owner may grow it (reserve/rehash replace the arrays); a worker inserts only into room the
 * owner reserved.
 *
 * Structures (struct of arrays, one element per bucket; no object per entry):
 *   keyHi, keyLo  Uint32Array  the fingerprint's halves
 *   frame         Int32Array   a machine frame number; -1 marks an empty bucket
 *   gen           Uint32Array  the frame's write generation when the entry was made
 *   aux           Int32Array   the policy's datum (a back-reference slot for unshared pages,
 *                              -1 for shared frames)
 * BYTES_PER_BUCKET = 20.
 */
import { InvalidArgumentError } from "../../hypervisor/index.ts";

const EMPTY = -1;

/** What a worker needs to use a shared table in place (HashIndex.attach). */
export interface HashIndexState {
  keyHi: Uint32Array;
  keyLo: Uint32Array;
  frame: Int32Array;
  gen: Uint32Array;
  aux: Int32Array;
  /** [entry count] (shared). */
  header: Int32Array;
  bits: number;
}
const MAX_LOAD = 0.7;
const MIN_BITS = 4;

export class HashIndex {
  static readonly BYTES_PER_BUCKET = 20;
  keyHi: Uint32Array;
  keyLo: Uint32Array;
  frame: Int32Array;
  gen: Uint32Array;
  aux: Int32Array;
  /** header[0]: entries in the table: +1 per insert, -1 per remove, 0 at clear (read-only outside: `count`). */
  private header: Int32Array;
  private bits: number;
  private mask: number;
  private limit: number;
  /** Arrays in SharedArrayBuffers (partition workers use the table in place). */
  readonly shared: boolean;

  constructor(initialCapacity = 1 << MIN_BITS, shared = false) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > 1 << 30)
      throw new InvalidArgumentError(`initial capacity must be an integer from 1 to 2^30, got ${initialCapacity}`);
    let bits = MIN_BITS;
    while (1 << bits < initialCapacity) bits++;
    this.shared = shared;
    this.header = new Int32Array(shared ? new SharedArrayBuffer(8) : new ArrayBuffer(8));
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.limit = Math.floor((1 << bits) * MAX_LOAD);
    this.keyHi = this.u32(1 << bits);
    this.keyLo = this.u32(1 << bits);
    this.frame = this.i32(1 << bits).fill(EMPTY);
    this.gen = this.u32(1 << bits);
    this.aux = this.i32(1 << bits);
  }

  /** A worker's handle on a shared table (same arrays, same count). */
  static attach(st: HashIndexState): HashIndex {
    const ix = Object.create(HashIndex.prototype) as HashIndex;
    const w = ix as unknown as { shared: boolean; header: Int32Array; bits: number; mask: number; limit: number };
    w.shared = true;
    w.header = st.header;
    w.bits = st.bits;
    w.mask = (1 << st.bits) - 1;
    w.limit = Math.floor((1 << st.bits) * MAX_LOAD);
    ix.keyHi = st.keyHi;
    ix.keyLo = st.keyLo;
    ix.frame = st.frame;
    ix.gen = st.gen;
    ix.aux = st.aux;
    return ix;
  }

  /** The arrays and count of a shared table, for attach() in a worker (valid until the next rehash). */
  exportState(): HashIndexState {
    return { keyHi: this.keyHi, keyLo: this.keyLo, frame: this.frame, gen: this.gen, aux: this.aux, header: this.header, bits: this.bits };
  }

  /** Entries that fit before the next insert would rehash. */
  get room(): number {
    return this.limit - this.header[0]!;
  }

  private u32(n: number): Uint32Array {
    return new Uint32Array(this.shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
  }

  private i32(n: number): Int32Array {
    return new Int32Array(this.shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
  }

  get count(): number {
    return this.header[0]!;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  get byteLength(): number {
    return this.capacity * HashIndex.BYTES_PER_BUCKET;
  }

  /** The home bucket of a key. */
  home(hi: number, lo: number): number {
    return Math.imul((lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** First bucket at or after `pos` (cyclically, within the run) holding key (hi, lo); -1 if none. */
  scan(pos: number, hi: number, lo: number): number {
    const fr = this.frame;
    const kh = this.keyHi;
    const kl = this.keyLo;
    const mask = this.mask;
    let p = pos & mask;
    while (fr[p] !== EMPTY) {
      if (kl[p] === lo && kh[p] === hi) return p;
      p = (p + 1) & mask;
    }
    return -1;
  }

  /** First entry with key (hi, lo), or -1. */
  first(hi: number, lo: number): number {
    return this.scan(this.home(hi, lo), hi, lo);
  }

  /** The entry after `pos` with the same key, or -1. */
  next(pos: number, hi: number, lo: number): number {
    return this.scan(pos + 1, hi, lo);
  }

  /** The entry with key (hi, lo), frame `frame` and aux `aux`, or -1. */
  locate(hi: number, lo: number, frame: number, aux: number): number {
    for (let p = this.first(hi, lo); p >= 0; p = this.next(p, hi, lo)) {
      if (this.frame[p] === frame && this.aux[p] === aux) return p;
    }
    return -1;
  }

  /** Adds an entry (keys may repeat) and returns its bucket (valid until the next insert/remove). */
  insert(hi: number, lo: number, frame: number, gen: number, aux: number): number {
    if (frame < 0) throw new InvalidArgumentError(`frame must be >= 0, got ${frame}`);
    if (this.header[0]! + 1 > this.limit) this.rehash(this.bits + 1);
    const p = this.place(hi, lo);
    this.keyHi[p] = hi;
    this.keyLo[p] = lo;
    this.frame[p] = frame;
    this.gen[p] = gen;
    this.aux[p] = aux;
    this.header[0]!++;
    return p;
  }

  /** Removes the entry at bucket `pos` by backward shift. */
  remove(pos: number): void {
    const fr = this.frame;
    if (pos < 0 || pos > this.mask || fr[pos] === EMPTY) throw new InvalidArgumentError(`bucket ${pos} holds no entry`);
    const mask = this.mask;
    let hole = pos;
    let j = pos;
    for (;;) {
      j = (j + 1) & mask;
      if (fr[j] === EMPTY) break;
      const k = this.home(this.keyHi[j]!, this.keyLo[j]!);
      // The entry at j may stay if its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      this.keyHi[hole] = this.keyHi[j]!;
      this.keyLo[hole] = this.keyLo[j]!;
      fr[hole] = fr[j]!;
      this.gen[hole] = this.gen[j]!;
      this.aux[hole] = this.aux[j]!;
      hole = j;
    }
    fr[hole] = EMPTY;
    this.header[0]!--;
  }

  /** Grows the table now so that `entries` entries fit without a rehash. */
  reserve(entries: number): void {
    let bits = this.bits;
    while (Math.floor((1 << bits) * MAX_LOAD) < entries && bits < 30) bits++;
    if (bits > this.bits) this.rehash(bits);
  }

  /** Forgets every entry (keeps the capacity). */
  clear(): void {
    this.frame.fill(EMPTY);
    this.header[0] = 0;
  }

  /** First empty bucket of the run starting at the key's home. */
  private place(hi: number, lo: number): number {
    const fr = this.frame;
    let p = this.home(hi, lo);
    while (fr[p] !== EMPTY) p = (p + 1) & this.mask;
    return p;
  }

  /** Re-inserts every entry into a table of 2^bits buckets, starting just after an empty bucket
   * so that a run wrapping around the end keeps its order (see "Per-key order"). */
  private rehash(bits: number): void {
    const { keyHi, keyLo, frame, gen, aux } = this;
    const old = frame.length;
    const n = 1 << bits;
    this.bits = bits;
    this.mask = n - 1;
    this.limit = Math.floor(n * MAX_LOAD);
    this.keyHi = this.u32(n);
    this.keyLo = this.u32(n);
    this.frame = this.i32(n).fill(EMPTY);
    this.gen = this.u32(n);
    this.aux = this.i32(n);
    let start = 0;
    while (start < old && frame[start] !== EMPTY) start++; // load <= 0.7: there is an empty bucket
    for (let k = 1; k <= old; k++) {
      const i = (start + k) % old;
      if (frame[i] === EMPTY) continue;
      const p = this.place(keyHi[i]!, keyLo[i]!);
      this.keyHi[p] = keyHi[i]!;
      this.keyLo[p] = keyLo[i]!;
      this.frame[p] = frame[i]!;
      this.gen[p] = gen[i]!;
      this.aux[p] = aux[i]!;
    }
  }
}
