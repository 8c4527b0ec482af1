/**
 * ELF cores of guest memory: QEMU `dump-guest-memory` (qemu dump/dump.c) and `virsh dump
 * --memory-only --format=elf`. Layout as QEMU writes it: ELF header | PT_NOTE | PT_LOAD ... |
 * optional section header (PN_XNUM) | notes | memory. For each PT_LOAD:
 *   p_paddr           guest-physical address of the segment (the frame numbers we use);
 *   p_filesz bytes    at p_offset are the first pages of the segment;
 *   p_memsz - p_filesz  the rest, which reads as zeros (ELF semantics): populated zero pages;
 *   p_offset = -1     the range is not in the file (filtered out): its pages stay unpopulated.
 * The guest's pages are the frames of all PT_LOAD segments, in frame order; the gaps between
 * segments (the PCI hole, unplugged ranges) are not guest RAM and are not pages at all.
 * Validation before any page is read: page-aligned p_paddr, page-multiple sizes, p_filesz <=
 * p_memsz, every segment inside the file, no two segments over the same frames. Pages are then
 * streamed segment by segment in file order, in CHUNK_BYTES reads into one buffer.
 * The kernel release is taken from a VMCOREINFO note (OSRELEASE=) when QEMU found one.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { CHUNK_BYTES, type DumpFile, type DumpReader, type Extent, mergeExtents, type PageSink } from "./dump-file.ts";
import { ALL_ONES, osReleaseOf, PT_LOAD, PT_NOTE, readElfHeader, readNotes, readProgramHeaders, type ElfHeader } from "./elf-parse.ts";
import { DumpFormatError } from "./errors.ts";

interface Segment {
  at: number;
  firstPfn: number;
  pages: number;
  /** File offset of the first page, or ALL_ONES when the segment is not in the file. */
  offset: number;
  filePages: number;
  /** Index in the guest's page array of the segment's first page. */
  index: number;
}

export class ElfDumpReader implements DumpReader {
  readonly format = "elf";
  readonly pageCount: number;
  readonly extents: readonly Extent[];
  readonly guestKernel?: string;
  private readonly segments: Segment[];

  constructor(private readonly file: DumpFile, header?: ElfHeader) {
    const h = header ?? readElfHeader(file);
    const phdrs = readProgramHeaders(file, h);
    const segs: Segment[] = [];
    for (const p of phdrs) {
      if (p.type === PT_NOTE && p.offset !== ALL_ONES && p.filesz > 0 && p.filesz < 16 << 20 && this.guestKernel === undefined) {
        this.guestKernel = osReleaseOf(readNotes(file, h, p.offset, p.filesz));
      }
      if (p.type !== PT_LOAD || p.memsz === 0) continue;
      if (p.paddr === ALL_ONES || p.paddr % PAGE_SIZE !== 0) throw new DumpFormatError(file.path, p.at, `a PT_LOAD p_paddr aligned to ${PAGE_SIZE}`, `p_paddr 0x${p.paddr.toString(16)}`);
      if (p.memsz === ALL_ONES || p.memsz % PAGE_SIZE !== 0) throw new DumpFormatError(file.path, p.at, `a PT_LOAD p_memsz that is a multiple of the page size ${PAGE_SIZE}`, `p_memsz ${p.memsz}`);
      const inFile = p.offset !== ALL_ONES;
      if (inFile && (p.filesz === ALL_ONES || p.filesz % PAGE_SIZE !== 0)) throw new DumpFormatError(file.path, p.at, `a PT_LOAD p_filesz that is a multiple of the page size ${PAGE_SIZE}`, `p_filesz ${p.filesz}`);
      if (inFile && p.filesz > p.memsz) throw new DumpFormatError(file.path, p.at, "p_filesz <= p_memsz", `p_filesz ${p.filesz}, p_memsz ${p.memsz}`);
      if (inFile && p.offset + p.filesz > file.size) throw new DumpFormatError(file.path, p.at, `a segment inside the file (p_offset + p_filesz <= ${file.size})`, `segment at p_offset ${p.offset} of ${p.filesz} bytes ends at ${p.offset + p.filesz}, past the end of the file`);
      segs.push({ at: p.at, firstPfn: p.paddr / PAGE_SIZE, pages: p.memsz / PAGE_SIZE, offset: inFile ? p.offset : ALL_ONES, filePages: inFile ? p.filesz / PAGE_SIZE : 0, index: 0 });
    }
    if (segs.length === 0) throw new DumpFormatError(file.path, h.phoff, "at least one PT_LOAD segment of guest memory", `${phdrs.length} program headers, none a non-empty PT_LOAD`);
    const byPfn = segs.slice().sort((a, b) => a.firstPfn - b.firstPfn);
    let index = 0;
    for (let i = 0; i < byPfn.length; i++) {
      const s = byPfn[i]!;
      const prev = byPfn[i - 1];
      if (prev && prev.firstPfn + prev.pages > s.firstPfn) {
        throw new DumpFormatError(file.path, s.at, `PT_LOAD segments over disjoint guest-physical ranges`, `guest-physical 0x${(s.firstPfn * PAGE_SIZE).toString(16)} is also in the segment whose header is at offset ${prev.at}`);
      }
      s.index = index;
      index += s.pages;
    }
    this.pageCount = index;
    this.extents = mergeExtents(byPfn.map((s) => ({ firstPfn: s.firstPfn, pages: s.pages })));
    this.segments = segs.sort((a, b) => (a.offset === b.offset ? a.firstPfn - b.firstPfn : a.offset - b.offset));
  }

  get path(): string {
    return this.file.path;
  }

  readAll(sink: PageSink): void {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (const s of this.segments) {
      if (s.offset === ALL_ONES) continue;
      for (let done = 0; done < s.filePages; ) {
        const n = Math.min(CHUNK_BYTES / PAGE_SIZE, s.filePages - done);
        this.file.readExact(s.offset + done * PAGE_SIZE, n * PAGE_SIZE, buf, 0, "segment data");
        sink.pages(s.index + done, buf, 0, n);
        done += n;
      }
      if (s.pages > s.filePages) sink.zeroPages(s.index + s.filePages, s.pages - s.filePages);
    }
  }

  close(): void {
    this.file.close();
  }
}
