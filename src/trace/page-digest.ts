/**
 * Per-page digests, the zero-page test and the compressed-size class.
 *
 * Digest "xxh3-64x2": XXH3-64 of the 4 KiB page with seed 0, then XXH3-64 with seed 0x9E3779B9,
 * each written big-endian (the byte order xxhsum prints), 16 bytes in all; computed with
 * Bun.hash.xxHash3 (python: xxhash.xxh3_64_digest(page, seed=...)). The second seed fits in 32 bits on
 * purpose: Bun.hash.xxHash3 keeps only a seed's low 32 bits (checked against hash-wasm's XXH3-64,
 * which matches the xxHash reference vectors: equal for seeds below 2^32, different above), and the
 * tests check every digest against hash-wasm's createXXHash3. Chosen by measurement
 * (src/trace/readers.bench.ts, one core, cold 128 MiB sweep of random pages, this machine class,
 * three runs): two seeded Bun.hash.xxHash3 0.25-0.40 us per page; xxHash3 + wyhash 0.39-0.47;
 * hash-wasm xxhash128 (XXH3-128) 1.05-1.26 (the copy into wasm memory and a 16-byte result per
 * call); a plain read of the page 0.31-0.66; crc32 (32 bits only) 0.31-0.52. Quality is equal
 * for this use: XXH3-128 on inputs this long runs one 512-bit accumulation and merges it twice,
 * while the two seeds run two accumulations under two secrets derived from the seeds, so a
 * collision must happen in both; neither is meant to resist an adversary, and a simulator's
 * merge still compares bytes. With n pages the chance of any collision is about n^2 / 2^129
 * (10^-23 for 10^8 pages). At 3-4x the speed of hash-wasm's it keeps the readers well above
 * 1 GB/s on dumps with no zero pages. xxHash3+wyhash is close, but its wyhash variant is Zig's own.
 *
 * Zero pages are recognised by their bytes (a memcmp against a zero page), never by digest, and are
 * not hashed: their digest is implicit.
 *
 * Size class: the page's size compressed with zstd level 1 (Bun.zstdCompressSync, frame included),
 * in 1/16ths of a page rounded up and clamped to 1..16 (16 = does not compress below 15/16). zstd -1
 * was the fastest codec measured on compressible pages (1.44-1.54 us per page, 27 bytes on average
 * for the benchmark's text pages, against 1.95-1.99 us and 54 bytes for Bun.deflateSync level 1 and
 * 5.0-7.3 us for node:zlib deflateRawSync level 1) and is one of zram's algorithms. A size class is a function of
 * the content, so callers compute it once per distinct digest (DigestTable.aux).
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";

export const DIGEST_NAME = "xxh3-64x2";
export const DIGEST_SEED_2 = 0x9e3779b9n;
export const SIZE_CLASS_CODEC = "zstd-1";
export const DIGEST_BYTES = 16;

/** Page states as stored in a snapshot. */
export const PAGE_UNPOPULATED = 0; // no host backing / not in the dump
export const PAGE_ZERO = 1; // populated, all bytes zero
export const PAGE_CONTENT = 2; // populated, some byte non-zero; has a digest

const ZERO = Buffer.alloc(PAGE_SIZE);

/** True when buf[off, off + 4096) is all zero bytes. No allocation. */
export function isZeroPage(buf: Buffer, off: number): boolean {
  return buf.compare(ZERO, 0, PAGE_SIZE, off, off + PAGE_SIZE) === 0;
}

let viewBuf: Uint8Array | null = null;
let view: DataView = new DataView(new ArrayBuffer(16));

/** Writes the xxh3-64x2 digest of buf[off, off + 4096) to out[outOff, outOff + 16). */
export function digestPage(buf: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  const page = buf.subarray(off, off + PAGE_SIZE);
  if (out !== viewBuf) {
    viewBuf = out;
    view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  }
  view.setBigUint64(outOff, Bun.hash.xxHash3(page, 0n), false);
  view.setBigUint64(outOff + 8, Bun.hash.xxHash3(page, DIGEST_SEED_2), false);
}

/** The page's zstd-1 size in 1/16ths of a page, 1..16. */
export function sizeClassOf(page: Uint8Array): number {
  const n = Bun.zstdCompressSync(page, { level: 1 }).length;
  return Math.min(16, Math.max(1, Math.ceil((n * 16) / PAGE_SIZE)));
}

/** Size class of an all-zero page (computed once). */
export const ZERO_SIZE_CLASS = sizeClassOf(new Uint8Array(PAGE_SIZE));
