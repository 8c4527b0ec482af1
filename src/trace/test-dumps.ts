/**
 * Writers of small memory dumps in every format the readers take, written from the format
 * documents (not from the readers), for the tests and the benchmark: raw, ELF64/ELF32 cores as
 * QEMU lays them out (optional PN_XNUM, p_filesz < p_memsz, a VMCOREINFO note), kdump-compressed
 * (plain or flattened, zlib or raw pages, one shared zero block as QEMU does) and Xen dump-core
 * (HVM .xen_pfn or PV .xen_p2m, pages in a shuffled frame order). Test support, not a product.
 */
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { PAGE_SIZE } from "../hypervisor/index.ts";

/** A page whose bytes depend only on `content` (0 = all zeros). */
export function pageOf(content: number): Buffer {
  const b = Buffer.alloc(PAGE_SIZE);
  if (content === 0) return b;
  let x = (content * 2654435761) >>> 0 || 1;
  for (let i = 0; i < PAGE_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

/** A compressible page (repeating bytes) of content id `content`. */
export function textPageOf(content: number): Buffer {
  const s = `page ${content} `;
  return Buffer.from(s.repeat(Math.ceil(PAGE_SIZE / s.length)).slice(0, PAGE_SIZE), "latin1");
}

export function writeRaw(path: string, pages: readonly Buffer[]): void {
  writeFileSync(path, Buffer.concat(pages));
}

export interface ElfSegment {
  paddr: number;
  /** p_filesz bytes stored in the file. */
  data: Buffer;
  /** p_memsz (defaults to data.length); the rest reads as zeros. */
  memsz?: number;
  /** Write p_offset = -1 (range not in the file). */
  notInFile?: boolean;
}

export interface ElfOptions {
  pnXnum?: boolean;
  elf32?: boolean;
  bigEndian?: boolean;
  vmcoreinfo?: string;
}

function note(name: string, type: number, desc: Buffer, le: boolean): Buffer {
  const nm = Buffer.alloc((name.length + 1 + 3) & ~3);
  nm.write(name, "latin1");
  const h = Buffer.alloc(12);
  const w = (v: number, o: number) => (le ? h.writeUInt32LE(v, o) : h.writeUInt32BE(v, o));
  w(name.length + 1, 0);
  w(desc.length, 4);
  w(type, 8);
  const pad = Buffer.alloc(((desc.length + 3) & ~3) - desc.length);
  return Buffer.concat([h, nm, desc, pad]);
}

/** An ELF core laid out as QEMU dump-guest-memory writes it. */
export function elfCore(segments: readonly ElfSegment[], o: ElfOptions = {}): Buffer {
  const is64 = !o.elf32, le = !o.bigEndian;
  const ehsize = is64 ? 64 : 52, phsize = is64 ? 56 : 32, shsize = is64 ? 64 : 40;
  const notes = o.vmcoreinfo ? note("VMCOREINFO", 0, Buffer.from(o.vmcoreinfo, "latin1"), le) : Buffer.alloc(0);
  const phnum = segments.length + (notes.length ? 1 : 0);
  const xnum = !!o.pnXnum;
  const phoff = ehsize, shoff = xnum ? phoff + phnum * phsize : 0;
  const notesOff = phoff + phnum * phsize + (xnum ? shsize : 0);
  let dataOff = Math.ceil((notesOff + notes.length) / PAGE_SIZE) * PAGE_SIZE;
  const head = Buffer.alloc(dataOff);
  const dv = new DataView(head.buffer);
  const W = (off: number, v: number) => (is64 ? dv.setBigUint64(off, v < 0 ? 0xffffffffffffffffn : BigInt(v), le) : dv.setUint32(off, v < 0 ? 0xffffffff : v, le));
  head.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  dv.setUint16(16, 4, le); // ET_CORE
  dv.setUint16(18, 62, le); // EM_X86_64
  dv.setUint32(20, 1, le);
  W(is64 ? 32 : 28, phoff);
  W(is64 ? 40 : 32, shoff);
  dv.setUint16(is64 ? 52 : 40, ehsize, le);
  dv.setUint16(is64 ? 54 : 42, phsize, le);
  dv.setUint16(is64 ? 56 : 44, xnum ? 0xffff : phnum, le);
  dv.setUint16(is64 ? 58 : 46, xnum ? shsize : 0, le);
  dv.setUint16(is64 ? 60 : 48, xnum ? 1 : 0, le);
  const datas: Buffer[] = [];
  let ph = phoff;
  const phdr = (type: number, offset: number, paddr: number, filesz: number, memsz: number) => {
    dv.setUint32(ph, type, le);
    if (is64) {
      W(ph + 8, offset); W(ph + 16, paddr); W(ph + 24, paddr); W(ph + 32, filesz); W(ph + 40, memsz);
    } else {
      W(ph + 4, offset); W(ph + 8, paddr); W(ph + 12, paddr); W(ph + 16, filesz); W(ph + 20, memsz);
    }
    ph += phsize;
  };
  if (notes.length) {
    phdr(4, notesOff, 0, notes.length, notes.length);
    head.set(notes, notesOff);
  }
  for (const s of segments) {
    phdr(1, s.notInFile ? -1 : dataOff, s.paddr, s.notInFile ? 0 : s.data.length, s.memsz ?? s.data.length);
    if (!s.notInFile) {
      datas.push(s.data);
      dataOff += s.data.length;
    }
  }
  if (xnum) dv.setUint32(shoff + (is64 ? 44 : 28), phnum, le); // section 0 sh_info = real e_phnum
  return Buffer.concat([head, ...datas]);
}

export interface KdumpOptions {
  /** Frames of the guest; null marks a RAM frame excluded from the dump (bitmap 1 only). */
  frames: ReadonlyMap<number, Buffer | null>;
  maxMapnr: number;
  flattened?: boolean;
  /** How pages are stored: zlib when it is smaller (as QEMU does), raw, or a flag the reader lacks. */
  compression?: "zlib" | "raw" | "lzo" | "snappy";
  release?: string;
}

/** A kdump-compressed dump (64-bit little-endian header, version 6), plain or flattened. */
export function kdump(o: KdumpOptions): Buffer {
  const bs = PAGE_SIZE;
  const bitmapBytes = Math.ceil(Math.ceil(o.maxMapnr / 8) / bs) * bs;
  const bitmapBlocks = (2 * bitmapBytes) / bs;
  const pfns = [...o.frames.keys()].sort((a, b) => a - b);
  const dumped = pfns.filter((p) => o.frames.get(p) !== null);
  const descOff = (2 + bitmapBlocks) * bs;
  const dataStart = Math.ceil((descOff + dumped.length * 24) / bs) * bs;
  const header = Buffer.alloc(bs);
  header.write("KDUMP   ", 0, "latin1");
  header.writeUInt32LE(6, 8);
  header.write(o.release ?? "6.1.0-test", 142, "latin1");
  header.writeUInt32LE(bs, 428);
  header.writeUInt32LE(1, 432);
  header.writeUInt32LE(bitmapBlocks, 436);
  header.writeUInt32LE(Math.min(o.maxMapnr, 0xffffffff), 440);
  const sub = Buffer.alloc(bs);
  sub.writeBigUInt64LE(BigInt(o.maxMapnr), 96);
  const bitmaps = Buffer.alloc(2 * bitmapBytes);
  for (const p of pfns) {
    bitmaps[p >> 3]! |= 1 << (p & 7);
    if (o.frames.get(p) !== null) bitmaps[bitmapBytes + (p >> 3)]! |= 1 << (p & 7);
  }
  const descs = Buffer.alloc(dataStart - descOff);
  const data: Buffer[] = [Buffer.alloc(bs)]; // the shared zero block, first, as QEMU writes it
  let dataOff = dataStart + bs;
  const flag = { zlib: 1, raw: 0, lzo: 2, snappy: 4 }[o.compression ?? "zlib"];
  dumped.forEach((p, i) => {
    const page = o.frames.get(p)!;
    let off = dataStart, size = bs, flags = 0;
    if (!page.equals(Buffer.alloc(bs))) {
      let stored = page;
      if (flag === 1) {
        const z = deflateSync(page);
        if (z.length < bs) { stored = z; flags = 1; }
      } else if (flag !== 0) { stored = page.subarray(0, 100); flags = flag; }
      off = dataOff; size = stored.length;
      data.push(stored);
      dataOff += stored.length;
    }
    descs.writeBigInt64LE(BigInt(off), i * 24);
    descs.writeUInt32LE(size, i * 24 + 8);
    descs.writeUInt32LE(flags, i * 24 + 12);
  });
  const image = Buffer.concat([header, sub, bitmaps, descs, ...data]);
  return o.flattened ? flatten(image) : image;
}

/** The image as a makedumpfile flattened stream, records of 16 KiB in a shuffled (but covering) order. */
export function flatten(image: Buffer, recordBytes = 16384): Buffer {
  const head = Buffer.alloc(4096);
  head.write("makedumpfile", 0, "latin1");
  head.writeBigInt64BE(1n, 16);
  head.writeBigInt64BE(1n, 24);
  const parts: Buffer[] = [head];
  const starts: number[] = [];
  for (let p = 0; p < image.length; p += recordBytes) starts.push(p);
  const order = [...starts.filter((_, i) => i % 2 === 1), ...starts.filter((_, i) => i % 2 === 0)]; // out of order, as QEMU's two caches interleave
  for (const s of order) {
    const chunk = image.subarray(s, Math.min(image.length, s + recordBytes));
    const rh = Buffer.alloc(16);
    rh.writeBigInt64BE(BigInt(s), 0);
    rh.writeBigInt64BE(BigInt(chunk.length), 8);
    parts.push(rh, chunk);
  }
  const end = Buffer.alloc(16);
  end.writeBigInt64BE(-1n, 0);
  end.writeBigInt64BE(-1n, 8);
  parts.push(end);
  return Buffer.concat(parts);
}

/** A Xen dump-core built from docs/misc/dump-core-format.txt: `pages` in the given (any) order. */
export function xenCore(pages: readonly { pfn: number; data: Buffer }[], o: { pv?: boolean; magic?: number } = {}): Buffer {
  const le = true;
  const hdr = Buffer.alloc(32);
  hdr.writeBigUInt64LE(BigInt(o.magic ?? (o.pv ? 0xf00febed : 0xf00febee)), 0);
  hdr.writeBigUInt64LE(1n, 8);
  hdr.writeBigUInt64LE(BigInt(pages.length), 16);
  hdr.writeBigUInt64LE(BigInt(PAGE_SIZE), 24);
  const fmt = Buffer.alloc(8);
  fmt.writeBigUInt64LE(1n, 0); // (major 0, minor 1)
  const notes = Buffer.concat([note("Xen", 0x2000000, Buffer.alloc(0), le), note("Xen", 0x2000001, hdr, le), note("Xen", 0x2000003, fmt, le)]);
  const table = Buffer.alloc(pages.length * (o.pv ? 16 : 8));
  pages.forEach((p, i) => {
    table.writeBigUInt64LE(BigInt(p.pfn), i * (o.pv ? 16 : 8));
    if (o.pv) table.writeBigUInt64LE(BigInt(p.pfn + 0x100000), i * 16 + 8);
  });
  const names = ["", ".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_pages", o.pv ? ".xen_p2m" : ".xen_pfn"];
  const strtab = Buffer.from(names.join("\0") + "\0", "latin1");
  const nameOff = names.map((_, i) => names.slice(0, i).reduce((s, n) => s + n.length + 1, 0));
  const shoff = 64, shnum = names.length;
  let off = shoff + shnum * 64;
  const place = (len: number, align = 8) => {
    off = Math.ceil(off / align) * align;
    const at = off;
    off += len;
    return at;
  };
  const strAt = place(strtab.length), notesAt = place(notes.length), prAt = place(0), tableAt = place(table.length), pagesAt = place(pages.length * PAGE_SIZE, PAGE_SIZE);
  const out = Buffer.alloc(off);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  out.writeUInt16LE(4, 16);
  out.writeUInt16LE(62, 18);
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt16LE(64, 52);
  out.writeUInt16LE(56, 54);
  out.writeUInt16LE(64, 58);
  out.writeUInt16LE(shnum, 60);
  out.writeUInt16LE(1, 62);
  const sec = (i: number, type: number, at: number, size: number) => {
    const b = shoff + i * 64;
    out.writeUInt32LE(nameOff[i]!, b);
    out.writeUInt32LE(type, b + 4);
    out.writeBigUInt64LE(BigInt(at), b + 24);
    out.writeBigUInt64LE(BigInt(size), b + 32);
  };
  sec(1, 3, strAt, strtab.length);
  sec(2, 7, notesAt, notes.length);
  sec(3, 1, prAt, 0);
  sec(4, 1, pagesAt, pages.length * PAGE_SIZE);
  sec(5, 1, tableAt, table.length);
  strtab.copy(out, strAt);
  notes.copy(out, notesAt);
  table.copy(out, tableAt);
  pages.forEach((p, i) => p.data.copy(out, pagesAt + i * PAGE_SIZE));
  return out;
}
