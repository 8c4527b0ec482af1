/**
 * The readers against dumps QEMU itself wrote (fixtures/make-fixtures.sh: QEMU 7.2.22, TCG, a
 * 16 MiB pc guest stopped after 2 s of SeaBIOS, dump-guest-memory as ELF and as kdump-zlib).
 * Expected layout as `readelf -l fixtures/qemu-16m.elf` shows it: two PT_LOAD segments, RAM
 * [0, 16 MiB) at file offset 0x3d8 and the 256 KiB BIOS block at 0xfffc0000, file offset 0x10003d8.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createXXHash3 } from "hash-wasm";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { loadDump } from "./guest-image.ts";
import { detectFormat, openDump } from "./open-dump.ts";
import { PAGE_CONTENT, PAGE_ZERO } from "./page-digest.ts";
import { analyzeDumps } from "./pipeline.ts";
import { tmp } from "./trace-fixtures.test-util.ts";

const dir = tmp("vmdedup-qemu-fx-");
const unpack = (name: string) => {
  const p = join(dir, name);
  writeFileSync(p, gunzipSync(readFileSync(join(import.meta.dir, "fixtures", `${name}.gz`))));
  return p;
};
const elf = unpack("qemu-16m.elf");
const kd = unpack("qemu-16m.kdump-zlib");
const EXTENTS = [{ firstPfn: 0, pages: 4096 }, { firstPfn: 0xfffc0000 / PAGE_SIZE, pages: 64 }];

describe("dumps written by QEMU's dump-guest-memory", () => {
  test("formats detected from the magic, layouts as readelf shows", () => {
    expect(detectFormat(elf)).toBe("elf");
    expect(detectFormat(kd)).toBe("kdump");
    for (const p of [elf, kd]) {
      const r = openDump(p);
      expect(r.extents).toEqual(EXTENTS);
      expect(r.pageCount).toBe(4160);
      r.close();
    }
  });

  test("ELF pages equal the bytes at readelf's offsets; the kdump-zlib dump of the same memory reads the same", async () => {
    const bytes = readFileSync(elf);
    const segs = [[0x3d8, 4096], [0x10003d8, 64]] as const;
    const a = loadDump(openDump(elf), null).image, b = loadDump(openDump(kd), null).image;
    const h0 = await createXXHash3(0, 0), h1 = await createXXHash3(0x9e3779b9, 0);
    let i = 0, zero = 0, content = 0;
    for (const [off, n] of segs) {
      for (let k = 0; k < n; k++, i++) {
        const page = bytes.subarray(off + k * PAGE_SIZE, off + (k + 1) * PAGE_SIZE);
        if (page.every((x) => x === 0)) {
          zero++;
          expect(a.state[i]).toBe(PAGE_ZERO);
          continue;
        }
        content++;
        expect(a.state[i]).toBe(PAGE_CONTENT);
        h0.init(); h0.update(page); h1.init(); h1.update(page);
        expect(Buffer.from(a.digests.subarray(i * 16, i * 16 + 16)).toString("hex")).toBe(h0.digest() + h1.digest());
      }
    }
    expect(content).toBeGreaterThan(50); // SeaBIOS wrote something
    expect(Buffer.from(b.state).equals(Buffer.from(a.state))).toBe(true);
    expect(Buffer.from(b.digests).equals(Buffer.from(a.digests))).toBe(true);
    const an = analyzeDumps([elf, kd]);
    expect(an.counts).toMatchObject({ pages: 2 * 4160, zero: 2 * zero, content: 2 * content, unpopulated: 0 });
    // the second dump repeats the first: each of its distinct contents is one page saved across guests
    expect(an.counts.savableExclZero - an.counts.withinGuestExclZero).toBe(an.counts.distinctContent);
    expect(an.acrossGuestsExclZeroPct).toBeCloseTo((an.counts.distinctContent * 100) / an.counts.pages, 10);
  });
});
