/**
 * Raw guest-physical memory, as QEMU's `pmemsave ADDR SIZE FILE` writes it (qemu system/cpus.c
 * qmp_pmemsave): the bytes of [ADDR, ADDR + SIZE), no header. We take ADDR = 0, so file offset /
 * 4096 is the frame number. Every page of the file is a populated guest page. pmemsave is not
 * RAM-aware (a range over the PCI hole reads whatever the bus returns); a raw dump cannot say.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { CHUNK_BYTES, DumpFile, type DumpReader, type Extent, type PageSink } from "./dump-file.ts";
import { DumpFormatError } from "./errors.ts";

export class RawDumpReader implements DumpReader {
  readonly format = "raw";
  readonly pageCount: number;
  readonly extents: readonly Extent[];

  constructor(private readonly file: DumpFile) {
    if (file.size === 0) throw new DumpFormatError(file.path, 0, "raw guest memory (at least one 4096-byte page)", "the file is empty");
    if (file.size % PAGE_SIZE !== 0) throw new DumpFormatError(file.path, file.size - (file.size % PAGE_SIZE), `a size that is a multiple of the page size ${PAGE_SIZE}`, `size ${file.size}`);
    this.pageCount = file.size / PAGE_SIZE;
    this.extents = [{ firstPfn: 0, pages: this.pageCount }];
  }

  get path(): string {
    return this.file.path;
  }

  readAll(sink: PageSink): void {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let pos = 0; pos < this.file.size; pos += CHUNK_BYTES) {
      const len = Math.min(CHUNK_BYTES, this.file.size - pos);
      this.file.readExact(pos, len, buf, 0, "page data");
      sink.pages(pos / PAGE_SIZE, buf, 0, len / PAGE_SIZE);
    }
  }

  close(): void {
    this.file.close();
  }
}
