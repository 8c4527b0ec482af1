import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createXXHash3 } from "hash-wasm";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { CHUNK_PAGES } from "./dump-file.ts";
import { loadDump, type GuestImage } from "./guest-image.ts";
import { detectFormat, openDump } from "./open-dump.ts";
import { PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO } from "./page-digest.ts";
import { elfCore, kdump, pageOf, textPageOf, writeRaw, xenCore } from "./test-dumps.ts";

const dir = mkdtempSync(join(tmpdir(), "vmdedup-readers-"));
const file = (name: string, bytes: Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** Expected page i: null = unpopulated, otherwise its bytes. */
async function expectImage(img: GuestImage, expected: (Buffer | null)[]): Promise<void> {
  expect(img.pageCount).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const want = e === null ? PAGE_UNPOPULATED : e!.equals(Buffer.alloc(PAGE_SIZE)) ? PAGE_ZERO : PAGE_CONTENT;
    expect(img.state[i]).toBe(want);
    if (want === PAGE_CONTENT) expect(Buffer.from(img.digests.subarray(i * 16, i * 16 + 16)).toString("hex")).toBe(await referenceDigest(e!));
    else expect(img.digests.subarray(i * 16, i * 16 + 16).every((b) => b === 0)).toBe(true);
  }
}

/** xxh3-64x2 from an independent XXH3 implementation (hash-wasm's). */
async function referenceDigest(page: Buffer): Promise<string> {
  const a = await createXXHash3(0, 0), b = await createXXHash3(0x9e3779b9, 0);
  a.init(); a.update(page); b.init(); b.update(page);
  return a.digest() + b.digest();
}

const load = (p: string) => loadDump(openDump(p), null);
const contents = [1, 2, 0, 1, 3, 0, 2, 2, 4, 5];
const pages = contents.map(pageOf);

describe("raw (pmemsave)", () => {
  test("every page populated, digests are xxh3-64x2 of the bytes, zero pages recognised", async () => {
    const p = file("g.raw", Buffer.concat(pages));
    writeRaw(p, pages);
    expect(detectFormat(p)).toBe("raw");
    const d = load(p);
    expect(d.extents).toEqual([{ firstPfn: 0, pages: 10 }]);
    await expectImage(d.image, pages);
  });
  test("a dump longer than one read chunk", async () => {
    const many = Array.from({ length: CHUNK_PAGES + 77 }, (_, i) => (i % 5 === 0 ? pageOf(0) : pageOf(i % 300)));
    const d = load(file("big.raw", Buffer.concat(many)));
    await expectImage(d.image, many);
  });
});

describe("ELF core (QEMU dump-guest-memory layout)", () => {
  test("PN_XNUM, p_filesz < p_memsz, a hole, segments out of frame order, p_offset -1, VMCOREINFO", async () => {
    const p = file("g.elf", elfCore([
      { paddr: 0x100000, data: Buffer.concat(pages.slice(4, 8)) },
      { paddr: 0, data: Buffer.concat(pages.slice(0, 4)), memsz: 6 * PAGE_SIZE },
      { paddr: 0x200000, data: Buffer.alloc(0), memsz: 2 * PAGE_SIZE, notInFile: true },
    ], { pnXnum: true, vmcoreinfo: "OSRELEASE=6.1.0-57-amd64\nPAGESIZE=4096\n" }));
    expect(detectFormat(p)).toBe("elf");
    const r = openDump(p);
    expect(r.guestKernel).toBe("6.1.0-57-amd64");
    r.close();
    const d = load(p);
    expect(d.extents).toEqual([{ firstPfn: 0, pages: 6 }, { firstPfn: 256, pages: 4 }, { firstPfn: 512, pages: 2 }]);
    await expectImage(d.image, [...pages.slice(0, 4), pageOf(0), pageOf(0), ...pages.slice(4, 8), null, null]);
  });
  test("ELF32 big-endian, a segment longer than one read chunk", async () => {
    const many = Array.from({ length: CHUNK_PAGES + 3 }, (_, i) => pageOf(i % 7));
    const d = load(file("g32.elf", elfCore([{ paddr: 0x1000, data: Buffer.concat(many) }], { elf32: true, bigEndian: true })));
    expect(d.extents).toEqual([{ firstPfn: 1, pages: many.length }]);
    await expectImage(d.image, many);
  });
});

describe("kdump-compressed", () => {
  const frames = new Map<number, Buffer | null>(pages.map((b, i) => [i, b]));
  frames.set(12, null); // RAM, excluded from the dump
  frames.set(13, textPageOf(9)); // compressible: stored zlib
  const expected = [...pages, null, textPageOf(9)];
  for (const flattened of [false, true]) {
    test(`${flattened ? "flattened stream" : "plain diskdump"}, zlib pages, shared zero block, excluded frame, frames past a hole`, async () => {
      const p = file(`g${flattened}.kdump`, kdump({ frames, maxMapnr: 100, flattened, release: "6.1.0-test-k" }));
      expect(detectFormat(p)).toBe("kdump");
      const r = openDump(p);
      expect(r.guestKernel).toBe("6.1.0-test-k");
      expect(r.extents).toEqual([{ firstPfn: 0, pages: 10 }, { firstPfn: 12, pages: 2 }]);
      r.close();
      await expectImage(load(p).image, expected);
    });
  }
  test("raw (uncompressed) pages", async () => {
    await expectImage(load(file("graw.kdump", kdump({ frames, maxMapnr: 14, compression: "raw" }))).image, expected);
  });
});

describe("Xen dump-core (from docs/misc/dump-core-format.txt)", () => {
  const listed = [7, 3, 9, 4, 5, 6, 20, 0].map((pfn, i) => ({ pfn, data: pages[i]! }));
  const byPfn = [...listed].sort((a, b) => a.pfn - b.pfn);
  for (const pv of [false, true]) {
    test(`${pv ? "PV .xen_p2m" : "HVM .xen_pfn"}: pages in no order, indexed by frame rank`, async () => {
      const p = file(`g${pv}.xen`, xenCore(listed, { pv }));
      expect(detectFormat(p)).toBe("xen");
      const d = load(p);
      expect(d.extents).toEqual([{ firstPfn: 0, pages: 1 }, { firstPfn: 3, pages: 5 }, { firstPfn: 9, pages: 1 }, { firstPfn: 20, pages: 1 }]);
      await expectImage(d.image, byPfn.map((x) => x.data));
    });
  }
});

test("--format overrides detection: a raw reading of an ELF file sees its bytes as pages", () => {
  const p = file("asraw.elf", elfCore([{ paddr: 0, data: Buffer.concat(pages.slice(0, 2)) }]));
  const d = loadDump(openDump(p, "raw"), null);
  expect(d.image.pageCount).toBe(3); // one header page + two data pages
  expect(d.image.state[1]).toBe(PAGE_CONTENT);
});
