import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { DigestTable } from "./digest-table.ts";
import { TraceFormatError, TraceInputError } from "./errors.ts";
import { loadDump } from "./guest-image.ts";
import { openDump } from "./open-dump.ts";
import { sizeClassOf } from "./page-digest.ts";
import { importDumps } from "./pipeline.ts";
import { textPageOf } from "./test-dumps.ts";
import { guestContents, mutate, tmp, writeRawIds } from "./trace-fixtures.test-util.ts";
import { newHeader } from "./vmtrace-header.ts";
import { TraceReader, TraceWriter } from "./vmtrace.ts";

const dir = tmp("vmdedup-vmtrace-");
const ids = guestContents(3, 300, 11);
const series = ids.map((g, gi) => [g, mutate(g, 0.1, gi + 1), mutate(mutate(g, 0.1, gi + 1), 0.02, gi + 9)]);
const guests = series.map((s, gi) => ({ name: `vm${gi}`, dumps: s.map((x, j) => writeRawIds(join(dir, `vm${gi}-${j}.raw`), x)) }));
const seriesPath = join(dir, "series.vmtrace");
importDumps(seriesPath, guests, { everySec: 5, meta: { workload: "test", accelerator: "tcg", tcgSlowdown: 30 } });

/** Rewrites a trace from its reader: the round trip. */
function rewrite(src: string, dst: string): void {
  const r = new TraceReader(src);
  const w = new TraceWriter(dst, r.header);
  for (const _ of r.snapshots()) w.addSnapshot(r.images);
  w.finish();
}

describe(".vmtrace", () => {
  test("each snapshot holds exactly what the dumps hold (states, size classes, digests)", () => {
    const r = new TraceReader(seriesPath);
    expect(r.header.guests.map((g) => g.name)).toEqual(["vm0", "vm1", "vm2"]);
    expect(r.header.guests[0]!.timesSec).toEqual([0, 5, 10]);
    expect(r.header.guests[0]!.sources).toEqual(["vm0-0.raw", "vm0-1.raw", "vm0-2.raw"]);
    expect(r.header.meta).toMatchObject({ workload: "test", accelerator: "tcg", tcgSlowdown: 30, intervalSec: 5 });
    const classes = new DigestTable();
    for (const j of r.snapshots()) {
      guests.forEach((g, gi) => {
        const d = loadDump(openDump(g.dumps[j]!), classes).image;
        expect(Buffer.from(r.images[gi]!.state).equals(Buffer.from(d.state))).toBe(true);
        expect(Buffer.from(r.images[gi]!.sizeClass).equals(Buffer.from(d.sizeClass))).toBe(true);
        expect(Buffer.from(r.images[gi]!.digests).equals(Buffer.from(d.digests))).toBe(true);
        if (j > 0) {
          let changed = 0;
          for (let i = 0; i < 300; i++) if (series[gi]![j]![i] !== series[gi]![j - 1]![i]) changed++;
          expect(r.changed[gi]).toBe(changed);
        }
      });
    }
  });

  test("read and write again: the same bytes", () => {
    const again = join(dir, "again.vmtrace");
    rewrite(seriesPath, again);
    expect(readFileSync(again).equals(readFileSync(seriesPath))).toBe(true);
  });

  test("size classes are zstd-1 sizes in 1/16ths of a page", () => {
    const p = writeRawIds(join(dir, "text.raw"), []);
    writeFileSync(p, Buffer.concat([textPageOf(1), textPageOf(2)]));
    const d = loadDump(openDump(p), new DigestTable()).image;
    expect(d.sizeClass[0]).toBe(Math.max(1, Math.ceil((Bun.zstdCompressSync(textPageOf(1), { level: 1 }).length * 16) / 4096)));
    expect(d.sizeClass[0]).toBe(sizeClassOf(textPageOf(1)));
    expect(d.sizeClass[0]).toBeLessThan(4);
  });

  test("an import with a bad dump writes nothing, not even a temporary file", () => {
    const bad = join(dir, "bad.raw");
    writeFileSync(bad, Buffer.alloc(5000, 1));
    const out = join(dir, "nothing.vmtrace");
    const before = readdirSync(dir).length;
    expect(() => importDumps(out, [{ name: "a", dumps: [guests[0]!.dumps[0]!] }, { name: "b", dumps: [bad] }])).toThrow(TraceInputError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).length).toBe(before);
  });

  test("the output path is checked before any dump is read; dumps of one guest must cover the same frames", () => {
    expect(() => importDumps(join(dir, "no/such/dir/x.vmtrace"), [{ name: "a", dumps: [join(dir, "missing.raw")] }])).toThrow(/existing, writable directory/);
    const small = writeRawIds(join(dir, "small.raw"), [1, 2]);
    const out = join(dir, "mismatch.vmtrace");
    expect(() => importDumps(out, [{ name: "a", dumps: [guests[0]!.dumps[0]!, small] }], { everySec: 1 })).toThrow(/same guest-physical frames/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("a bad .vmtrace is rejected with a typed error", () => {
  const good = readFileSync(seriesPath);
  const hlen = good.readUInt32LE(12);
  const header = JSON.parse(good.subarray(20, 20 + hlen).toString());
  /** A trace with the given header object and raw (uncompressed) blocks. */
  const craft = (h: unknown, blocks: Buffer[], tail = Buffer.alloc(0)) => {
    const json = Buffer.from(JSON.stringify(h));
    const pre = Buffer.alloc(20);
    pre.write("VMTRACE\0", 0, "latin1");
    pre.writeUInt32LE(1, 8);
    pre.writeUInt32LE(json.length, 12);
    pre.writeUInt32LE(crc32(json), 16);
    const bs = blocks.map((raw) => {
      const z = deflateSync(raw);
      const l = Buffer.alloc(8);
      l.writeUInt32LE(raw.length, 0);
      l.writeUInt32LE(z.length, 4);
      return Buffer.concat([l, z]);
    });
    return Buffer.concat([pre, json, ...bs, tail]);
  };
  const one = newHeader([{ name: "g", pageCount: 4, extents: [[0, 4]], timesSec: [0] }], 1, {});
  const block = (...parts: number[][]) => Buffer.from(parts.flat());
  const le32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
  const zeroEntry = 1 | (1 << 2);
  const cases: [string, Buffer, RegExp][] = [
    ["wrong magic", Buffer.concat([Buffer.from("NOTATRACE..."), good.subarray(12)]), /magic/],
    ["truncated prefix", good.subarray(0, 10), /prefix/],
    ["truncated block", good.subarray(0, good.length - 10), /truncated/],
    ["trailing bytes", Buffer.concat([good, Buffer.from([0])]), /end of the file/],
    ["header CRC", Buffer.concat([good.subarray(0, 16), Buffer.from([0, 0, 0, 0]), good.subarray(20)]), /CRC-32/],
    ["future version", craft({ ...header, version: 2 }, []), /version 1/],
    ["unknown header field", craft({ ...header, colour: "red" }, []), /no header field "colour"/],
    ["extents that do not cover the pages", craft({ ...one, guests: [{ ...one.guests[0], extents: [[0, 3]] }] }, [block(le32(0))]), /cover/],
    ["times not increasing", craft({ ...one, snapshots: 2, guests: [{ ...one.guests[0], timesSec: [5, 5] }] }, []), /strictly increasing/],
    ["page index past the guest", craft(one, [block(le32(1), [9], [zeroEntry])]), /page index below 4/],
    ["bad state", craft(one, [block(le32(1), [0], [3])]), /page state/],
    ["size class out of range", craft(one, [block(le32(1), [0], [1 | (17 << 2)])]), /size class/],
    ["an entry that changes nothing", craft({ ...one, snapshots: 2, guests: [{ ...one.guests[0], timesSec: [0, 1] }] }, [block(le32(1), [0], [zeroEntry]), block(le32(1), [0], [zeroEntry])]), /not canonical/],
    ["missing digest", craft(one, [block(le32(1), [0], [2 | (4 << 2)])]), /digest/],
    ["block longer than its guests", craft(one, [block(le32(0), [7])]), /end of the block/],
  ];
  test("control: a crafted trace that is valid reads", () => {
    const p = join(dir, "crafted-ok.vmtrace");
    writeFileSync(p, craft(one, [block(le32(2), [0, 1], [zeroEntry, zeroEntry])]));
    const r = new TraceReader(p);
    expect([...r.snapshots()]).toEqual([0]);
    expect([...r.images[0]!.state]).toEqual([1, 0, 1, 0]);
  });
  for (const [name, bytes, want] of cases) {
    test(name, () => {
      const p = join(dir, `bad-${name.replace(/\W+/g, "-")}.vmtrace`);
      writeFileSync(p, bytes);
      let err: unknown = null;
      try {
        const r = new TraceReader(p);
        for (const _ of r.snapshots());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TraceFormatError);
      expect((err as TraceFormatError).file).toBe(p);
      expect((err as Error).message).toMatch(want);
    });
  }
});
