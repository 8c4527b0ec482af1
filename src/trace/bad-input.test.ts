import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { VmdedupError } from "../hypervisor/errors.ts";
import type { DumpFormat } from "./dump-file.ts";
import { DumpFormatError, UnsupportedCompressionError } from "./errors.ts";
import { loadDump } from "./guest-image.ts";
import { openDump } from "./open-dump.ts";
import { elfCore, kdump, pageOf, textPageOf, xenCore } from "./test-dumps.ts";

const dir = mkdtempSync(join(tmpdir(), "vmdedup-bad-"));
let n = 0;
const file = (bytes: Buffer) => {
  const p = join(dir, `d${n++}`);
  writeFileSync(p, bytes);
  return p;
};

/** Opening and reading `path` throws a DumpFormatError naming the file, `offset` (if given) and what was expected. */
function rejects(path: string, offset: number | null, expected: RegExp, format?: DumpFormat, cls: typeof DumpFormatError = DumpFormatError): DumpFormatError {
  let err: unknown = null;
  try {
    loadDump(openDump(path, format), null);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(VmdedupError);
  const e = err as DumpFormatError;
  expect(e.file).toBe(path);
  expect(e.message).toContain(path);
  if (offset !== null) {
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(`at offset ${offset}`);
  }
  expect(e.expected).toMatch(expected);
  expect(e.message).toContain("expected");
  return e;
}

const pages = [1, 2, 3, 0].map(pageOf);
const elf = elfCore([{ paddr: 0, data: Buffer.concat(pages) }]);
const frames = new Map<number, Buffer | null>(pages.map((b, i) => [i, b]));

describe("every bad input is a typed error naming the file, the offset and what was expected", () => {
  test("a size that is not a multiple of the page size (raw, and no known magic)", () => {
    rejects(file(Buffer.alloc(PAGE_SIZE + 100, 1)), 0, /multiple of 4096/);
    rejects(file(Buffer.alloc(PAGE_SIZE + 100, 1)), PAGE_SIZE, /multiple of the page size/, "raw");
  });
  test("an empty file, a missing file", () => {
    rejects(file(Buffer.alloc(0)), 0, /memory dump/);
    rejects(join(dir, "nope"), null, /readable file/);
  });
  test("wrong magic for the named format", () => {
    const raw = file(Buffer.concat(pages));
    rejects(raw, 0, /ELF magic/, "elf");
    rejects(raw, 0, /kdump signature/, "kdump");
    rejects(file(elf), 0, /Xen dump-core/, "xen");
    rejects(file(Buffer.concat([Buffer.from("KDUMP   "), Buffer.alloc(600)])), 428, /power-of-two block_size/);
  });
  test("truncated: an ELF header, an ELF segment, a flattened stream, a kdump descriptor table, page data", () => {
    rejects(file(elf.subarray(0, 40)), 0, /ELF header/);
    const segPast = rejects(file(elf.subarray(0, elf.length - 100)), 64, /segment inside the file/);
    expect(segPast.message).toContain("past the end of the file");
    const flat = kdump({ frames, maxMapnr: 4, flattened: true });
    rejects(file(flat.subarray(0, flat.length - 16)), null, /end marker/);
    rejects(file(flat.subarray(0, flat.length - 30)), null, /record data/);
    const plain = kdump({ frames, maxMapnr: 4 });
    rejects(file(plain.subarray(0, 3 * PAGE_SIZE)), null, /page descriptors|bitmap/);
    rejects(file(plain.subarray(0, plain.length - 50)), null, /page data/);
    const xen = xenCore(pages.map((data, pfn) => ({ pfn, data })));
    rejects(file(xen.subarray(0, xen.length - PAGE_SIZE)), null, /\.xen_pages inside the file/);
  });
  test("a segment past the end of the file", () => {
    const b = Buffer.from(elf);
    b.writeBigUInt64LE(BigInt(b.length), 64 + 8); // p_offset of the only PT_LOAD = end of file
    rejects(file(b), 64, /segment inside the file/);
  });
  test("overlapping segments, overlapping flattened records, a Xen frame listed twice", () => {
    const two = elfCore([{ paddr: 0, data: Buffer.concat(pages) }, { paddr: 2 * PAGE_SIZE, data: pages[0]! }]);
    const e = rejects(file(two), 64 + 56, /disjoint guest-physical ranges/);
    expect(e.message).toContain("0x2000");
    const flat = kdump({ frames, maxMapnr: 4, flattened: true });
    const rec = Buffer.alloc(16 + 100);
    rec.writeBigInt64BE(50n, 0); // bytes 50..149 of the image, which the first records already cover
    rec.writeBigInt64BE(100n, 8);
    const dup = Buffer.concat([flat.subarray(0, flat.length - 16), rec, flat.subarray(flat.length - 16)]);
    rejects(file(dup), null, /disjoint ranges/);
    rejects(file(xenCore([{ pfn: 5, data: pages[0]! }, { pfn: 5, data: pages[1]! }])), null, /each frame listed once/);
  });
  test("sizes and addresses that are not page multiples", () => {
    const b = Buffer.from(elf);
    b.writeBigUInt64LE(1000n, 64 + 40); // p_memsz
    rejects(file(b), 64, /p_memsz that is a multiple of the page size/);
    const c = Buffer.from(elf);
    c.writeBigUInt64LE(0x10n, 64 + 24); // p_paddr
    rejects(file(c), 64, /p_paddr aligned/);
    const d = Buffer.from(elf);
    d.writeBigUInt64LE(BigInt(8 * PAGE_SIZE), 64 + 32); // p_filesz > p_memsz and past the end
    rejects(file(d), 64, /p_filesz <= p_memsz/);
  });
  test("unsupported and corrupt kdump pages", () => {
    rejects(file(kdump({ frames, maxMapnr: 4, compression: "lzo" })), null, /zlib or zstd/, undefined, UnsupportedCompressionError);
    const s = rejects(file(kdump({ frames, maxMapnr: 4, compression: "snappy" })), null, /zlib or zstd/, undefined, UnsupportedCompressionError);
    expect(s.message).toContain("snappy");
    const z = kdump({ frames: new Map([[0, textPageOf(1)]]), maxMapnr: 4 });
    const descAt = (2 + 2) * PAGE_SIZE; // header, sub-header, two bitmap blocks
    const dataAt = Number(z.readBigInt64LE(descAt));
    z.fill(0x55, dataAt + 2, dataAt + 40); // inside the first page's zlib stream
    rejects(file(z), dataAt, /zlib-compressed page data/);
  });
  test("a Xen core with a wrong header magic", () => {
    rejects(file(xenCore([{ pfn: 0, data: pages[0]! }], { magic: 0x1234 })), null, /xch_magic/);
  });
});
