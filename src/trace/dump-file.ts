/**
 * The reading side every dump reader shares: one open file, exact positioned reads that turn a
 * short read into a typed "truncated" error naming the offset, and the reader interface.
 * Readers read page data in large chunks (CHUNK_BYTES) into one reusable buffer, so memory does
 * not grow with the dump.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { DumpFormatError } from "./errors.ts";

/** Bytes read per chunk of page data: 4 MiB (1024 pages). */
export const CHUNK_BYTES = 4 << 20;
export const CHUNK_PAGES = CHUNK_BYTES / PAGE_SIZE;

export type DumpFormat = "raw" | "elf" | "kdump" | "xen";
export const DUMP_FORMATS: readonly DumpFormat[] = ["raw", "elf", "kdump", "xen"];

/** A run of guest-physical frames the dump describes: frames firstPfn .. firstPfn + pages - 1. */
export interface Extent {
  firstPfn: number;
  pages: number;
}

/**
 * Receives a dump's pages. `index` is the page's position in the guest's page array: the guest's
 * pages are the frames the dump describes (its extents), in frame order, without the holes between.
 */
export interface PageSink {
  /** `count` consecutive pages whose bytes are buf[off, off + count * 4096). */
  pages(index: number, buf: Buffer, off: number, count: number): void;
  /** `count` consecutive pages the dump declares but stores as zeros (ELF p_filesz < p_memsz). */
  zeroPages(index: number, count: number): void;
}

export interface DumpReader {
  readonly path: string;
  readonly format: DumpFormat;
  /** Pages of the guest (sum of extents); pages the dump describes but does not hold stay unpopulated. */
  readonly pageCount: number;
  readonly extents: readonly Extent[];
  /** The guest kernel's release when the dump says (kdump utsname, VMCOREINFO OSRELEASE). */
  readonly guestKernel?: string;
  /** Streams every page the dump holds to the sink, in file order. */
  readAll(sink: PageSink): void;
  close(): void;
}

export class DumpFile {
  readonly fd: number;
  readonly size: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, "r");
    } catch (e) {
      throw new DumpFormatError(path, -1, "a readable file", (e as Error).message);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new DumpFormatError(path, -1, "a regular file");
    }
    this.size = st.size;
  }

  /** Reads exactly len bytes at pos into dst[dstOff..]; past the end of the file -> DumpFormatError. */
  readExact(pos: number, len: number, dst: Buffer, dstOff = 0, what = "more data"): void {
    if (pos < 0 || pos + len > this.size) throw new DumpFormatError(this.path, Math.min(pos, this.size), `${len} bytes of ${what}`, `the file ends at ${this.size}`);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, dst, dstOff + done, len - done, pos + done);
      if (n <= 0) throw new DumpFormatError(this.path, pos + done, `${len - done} more bytes of ${what}`, "short read");
      done += n;
    }
  }

  /** A fresh buffer holding len bytes at pos (for headers and tables, not page data). */
  bytesAt(pos: number, len: number, what: string): Buffer {
    const b = Buffer.alloc(len);
    this.readExact(pos, len, b, 0, what);
    return b;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Extents of a sorted list of non-overlapping frame runs, adjacent runs merged. */
export function mergeExtents(runs: readonly Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last && last.firstPfn + last.pages === r.firstPfn) last.pages += r.pages;
    else if (r.pages > 0) out.push({ firstPfn: r.firstPfn, pages: r.pages });
  }
  return out;
}
