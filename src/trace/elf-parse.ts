/**
 * The parts of ELF (TIS ELF 1.2; System V gABI) that QEMU's dump-guest-memory cores and Xen's
 * dump-core files use: the file header, program headers (with the PN_XNUM escape: e_phnum = 0xffff
 * and the real count in section header 0's sh_info, as QEMU dump/dump.c writes beyond ~65,533
 * segments), section headers (with the e_shnum = 0 / SHN_XINDEX escapes), and note records.
 * Both classes (ELF32, ELF64) and both byte orders. Every offset and size is checked against the
 * file size before use; a value at or above 2^53 is reported as an error (no guest is that big).
 */
import type { DumpFile } from "./dump-file.ts";
import { DumpFormatError } from "./errors.ts";

export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const ET_CORE = 4;
const PN_XNUM = 0xffff;
const SHN_XINDEX = 0xffff;

/** A 64-bit all-ones field (p_offset = -1: the range is not in the file). */
export const ALL_ONES = -1;

export interface ElfHeader {
  is64: boolean;
  le: boolean;
  type: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ProgramHeader {
  /** Byte offset of this header in the file (for error messages). */
  at: number;
  type: number;
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

export interface SectionHeader {
  at: number;
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Reads a u64 (or u32 when !is64) field as a number; all ones -> ALL_ONES; >= 2^53 -> error. */
function word(dv: DataView, off: number, is64: boolean, le: boolean, file: DumpFile, at: number, what: string): number {
  if (!is64) {
    const v = dv.getUint32(off, le);
    return v === 0xffffffff ? ALL_ONES : v;
  }
  const v = dv.getBigUint64(off, le);
  if (v === 0xffffffffffffffffn) return ALL_ONES;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpFormatError(file.path, at + off, `${what} below 2^53`, `0x${v.toString(16)}`);
  return Number(v);
}

const view = (b: Buffer) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function readElfHeader(file: DumpFile): ElfHeader {
  if (file.size < 52) throw new DumpFormatError(file.path, 0, "an ELF header", `the file is only ${file.size} bytes`);
  const ident = file.bytesAt(0, 16, "ELF identification");
  if (!ident.subarray(0, 4).equals(ELF_MAGIC)) throw new DumpFormatError(file.path, 0, "the ELF magic 7f 45 4c 46", `found ${ident.subarray(0, 4).toString("hex")}`);
  const cls = ident[4]!, data = ident[5]!;
  if (cls !== 1 && cls !== 2) throw new DumpFormatError(file.path, 4, "EI_CLASS 1 (ELF32) or 2 (ELF64)", `found ${cls}`);
  if (data !== 1 && data !== 2) throw new DumpFormatError(file.path, 5, "EI_DATA 1 (little-endian) or 2 (big-endian)", `found ${data}`);
  const is64 = cls === 2, le = data === 1;
  const hsize = is64 ? 64 : 52;
  const dv = view(file.bytesAt(0, hsize, "the ELF header"));
  const w = (o: number, what: string) => word(dv, o, is64, le, file, 0, what);
  const h: ElfHeader = {
    is64, le,
    type: dv.getUint16(16, le),
    phoff: w(is64 ? 32 : 28, "e_phoff"),
    shoff: w(is64 ? 40 : 32, "e_shoff"),
    phentsize: dv.getUint16(is64 ? 54 : 42, le),
    phnum: dv.getUint16(is64 ? 56 : 44, le),
    shentsize: dv.getUint16(is64 ? 58 : 46, le),
    shnum: dv.getUint16(is64 ? 60 : 48, le),
    shstrndx: dv.getUint16(is64 ? 62 : 50, le),
  };
  if (h.type !== ET_CORE) throw new DumpFormatError(file.path, 16, "e_type ET_CORE (4)", `found ${h.type}`);
  if (h.shoff !== 0 && (h.phnum === PN_XNUM || h.shnum === 0 || h.shstrndx === SHN_XINDEX)) {
    const s0 = readSectionHeaderRaw(file, h, 0);
    if (h.phnum === PN_XNUM) h.phnum = s0.info;
    if (h.shnum === 0) h.shnum = s0.size;
    if (h.shstrndx === SHN_XINDEX) h.shstrndx = s0.link;
  } else if (h.phnum === PN_XNUM) {
    throw new DumpFormatError(file.path, is64 ? 56 : 44, "a section header 0 holding the segment count (e_phnum = PN_XNUM)", "e_shoff is 0");
  }
  return h;
}

function readSectionHeaderRaw(file: DumpFile, h: ElfHeader, i: number): Omit<SectionHeader, "name"> & { nameOff: number } {
  const size = h.is64 ? 64 : 40;
  if (h.shentsize !== size) throw new DumpFormatError(file.path, h.is64 ? 58 : 46, `e_shentsize ${size}`, `found ${h.shentsize}`);
  const at = h.shoff + i * size;
  const dv = view(file.bytesAt(at, size, `section header ${i}`));
  const w = (o: number, what: string) => word(dv, o, h.is64, h.le, file, at, what);
  return h.is64
    ? { at, nameOff: dv.getUint32(0, h.le), type: dv.getUint32(4, h.le), offset: w(24, "sh_offset"), size: w(32, "sh_size"), link: dv.getUint32(40, h.le), info: dv.getUint32(44, h.le) }
    : { at, nameOff: dv.getUint32(0, h.le), type: dv.getUint32(4, h.le), offset: w(16, "sh_offset"), size: w(20, "sh_size"), link: dv.getUint32(24, h.le), info: dv.getUint32(28, h.le) };
}

/** Every section header, names resolved through .shstrtab (empty names when there is none). */
export function readSectionHeaders(file: DumpFile, h: ElfHeader): SectionHeader[] {
  if (h.shoff === 0 || h.shnum === 0) return [];
  if (h.shnum > 1 << 20) throw new DumpFormatError(file.path, h.is64 ? 60 : 48, "at most 2^20 sections", `found ${h.shnum}`);
  const raw = Array.from({ length: h.shnum }, (_, i) => readSectionHeaderRaw(file, h, i));
  let names: Buffer | null = null;
  const str = raw[h.shstrndx];
  if (h.shstrndx !== 0 && str) {
    if (str.offset < 0 || str.offset + str.size > file.size) throw new DumpFormatError(file.path, str.at, "a section name table inside the file", `it ends at ${str.offset + str.size}, the file at ${file.size}`);
    names = file.bytesAt(str.offset, Math.min(str.size, 1 << 20), "the section name table");
  }
  return raw.map((s) => {
    let name = "";
    if (names && s.nameOff < names.length) {
      const end = names.indexOf(0, s.nameOff);
      name = names.toString("latin1", s.nameOff, end < 0 ? names.length : end);
    }
    return { at: s.at, name, type: s.type, offset: s.offset, size: s.size, link: s.link, info: s.info };
  });
}

export function readProgramHeaders(file: DumpFile, h: ElfHeader): ProgramHeader[] {
  if (h.phnum === 0) return [];
  const size = h.is64 ? 56 : 32;
  if (h.phentsize !== size) throw new DumpFormatError(file.path, h.is64 ? 54 : 42, `e_phentsize ${size}`, `found ${h.phentsize}`);
  const table = file.bytesAt(h.phoff, h.phnum * size, `${h.phnum} program headers`);
  const dv = view(table);
  const out: ProgramHeader[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * size, at = h.phoff + o;
    const w = (f: number, what: string) => word(dv, o + f, h.is64, h.le, file, at - o, what);
    out.push(h.is64
      ? { at, type: dv.getUint32(o, h.le), offset: w(8, "p_offset"), paddr: w(24, "p_paddr"), filesz: w(32, "p_filesz"), memsz: w(40, "p_memsz") }
      : { at, type: dv.getUint32(o, h.le), offset: w(4, "p_offset"), paddr: w(12, "p_paddr"), filesz: w(16, "p_filesz"), memsz: w(20, "p_memsz") });
  }
  return out;
}

export interface ElfNote {
  at: number;
  name: string;
  type: number;
  desc: Buffer;
}

/** The note records in file[offset, offset + size) (names and descriptors padded to 4 bytes). */
export function readNotes(file: DumpFile, h: ElfHeader, offset: number, size: number): ElfNote[] {
  if (offset < 0 || offset + size > file.size) throw new DumpFormatError(file.path, offset, "a note area inside the file", `it ends at ${offset + size}, the file at ${file.size}`);
  const b = file.bytesAt(offset, Math.min(size, 16 << 20), "notes");
  const dv = view(b);
  const notes: ElfNote[] = [];
  let p = 0;
  while (p + 12 <= b.length) {
    const namesz = dv.getUint32(p, h.le), descsz = dv.getUint32(p + 4, h.le), type = dv.getUint32(p + 8, h.le);
    const nameAt = p + 12, descAt = nameAt + ((namesz + 3) & ~3), end = descAt + ((descsz + 3) & ~3);
    if (descAt + descsz > b.length) throw new DumpFormatError(file.path, offset + p, "a note record inside its note area", `namesz ${namesz}, descsz ${descsz}`);
    const name = b.toString("latin1", nameAt, nameAt + Math.max(0, namesz - 1)).replace(/\0+$/, "");
    notes.push({ at: offset + p, name, type, desc: b.subarray(descAt, descAt + descsz) });
    p = end;
  }
  return notes;
}

/** OSRELEASE=... from a VMCOREINFO note's text, if any. */
export function osReleaseOf(notes: readonly ElfNote[]): string | undefined {
  for (const n of notes) {
    if (n.name !== "VMCOREINFO") continue;
    const m = /^OSRELEASE=(.+)$/m.exec(n.desc.toString("latin1"));
    if (m) return m[1]!.trim();
  }
  return undefined;
}
