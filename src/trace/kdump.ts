/**
 * The kdump-compressed ("diskdump") format: makedumpfile's diskdump_mod.h, as QEMU dump/dump.c
 * writes it (include/sysemu/dump.h: DiskDumpHeader32/64, KdumpSubHeader32/64, PageDescriptor),
 * either plain (QEMU 8.2+ kdump-raw-*, makedumpfile) or inside a flattened stream (flattened.ts).
 * Blocks of block_size bytes (= the page size; we accept 4096 only):
 *   block 0      DiskDumpHeader: "KDUMP   ", header_version, utsname (6 x 65 bytes; release at
 *                byte 142), a timestamp (22 bytes packed on 64-bit, 10 on 32-bit), status,
 *                block_size, sub_hdr_size, bitmap_blocks, max_mapnr (u32, obsolete from v6), ...
 *   block 1      KdumpSubHeader (sub_hdr_size blocks): from v6, max_mapnr_64 at byte 96 (64-bit) /
 *                72 (32-bit).
 *   bitmaps      bitmap_blocks blocks: the first half is bitmap 1 (frame is RAM), the second
 *                bitmap 2 (frame is dumped); bit n of byte n/8 (LSB first) is frame n.
 *   descriptors  one PageDescriptor {u64 offset; u32 size; u32 flags; u64 page_flags} (24 bytes)
 *                per frame set in bitmap 2, in frame order;
 *   page data    at the descriptors' offsets; flags 0 raw (size = block_size), 0x1 zlib,
 *                0x2 lzo, 0x4 snappy, 0x20 zstd. QEMU points every zero page at one shared block.
 * The guest's pages are the RAM frames (bitmap 1) in frame order; frames in bitmap 1 and not in
 * bitmap 2 (excluded by a makedumpfile dump level) stay unpopulated. The header's endianness and
 * 32/64-bit layout are found by which reading gives a power-of-two block_size.
 * Streaming: descriptors are read sequentially through a 1 MiB window and page data through a
 * 4 MiB window (QEMU writes data in frame order, so reads are sequential bar the zero block);
 * a descriptor equal to the one that last gave an all-zero page is a zero page without inflating.
 * zlib pages use node:zlib, zstd pages Bun's zstd; lzo and snappy have no well-kept npm decoder
 * (none among the packages this project may use), so they raise UnsupportedCompressionError.
 */
import { inflateSync } from "node:zlib";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import type { DumpFile, DumpReader, Extent, PageSink } from "./dump-file.ts";
import { DumpFormatError, UnsupportedCompressionError } from "./errors.ts";
import type { DumpImage } from "./flattened.ts";
import { isZeroPage } from "./page-digest.ts";

export const KDUMP_SIGNATURE = "KDUMP   ";
export const DUMP_DH_COMPRESSED_ZLIB = 0x1;
export const DUMP_DH_COMPRESSED_LZO = 0x2;
export const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
export const DUMP_DH_COMPRESSED_ZSTD = 0x20;
const DESC_BYTES = 24;

/** A read window over a DumpImage: large reads, small views. */
class Window {
  buf: Buffer;
  private start = 0;
  private end = 0;
  constructor(private readonly image: DumpImage, private readonly path: string, bytes: number) {
    this.buf = Buffer.allocUnsafe(bytes);
  }
  /** Offset in this.buf of image bytes [pos, pos + len). */
  at(pos: number, len: number, what: string): number {
    if (pos >= this.start && pos + len <= this.end) return pos - this.start;
    const n = Math.min(this.buf.length, this.image.size - pos);
    if (pos < 0 || n < len) throw new DumpFormatError(this.path, pos, `${len} bytes of ${what}${this.image.flattened ? " (offset in the reassembled image)" : ""}`, `the dump ends at ${this.image.size}`);
    this.image.read(pos, n, this.buf, 0, what);
    this.start = pos;
    this.end = pos + n;
    return 0;
  }
}

interface Layout {
  le: boolean;
  is64: boolean;
}

function detectLayout(h: Buffer): Layout | null {
  for (const le of [true, false]) {
    for (const is64 of [true, false]) {
      const bs = le ? h.readUInt32LE(is64 ? 428 : 416) : h.readUInt32BE(is64 ? 428 : 416);
      if (bs >= 512 && bs <= 1 << 20 && (bs & (bs - 1)) === 0) return { le, is64 };
    }
  }
  return null;
}

export class KdumpReader implements DumpReader {
  readonly format = "kdump";
  readonly pageCount: number;
  readonly extents: readonly Extent[];
  readonly guestKernel?: string;
  private readonly le: boolean;
  private readonly bitmap1: Buffer;
  private readonly bitmap2: Buffer;
  private readonly descOffset: number;
  readonly dumpedPages: number;

  constructor(private readonly file: DumpFile, private readonly image: DumpImage) {
    const where = image.flattened ? " (offset in the reassembled image)" : "";
    if (image.size < 512) throw new DumpFormatError(file.path, 0, `a kdump header${where}`, `the dump is ${image.size} bytes`);
    const h = Buffer.alloc(512);
    image.read(0, 512, h, 0, "the kdump header");
    if (h.toString("latin1", 0, 8) !== KDUMP_SIGNATURE) throw new DumpFormatError(file.path, 0, `the kdump signature "KDUMP   "${where}`, `found ${JSON.stringify(h.toString("latin1", 0, 8))}`);
    const lay = detectLayout(h);
    if (!lay) throw new DumpFormatError(file.path, 428, "a power-of-two block_size in the kdump header", "none at the 64-bit or 32-bit position in either byte order");
    const u32 = (o: number) => (lay.le ? h.readUInt32LE(o) : h.readUInt32BE(o));
    this.le = lay.le;
    const base = lay.is64 ? 0 : -12;
    const version = u32(8);
    const blockSize = u32(428 + base), subHdrBlocks = u32(432 + base), bitmapBlocks = u32(436 + base);
    if (blockSize !== PAGE_SIZE) throw new DumpFormatError(file.path, 428 + base, `block_size ${PAGE_SIZE} (the page size)`, `found ${blockSize}`);
    const rel = h.toString("latin1", 142, 142 + 65);
    const release = rel.slice(0, Math.max(0, rel.indexOf("\0") < 0 ? 65 : rel.indexOf("\0")));
    if (release) this.guestKernel = release;
    let maxMapnr = u32(440 + base);
    if (version >= 6) {
      const sub = Buffer.alloc(104);
      image.read(blockSize, 104, sub, 0, "the kdump sub-header");
      const v = lay.le ? sub.readBigUInt64LE(lay.is64 ? 96 : 72) : sub.readBigUInt64BE(lay.is64 ? 96 : 72);
      if (v >= 1n << 40n) throw new DumpFormatError(file.path, blockSize + (lay.is64 ? 96 : 72), "max_mapnr_64 below 2^40", `found ${v}`);
      maxMapnr = Number(v);
    }
    if (bitmapBlocks % 2 !== 0) throw new DumpFormatError(file.path, 436 + base, "an even bitmap_blocks (two bitmaps of equal size)", `found ${bitmapBlocks}`);
    const half = (bitmapBlocks / 2) * blockSize;
    if (half * 8 < maxMapnr) throw new DumpFormatError(file.path, 436 + base, `bitmaps of at least max_mapnr = ${maxMapnr} bits`, `bitmap_blocks ${bitmapBlocks} gives ${half * 8} bits`);
    const bitmapOffset = (1 + subHdrBlocks) * blockSize;
    const bytes = Math.ceil(maxMapnr / 8);
    this.bitmap1 = Buffer.alloc(bytes);
    this.bitmap2 = Buffer.alloc(bytes);
    image.read(bitmapOffset, bytes, this.bitmap1, 0, "bitmap 1");
    image.read(bitmapOffset + half, bytes, this.bitmap2, 0, "bitmap 2");
    if (maxMapnr % 8) {
      const keep = (1 << (maxMapnr % 8)) - 1; // bits past max_mapnr are ignored
      this.bitmap1[bytes - 1]! &= keep;
      this.bitmap2[bytes - 1]! &= keep;
    }
    const runs: Extent[] = [];
    let ram = 0, dumped = 0;
    for (let i = 0; i < bytes; i++) {
      const b1 = this.bitmap1[i]!, b2 = this.bitmap2[i]!;
      if (b2 & ~b1) throw new DumpFormatError(file.path, bitmapOffset + half + i, "bitmap 2 (dumped) to be a subset of bitmap 1 (RAM)", `frame ${i * 8 + 31 - Math.clz32(b2 & ~b1 & -(b2 & ~b1))} is dumped but not RAM`);
      if (b1 === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if (!(b1 & (1 << bit))) continue;
        const pfn = i * 8 + bit;
        const last = runs[runs.length - 1];
        if (last && last.firstPfn + last.pages === pfn) last.pages++;
        else runs.push({ firstPfn: pfn, pages: 1 });
        ram++;
        if (b2 & (1 << bit)) dumped++;
      }
    }
    this.extents = runs;
    this.pageCount = ram;
    this.dumpedPages = dumped;
    this.descOffset = (1 + subHdrBlocks + bitmapBlocks) * blockSize;
    if (this.descOffset + dumped * DESC_BYTES > image.size) {
      throw new DumpFormatError(file.path, this.descOffset, `${dumped} page descriptors (${dumped * DESC_BYTES} bytes)${where}`, `the dump ends at ${image.size} (truncated)`);
    }
  }

  get path(): string {
    return this.file.path;
  }

  readAll(sink: PageSink): void {
    const descs = new Window(this.image, this.file.path, 1 << 20);
    const data = new Window(this.image, this.file.path, 4 << 20);
    let zeroOff = -1, zeroSize = -1, zeroFlags = -1;
    let index = 0, d = 0;
    const bytes = this.bitmap1.length;
    for (let i = 0; i < bytes; i++) {
      const b1 = this.bitmap1[i]!, b2 = this.bitmap2[i]!;
      if (b1 === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if (!(b1 & (1 << bit))) continue;
        if (b2 & (1 << bit)) {
          const descPos = this.descOffset + d * DESC_BYTES;
          const o = descs.at(descPos, DESC_BYTES, "a page descriptor");
          const b = descs.buf;
          const offset = Number(this.le ? b.readBigInt64LE(o) : b.readBigInt64BE(o));
          const size = this.le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
          const flags = this.le ? b.readUInt32LE(o + 12) : b.readUInt32BE(o + 12);
          if (offset === zeroOff && size === zeroSize && flags === zeroFlags) sink.zeroPages(index, 1);
          else if (this.page(sink, index, descPos, offset, size, flags, data)) {
            zeroOff = offset;
            zeroSize = size;
            zeroFlags = flags;
          }
          d++;
        }
        index++;
      }
    }
  }

  /** Decodes one page and hands it to the sink; returns whether it was all zeros. */
  private page(sink: PageSink, index: number, descPos: number, offset: number, size: number, flags: number, data: Window): boolean {
    const path = this.file.path;
    if (flags & DUMP_DH_COMPRESSED_LZO) throw new UnsupportedCompressionError(path, descPos, "lzo");
    if (flags & DUMP_DH_COMPRESSED_SNAPPY) throw new UnsupportedCompressionError(path, descPos, "snappy");
    if (flags & ~(DUMP_DH_COMPRESSED_ZLIB | DUMP_DH_COMPRESSED_ZSTD)) throw new DumpFormatError(path, descPos + 12, "page flags 0 (raw), 0x1 (zlib) or 0x20 (zstd)", `found 0x${flags.toString(16)}`);
    if (size === 0 || size > PAGE_SIZE || offset < 0) throw new DumpFormatError(path, descPos, `a page descriptor with an offset >= 0 and a size of 1..${PAGE_SIZE}`, `offset ${offset}, size ${size}`);
    const at = data.at(offset, size, "page data");
    let buf = data.buf, off = at;
    if (flags === 0) {
      if (size !== PAGE_SIZE) throw new DumpFormatError(path, descPos + 8, `size ${PAGE_SIZE} for an uncompressed page`, `found ${size}`);
    } else {
      let out: Buffer;
      try {
        const src = data.buf.subarray(at, at + size);
        out = flags === DUMP_DH_COMPRESSED_ZLIB ? inflateSync(src) : Buffer.from(Bun.zstdDecompressSync(src));
      } catch (e) {
        throw new DumpFormatError(path, offset, `${flags === DUMP_DH_COMPRESSED_ZLIB ? "zlib" : "zstd"}-compressed page data (descriptor at ${descPos})`, (e as Error).message);
      }
      if (out.length !== PAGE_SIZE) throw new DumpFormatError(path, offset, `page data that decompresses to ${PAGE_SIZE} bytes`, `got ${out.length}`);
      buf = out;
      off = 0;
    }
    sink.pages(index, buf, off, 1);
    return isZeroPage(buf, off);
  }

  close(): void {
    this.file.close();
  }
}
