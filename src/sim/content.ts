/**
 * Page contents generated from the seed.
 *
 * Every page the simulation writes holds one *content*, named by a 32-bit content id:
 *   0                      the all-zero page
 *   1 .. 0x7fffffff        named contents: a region's original pages and "shared" writes. The
 *                          same id is written as the same bytes in every guest, and the driver
 *                          counts live copies of each (copies[id]) to see which writes create
 *                          duplicates (for time-to-merge).
 *   0x80000000 | serial    unique contents made by partial writes; never duplicated, not counted.
 *   NO_CONTENT             an unpopulated page (driver bookkeeping only).
 *
 * Bytes. A named content's page is: word 0 = the id, words 1..1023 = xorshift32 output from a
 * state derived from (id, seed). Word 0 alone makes different ids different pages, so nothing is
 * accidentally identical; the seed changes every other byte. A unique (partial) write puts a
 * 16-byte header at offset 0: UNIQUE_MAGIC (never a named id), the global serial, the guest id
 * and the gfn, followed by xorshift data up to the write size; the serial makes the page differ
 * from every other page, whatever the rest of it holds.
 *
 * Pages are filled into one reusable buffer (no allocation per page); named ids are handed out
 * in a fixed order by ContentIds, so the same spec and seed give the same ids.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";

export const ZERO_CONTENT = 0;
export const UNIQUE_BIT = 0x80000000;
export const NO_CONTENT = 0xffffffff;
export const UNIQUE_MAGIC = 0xffffffff;
const MAX_NAMED = 0x7fffffff;

/** murmur3's 32-bit finalizer: a bijection on 32-bit integers. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class PageFiller {
  readonly bytes = new Uint8Array(PAGE_SIZE);
  private readonly words = new Uint32Array(this.bytes.buffer);
  private readonly seedMix: number;

  constructor(seed: number) {
    this.seedMix = fmix32((seed ^ 0x9e3779b9) >>> 0);
  }

  /** Fills the buffer with named content `id` (1..0x7fffffff); returns the buffer. */
  named(id: number): Uint8Array {
    const w = this.words;
    w[0] = id;
    this.stream(fmix32((id ^ this.seedMix) >>> 0), 1, 1024);
    return this.bytes;
  }

  /** The first `size` bytes of a unique page: header + data. Returns a view of `size` bytes. */
  unique(serial: number, guestId: number, gfn: number, size: number): Uint8Array {
    const w = this.words;
    w[0] = UNIQUE_MAGIC;
    w[1] = serial;
    w[2] = guestId;
    w[3] = gfn;
    this.stream(fmix32((serial ^ this.seedMix ^ 0x5bd1e995) >>> 0), 4, size >>> 2);
    return size === PAGE_SIZE ? this.bytes : this.bytes.subarray(0, size);
  }

  private stream(state: number, from: number, to: number): void {
    let x = state === 0 ? 0x6d2b79f5 : state;
    const w = this.words;
    for (let i = from; i < to; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      w[i] = x >>> 0;
    }
  }
}

/**
 * Hands out named content ids: ranges for regions (by share key or per guest) and single ids
 * for "shared" writes keyed by (share key index, page, epoch). Also counts live copies.
 */
export class ContentIds {
  private next = 1;
  private readonly ranges = new Map<string, { base: number; size: number }>();
  private readonly keyIndex = new Map<string, number>();
  private readonly versions = new Map<number, number>();
  copies = new Int32Array(1 << 16);

  /** A range of `size` ids for `key`, the same range every time the key is asked for. */
  range(key: string, size: number): number {
    const r = this.ranges.get(key);
    if (r) {
      if (r.base < 0) r.base = this.alloc(r.size);
      if (size > r.size) throw new Error(`content range "${key}" asked for ${size} ids after ${r.size}`);
      return r.base;
    }
    const base = this.alloc(size);
    this.ranges.set(key, { base, size });
    return base;
  }

  /** Declares the largest size a key will need (call for every region before range()). */
  reserve(key: string, size: number): void {
    const r = this.ranges.get(key);
    if (r) r.size = Math.max(r.size, size);
    else this.ranges.set(key, { base: -1, size });
  }

  /** Allocates every reserved range, in declaration order. */
  allocateReserved(): void {
    for (const r of this.ranges.values()) if (r.base < 0) r.base = this.alloc(r.size);
  }

  /** The id of a "shared" write: the same (key, page, epoch) always gives the same id. */
  version(key: string, page: number, epoch: number): number {
    let k = this.keyIndex.get(key);
    if (k === undefined) {
      k = this.keyIndex.size;
      this.keyIndex.set(key, k);
    }
    const composite = (k * 2 ** 24 + page) * 2 ** 20 + (epoch % 2 ** 20);
    let id = this.versions.get(composite);
    if (id === undefined) {
      id = this.alloc(1);
      this.versions.set(composite, id);
    }
    return id;
  }

  private alloc(n: number): number {
    const base = this.next;
    this.next += n;
    if (this.next > MAX_NAMED) throw new Error(`out of named content ids`);
    if (this.next > this.copies.length) {
      let cap = this.copies.length;
      while (cap < this.next) cap *= 2;
      const c = new Int32Array(cap);
      c.set(this.copies);
      this.copies = c;
    }
    return base;
  }
}
