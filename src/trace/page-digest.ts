/**
 * Per-page digests, the zero-page test and the compressed-size class.
 *
 * Digest: XXH3-128 (seed 0) of the 4 KiB page, stored as its canonical 16 bytes (the byte order
 * `xxhsum -H2` prints), computed with hash-wasm's xxhash128. Measured on this machine class
 * (src/trace/readers.bench.ts, one core, cold 128 MiB sweep): hash-wasm xxhash128 ~1.0 us per page
 * (~4 GB/s, including the copy into wasm memory and the 16-byte digest it allocates), two seeded
 * Bun.hash.xxHash3 runs ~0.3 us, xxHash3 + wyhash ~0.35-0.5 us, crc32 (32 bits only) ~0.3 us. The
 * two-seed pair is faster but is not an analysed 128-bit hash (two runs of one 64-bit function
 * whose seed only re-keys its secret); XXH3-128 is, has a name others can recompute (python
 * xxhash.xxh3_128, xxhsum -H2), and keeps the readers well above 1 GB/s. With n pages the chance of
 * any collision is about n^2 / 2^129 (10^-23 for 10^8 pages).
 *
 * Zero pages are recognised by their bytes (a memcmp against a zero page), never by digest, and are
 * not hashed: their digest is implicit.
 *
 * Size class: the page's size compressed with zstd level 1 (Bun.zstdCompressSync, frame included),
 * in 1/16ths of a page rounded up and clamped to 1..16 (16 = does not compress below 15/16). zstd -1
 * was the fastest of the codecs measured (~4 us per page, against ~8-10 us for Bun.deflateSync and
 * ~13 us for node:zlib deflateRawSync at level 1) and is one of zram's algorithms. A size class is
 * a function of the content, so callers compute it once per distinct digest (DigestTable.aux).
 */
import { createXXHash128 } from "hash-wasm";
import { PAGE_SIZE } from "../hypervisor/index.ts";

export const DIGEST_NAME = "xxh3-128";
export const SIZE_CLASS_CODEC = "zstd-1";
export const DIGEST_BYTES = 16;

/** Page states as stored in a snapshot. */
export const PAGE_UNPOPULATED = 0; // no host backing / not in the dump
export const PAGE_ZERO = 1; // populated, all bytes zero
export const PAGE_CONTENT = 2; // populated, some byte non-zero; has a digest

const hasher = await createXXHash128();
const ZERO = Buffer.alloc(PAGE_SIZE);

/** True when buf[off, off + 4096) is all zero bytes. No allocation. */
export function isZeroPage(buf: Buffer, off: number): boolean {
  return buf.compare(ZERO, 0, PAGE_SIZE, off, off + PAGE_SIZE) === 0;
}

/** Writes the XXH3-128 digest of buf[off, off + 4096) to out[outOff, outOff + 16). */
export function digestPage(buf: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  hasher.init();
  hasher.update(buf.subarray(off, off + PAGE_SIZE));
  out.set(hasher.digest("binary"), outOff);
}

/** The page's zstd-1 size in 1/16ths of a page, 1..16. */
export function sizeClassOf(page: Uint8Array): number {
  const n = Bun.zstdCompressSync(page, { level: 1 }).length;
  return Math.min(16, Math.max(1, Math.ceil((n * 16) / PAGE_SIZE)));
}

/** Size class of an all-zero page (computed once). */
export const ZERO_SIZE_CLASS = sizeClassOf(new Uint8Array(PAGE_SIZE));
