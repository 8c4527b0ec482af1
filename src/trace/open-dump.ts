/**
 * Opening a dump: the format is told from the file's first bytes, unless the caller names it.
 *   7f 45 4c 46 ("\x7fELF")   ELF: a Xen dump-core when it has a .xen_pages section, else a
 *                             QEMU/virsh ELF core;
 *   "makedumpfile\0"          a flattened kdump stream;
 *   "KDUMP   "                a plain kdump-compressed file;
 *   anything else             raw memory (pmemsave has no header), if its size is a positive
 *                             multiple of the page size; otherwise a wrong-magic error.
 * A named format that does not match the file's magic is an error naming what was expected.
 * Opening parses and validates every header and table; pages are read later by readAll().
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { DumpFile, type DumpFormat, type DumpReader } from "./dump-file.ts";
import { ElfDumpReader } from "./elf-dump.ts";
import { ELF_MAGIC, readElfHeader, readSectionHeaders } from "./elf-parse.ts";
import { DumpFormatError } from "./errors.ts";
import { FlatImage, isFlattened, plainImage } from "./flattened.ts";
import { KDUMP_SIGNATURE, KdumpReader } from "./kdump.ts";
import { RawDumpReader } from "./raw-dump.ts";
import { isXenCore, XenCoreReader } from "./xen-core.ts";

export const VMTRACE_MAGIC_TEXT = "VMTRACE\0";

export type DetectedFormat = DumpFormat | "vmtrace";

function detect(file: DumpFile, head: Buffer): DetectedFormat | null {
  if (head.length >= 4 && head.subarray(0, 4).equals(ELF_MAGIC)) {
    const h = readElfHeader(file);
    return isXenCore(readSectionHeaders(file, h)) ? "xen" : "elf";
  }
  if (isFlattened(head) || head.toString("latin1", 0, 8) === KDUMP_SIGNATURE) return "kdump";
  if (head.toString("latin1", 0, 8) === VMTRACE_MAGIC_TEXT) return "vmtrace";
  return null;
}

/** What the file at `path` is, by its magic ("raw" when none is known and the size fits). */
export function detectFormat(path: string): DetectedFormat {
  const file = new DumpFile(path);
  try {
    const head = file.bytesAt(0, Math.min(16, file.size), "the file's magic");
    const f = detect(file, head);
    if (f) return f;
    if (file.size === 0) throw new DumpFormatError(path, 0, "a memory dump", "the file is empty");
    if (file.size % PAGE_SIZE !== 0) {
      throw new DumpFormatError(path, 0, `a known magic (ELF 7f454c46, "makedumpfile", "KDUMP   ", "VMTRACE") or, for raw memory, a size that is a multiple of ${PAGE_SIZE}`, `found ${head.subarray(0, 8).toString("hex")} and size ${file.size}`);
    }
    return "raw";
  } finally {
    file.close();
  }
}

/** Opens and validates a dump; `format` overrides detection (and must then match the magic). */
export function openDump(path: string, format?: DumpFormat): DumpReader {
  const fmt = format ?? detectFormat(path);
  if (fmt === "vmtrace") throw new DumpFormatError(path, 0, "a memory dump", "this is a .vmtrace file");
  const file = new DumpFile(path);
  try {
    switch (fmt) {
      case "raw":
        return new RawDumpReader(file);
      case "elf":
      case "xen": {
        const h = readElfHeader(file);
        const xen = isXenCore(readSectionHeaders(file, h));
        if (fmt === "xen" && !xen) throw new DumpFormatError(path, 0, "a Xen dump-core (an ELF core with a .xen_pages section)", "no .xen_pages section");
        return fmt === "xen" ? new XenCoreReader(file, h) : new ElfDumpReader(file, h);
      }
      case "kdump": {
        const head = file.bytesAt(0, Math.min(16, file.size), "the file's magic");
        return new KdumpReader(file, isFlattened(head) ? new FlatImage(file) : plainImage(file));
      }
    }
  } catch (e) {
    file.close();
    throw e;
  }
}
