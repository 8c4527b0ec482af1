/**
 * Micro-benchmarks of the scanners' per-page primitives (mitata), each beside the reference it is
 * judged against, measured in the same run:
 *   - references: a sequential read of one 4 KiB page (JS Int32 xor loop, the best JS read) and a
 *     plain 4 KiB copy (Uint8Array.set) of the same bytes;
 *   - page hash with each candidate: Bun.hash.xxHash3 (the one the scanners use), Bun.hash.crc32
 *     (32-bit only), Bun.hash.wyhash, and hash-wasm's xxhash64 (the portable reference);
 *   - page compare, equal (reads both pages to the end) and unequal (differs at byte 0), with
 *     Buffer.compare on views, as MachineMemory.compareFrames does;
 *   - the zero-page test (Buffer.compare against ZERO_PAGE) on a page of zeros (reads all of it);
 *   - the vmdedup hash index: lookup of a present key and insert+remove, against a JS Map holding
 *     the same number of entries (skipped if the index module is not there).
 * Page benchmarks step one page per call through a region far larger than L2 (a cold sequential
 * sweep, as a scanner does); every page is random (xorshift32), so no two pages are alike.
 */
import { bench, do_not_optimize, group } from "mitata";
import { createXXHash64 } from "hash-wasm";
import { PAGE_SIZE, ZERO_PAGE } from "../hypervisor/index.ts";
import type { RatioPair } from "../hypervisor/hypervisor.bench.ts";

export const READ_REF = "read 4 KiB page (JS Int32 xor loop)";
export const COPY_REF = "copy 4 KiB page (Uint8Array.set)";

/** A ratio pair whose reference has its own divisor (default: perPageDivisor, as for RatioPair). */
export interface BenchPair extends RatioPair {
  referenceDivisor?: number;
}

export interface Registered {
  pairs: BenchPair[];
  skipped: { name: string; reason: string }[];
}

function randomRegion(pages: number, seed: number): Uint8Array {
  const u32 = new Uint32Array((pages * PAGE_SIZE) >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < u32.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    u32[i] = x;
  }
  return new Uint8Array(u32.buffer);
}

/** The reference sequential read: xor of the page's 32-bit words, unrolled x4. */
export function readPage(i32: Int32Array, firstWord: number): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = firstWord, end = firstWord + PAGE_SIZE / 4; i < end; i += 4) {
    a ^= i32[i]!;
    b ^= i32[i + 1]!;
    c ^= i32[i + 2]!;
    d ^= i32[i + 3]!;
  }
  return a ^ b ^ c ^ d;
}

export async function registerPageBenchmarks(scale = 1): Promise<Registered> {
  const pages = Math.max(4096, Math.round(32768 * scale)); // 128 MiB at scale 1
  const a = randomRegion(pages, 0x9e3779b9);
  const twin = a.slice(); // equal page for page
  const zeros = new Uint8Array(pages * PAGE_SIZE).fill(1).fill(0); // touched, so really in memory
  const aBuf = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const twinBuf = Buffer.from(twin.buffer);
  const zeroBuf = Buffer.from(zeros.buffer);
  const zeroPage = Buffer.from(ZERO_PAGE.buffer, ZERO_PAGE.byteOffset, PAGE_SIZE);
  const i32 = new Int32Array(a.buffer);
  const dst = new Uint8Array(PAGE_SIZE);
  const wasm = await createXXHash64();
  let cur = 0;
  const next = () => (cur = cur + 1 === pages ? 0 : cur + 1) * PAGE_SIZE;

  group("page primitives (cold sweep, one 4 KiB page per call)", () => {
    bench(READ_REF, () => do_not_optimize(readPage(i32, next() >>> 2)));
    bench(COPY_REF, () => {
      const off = next();
      dst.set(a.subarray(off, off + PAGE_SIZE));
      do_not_optimize(dst);
    });
    bench("hash Bun.hash.xxHash3", () => {
      const off = next();
      do_not_optimize(Bun.hash.xxHash3(a.subarray(off, off + PAGE_SIZE)));
    });
    bench("hash Bun.hash.crc32", () => {
      const off = next();
      do_not_optimize(Bun.hash.crc32(a.subarray(off, off + PAGE_SIZE)));
    });
    bench("hash Bun.hash.wyhash", () => {
      const off = next();
      do_not_optimize(Bun.hash.wyhash(a.subarray(off, off + PAGE_SIZE)));
    });
    bench("hash hash-wasm xxhash64", () => {
      const off = next();
      do_not_optimize(wasm.init().update(a.subarray(off, off + PAGE_SIZE)).digest("binary"));
    });
    bench("compare equal pages (Buffer.compare)", () => {
      const off = next();
      do_not_optimize(Buffer.compare(aBuf.subarray(off, off + PAGE_SIZE), twinBuf.subarray(off, off + PAGE_SIZE)));
    });
    bench("compare unequal pages (Buffer.compare)", () => {
      const off = next();
      const other = off === 0 ? PAGE_SIZE : off - PAGE_SIZE;
      do_not_optimize(Buffer.compare(aBuf.subarray(off, off + PAGE_SIZE), aBuf.subarray(other, other + PAGE_SIZE)));
    });
    bench("zero-page test of a zero page", () => {
      const off = next();
      do_not_optimize(Buffer.compare(zeroBuf.subarray(off, off + PAGE_SIZE), zeroPage));
    });
  });

  const pairs: RatioPair[] = [
    { name: "hash xxHash3 / sequential read", subject: "hash Bun.hash.xxHash3", reference: READ_REF, perPageDivisor: 1 },
    { name: "hash crc32 / sequential read", subject: "hash Bun.hash.crc32", reference: READ_REF, perPageDivisor: 1 },
    { name: "hash wyhash / sequential read", subject: "hash Bun.hash.wyhash", reference: READ_REF, perPageDivisor: 1 },
    { name: "hash hash-wasm xxhash64 / sequential read", subject: "hash hash-wasm xxhash64", reference: READ_REF, perPageDivisor: 1 },
    { name: "hash xxHash3 / plain 4 KiB copy", subject: "hash Bun.hash.xxHash3", reference: COPY_REF, perPageDivisor: 1 },
    { name: "compare equal (2 pages) / sequential read", subject: "compare equal pages (Buffer.compare)", reference: READ_REF, perPageDivisor: 1 },
    { name: "compare unequal / sequential read", subject: "compare unequal pages (Buffer.compare)", reference: READ_REF, perPageDivisor: 1 },
    { name: "zero-page test / sequential read", subject: "zero-page test of a zero page", reference: READ_REF, perPageDivisor: 1 },
  ];
  const index = await registerIndexBenchmarks(scale);
  return { pairs: [...pairs, ...index.pairs], skipped: index.skipped };
}

/** Hash index lookup and insert+remove at the size of a full host's pages, against a JS Map. */
async function registerIndexBenchmarks(scale: number): Promise<Registered> {
  let HashIndex: typeof import("./hash/hash-index.ts").HashIndex;
  try {
    ({ HashIndex } = await import("./hash/hash-index.ts"));
  } catch (e) {
    return { pairs: [], skipped: [{ name: "hash index", reason: `src/dedup/vmdedup/hash-index.ts: ${(e as Error).message}` }] };
  }
  const n = Math.max(1 << 16, Math.round((1 << 20) * scale)); // 1 Mi entries = 4 GiB of pages
  const keys = new Uint32Array(n * 2);
  let x = 0x12345678;
  for (let i = 0; i < keys.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x >>> 0;
  }
  const index = new HashIndex(n);
  const map = new Map<number, number>();
  const mapKey = (i: number) => keys[2 * i]! * 0x200000 + (keys[2 * i + 1]! & 0x1fffff); // 53-bit number key
  for (let i = 0; i < n; i++) {
    index.insert(keys[2 * i]!, keys[2 * i + 1]!, i, 0, -1);
    map.set(mapKey(i), i);
  }
  let cur = 0;
  const next = () => (cur = cur + 7919 >= n ? (cur + 7919) % n : cur + 7919); // strided: no cache-friendly order
  let fresh = 0x7fffffff;
  group(`hash index (${n} entries)`, () => {
    bench("index lookup (HashIndex.first)", () => {
      const i = next();
      do_not_optimize(index.first(keys[2 * i]!, keys[2 * i + 1]!));
    });
    bench("index insert+remove (HashIndex)", () => {
      const i = next();
      const hi = keys[2 * i]! ^ 0x5bd1e995;
      index.remove(index.insert(hi, keys[2 * i + 1]!, fresh--, 0, -1));
      if (fresh < 0x70000000) fresh = 0x7fffffff;
    });
    bench("JS Map lookup (same entries)", () => do_not_optimize(map.get(mapKey(next()))));
    bench("JS Map set+delete (same entries)", () => {
      const k = -1 - mapKey(next()); // negative: never one of the entries
      map.set(k, 1);
      map.delete(k);
    });
  });
  return {
    pairs: [
      { name: "index lookup / JS Map lookup", subject: "index lookup (HashIndex.first)", reference: "JS Map lookup (same entries)", perPageDivisor: 1 },
      { name: "index insert+remove / JS Map set+delete", subject: "index insert+remove (HashIndex)", reference: "JS Map set+delete (same entries)", perPageDivisor: 1 },
    ],
    skipped: [],
  };
}
