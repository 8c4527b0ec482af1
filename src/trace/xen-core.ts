/**
 * Xen `xl dump-core` files (xen docs/misc/dump-core-format.txt; writer tools/libs/guest/xg_core.c).
 * An ELF64 ET_CORE with no program headers, only sections, found by name (their order is not
 * defined):
 *   .note.Xen    notes named "Xen"; type 0x2000001 is the header {u64 xch_magic (0xF00FEBED PV,
 *                0xF00FEBEE HVM), xch_nr_vcpus, xch_nr_pages, xch_page_size}; 0x2000003 holds the
 *                format version (major in the top 32 bits: 0 is the only one defined).
 *   .xen_pages   xch_nr_pages pages of xch_page_size bytes;
 *   .xen_pfn     (HVM) xch_nr_pages u64 frame numbers, the i-th for the i-th page; or
 *   .xen_p2m     (PV) xch_nr_pages {u64 pfn; u64 gmfn} pairs: we use the pseudo-physical pfn.
 * The frame list is in no defined order, so it is read whole (8 bytes per page, not page data)
 * and sorted: the guest's pages are the listed frames in frame order, each page's index its rank.
 * A frame listed twice is an overlap error. Pages stream from .xen_pages in file order.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { CHUNK_BYTES, type DumpFile, type DumpReader, type Extent, mergeExtents, type PageSink } from "./dump-file.ts";
import { readElfHeader, readNotes, readSectionHeaders, type ElfHeader, type SectionHeader } from "./elf-parse.ts";
import { DumpFormatError } from "./errors.ts";

export const XEN_MAGIC_PV = 0xf00febed;
export const XEN_MAGIC_HVM = 0xf00febee;
export const XEN_NOTE_NONE = 0x2000000;
export const XEN_NOTE_HEADER = 0x2000001;
export const XEN_NOTE_XEN_VERSION = 0x2000002;
export const XEN_NOTE_FORMAT_VERSION = 0x2000003;

/** True when the ELF file has a .xen_pages section (how a Xen core is told from a QEMU core). */
export function isXenCore(sections: readonly SectionHeader[]): boolean {
  return sections.some((s) => s.name === ".xen_pages");
}

export class XenCoreReader implements DumpReader {
  readonly format = "xen";
  readonly pageCount: number;
  readonly extents: readonly Extent[];
  private readonly pagesOffset: number;
  /** Frame numbers sorted ascending (the guest's page order). */
  private readonly sortedPfns: Float64Array;
  private readonly pfns: Float64Array;

  constructor(private readonly file: DumpFile, header?: ElfHeader) {
    const h = header ?? readElfHeader(file);
    if (!h.is64) throw new DumpFormatError(file.path, 4, "ELFCLASS64 (a Xen dump-core is always ELF64)", "found ELF32");
    const sections = readSectionHeaders(file, h);
    const find = (name: string) => sections.find((s) => s.name === name);
    const noteSec = find(".note.Xen");
    if (!noteSec) throw new DumpFormatError(file.path, h.shoff, "a .note.Xen section", "no section of that name");
    const notes = readNotes(file, h, noteSec.offset, noteSec.size).filter((n) => n.name === "Xen");
    const hdr = notes.find((n) => n.type === XEN_NOTE_HEADER);
    if (!hdr || hdr.desc.length < 32) throw new DumpFormatError(file.path, noteSec.offset, "a Xen dump-core header note (type 0x2000001, 32 bytes)", hdr ? `descriptor of ${hdr.desc.length} bytes` : "none found");
    const dv = new DataView(hdr.desc.buffer, hdr.desc.byteOffset, 32);
    const magic = Number(dv.getBigUint64(0, h.le));
    if (magic !== XEN_MAGIC_PV && magic !== XEN_MAGIC_HVM) throw new DumpFormatError(file.path, hdr.at + 12 + 4, "xch_magic 0xf00febed (PV) or 0xf00febee (HVM)", `found 0x${magic.toString(16)}`);
    const nrPages = Number(dv.getBigUint64(16, h.le));
    const pageSize = Number(dv.getBigUint64(24, h.le));
    if (pageSize !== PAGE_SIZE) throw new DumpFormatError(file.path, hdr.at + 16 + 24, `xch_page_size ${PAGE_SIZE}`, `found ${pageSize}`);
    const fv = notes.find((n) => n.type === XEN_NOTE_FORMAT_VERSION);
    if (fv && fv.desc.length >= 8) {
      const major = new DataView(fv.desc.buffer, fv.desc.byteOffset, 8).getBigUint64(0, h.le) >> 32n;
      if (major !== 0n) throw new DumpFormatError(file.path, fv.at, "dump-core format major version 0", `found ${major}`);
    }
    const pages = find(".xen_pages");
    if (!pages) throw new DumpFormatError(file.path, h.shoff, "a .xen_pages section", "none found");
    if (pages.size !== nrPages * PAGE_SIZE) throw new DumpFormatError(file.path, pages.at, `.xen_pages of xch_nr_pages * page size = ${nrPages * PAGE_SIZE} bytes`, `sh_size ${pages.size}`);
    if (pages.offset + pages.size > file.size) throw new DumpFormatError(file.path, pages.at, `.xen_pages inside the file (ending by ${file.size})`, `it ends at ${pages.offset + pages.size}, past the end of the file`);
    const pfnSec = find(".xen_pfn"), p2mSec = find(".xen_p2m");
    if ((pfnSec ? 1 : 0) + (p2mSec ? 1 : 0) !== 1) throw new DumpFormatError(file.path, h.shoff, "exactly one of .xen_pfn (HVM) and .xen_p2m (PV)", pfnSec ? "both present" : "neither present");
    const sec = (pfnSec ?? p2mSec)!;
    const stride = pfnSec ? 8 : 16;
    if (sec.size !== nrPages * stride) throw new DumpFormatError(file.path, sec.at, `${sec.name} of ${nrPages} entries of ${stride} bytes`, `sh_size ${sec.size}`);
    const table = file.bytesAt(sec.offset, sec.size, `the ${sec.name} table`);
    const tdv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    this.pfns = new Float64Array(nrPages);
    for (let i = 0; i < nrPages; i++) {
      const v = tdv.getBigUint64(i * stride, h.le);
      if (v >= 1n << 40n) throw new DumpFormatError(file.path, sec.offset + i * stride, "a frame number below 2^40", `entry ${i} is 0x${v.toString(16)}`);
      this.pfns[i] = Number(v);
    }
    this.sortedPfns = this.pfns.slice().sort();
    const runs: Extent[] = [];
    for (let i = 0; i < nrPages; i++) {
      const p = this.sortedPfns[i]!;
      if (i > 0 && p === this.sortedPfns[i - 1]) throw new DumpFormatError(file.path, sec.offset + this.pfns.indexOf(p, this.pfns.indexOf(p) + 1) * stride, `each frame listed once in ${sec.name}`, `frame ${p} is listed twice (overlapping pages)`);
      runs.push({ firstPfn: p, pages: 1 });
    }
    this.extents = mergeExtents(runs);
    this.pageCount = nrPages;
    this.pagesOffset = pages.offset;
  }

  get path(): string {
    return this.file.path;
  }

  /** Rank of frame pfn among the listed frames (binary search). */
  private indexOf(pfn: number): number {
    const a = this.sortedPfns;
    let lo = 0, hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! < pfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  readAll(sink: PageSink): void {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    const per = CHUNK_BYTES / PAGE_SIZE;
    for (let i = 0; i < this.pageCount; i += per) {
      const n = Math.min(per, this.pageCount - i);
      this.file.readExact(this.pagesOffset + i * PAGE_SIZE, n * PAGE_SIZE, buf, 0, ".xen_pages data");
      for (let k = 0; k < n; ) {
        // consecutive frames in consecutive pages go to the sink as one run
        const start = this.indexOf(this.pfns[i + k]!);
        let run = 1;
        while (k + run < n && this.pfns[i + k + run] === this.pfns[i + k]! + run) run++;
        sink.pages(start, buf, k * PAGE_SIZE, run);
        k += run;
      }
    }
  }

  close(): void {
    this.file.close();
  }
}
