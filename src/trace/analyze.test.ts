import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeDumps, analyzeTrace, importDumps } from "./pipeline.ts";
import { elfCore, pageOf } from "./test-dumps.ts";
import { countIds, guestContents, mutate, tmp, writeRawIds } from "./trace-fixtures.test-util.ts";

describe("analyze", () => {
  const dir = tmp("vmdedup-analyze-");
  const ids = guestContents(4, 600, 7);
  const paths = ids.map((g, i) => writeRawIds(join(dir, `g${i}.raw`), g));

  test("the figures equal an independent count of content ids", () => {
    const a = analyzeDumps(paths);
    const c = countIds(ids);
    expect(a.guests).toBe(4);
    expect(a.guestNames).toEqual(["g0", "g1", "g2", "g3"]);
    expect(a.pagesPerGuest).toBe(600);
    expect(a.snapshots).toBe(1);
    expect(a.counts).toEqual({ pages: c.pages, unpopulated: 0, zero: c.zero, content: c.content, distinctContent: c.distinct,
      savable: c.zero + c.content - c.distinct, savableExclZero: c.content - c.distinct, withinGuestExclZero: c.within });
    expect(a.zeroPct).toBeCloseTo((c.zero * 100) / c.pages, 12);
    expect(a.savablePct).toBeCloseTo(((c.zero + c.content - c.distinct) * 100) / c.pages, 12);
    expect(a.savableExclZeroPct).toBeCloseTo(((c.content - c.distinct) * 100) / c.pages, 12);
    expect(a.withinGuestExclZeroPct).toBeCloseTo((c.within * 100) / c.pages, 12);
    expect(a.acrossGuestsExclZeroPct).toBeCloseTo(((c.content - c.distinct - c.within) * 100) / c.pages, 12);
    expect(a.copiesHistogram).toEqual(c.hist);
    expect(a.byGuestCount.map((b) => b.guests)).toEqual([1, 2, 3, 4]);
    a.byGuestCount.forEach((b, k) => expect(b.savableExclZeroPct).toBeCloseTo(c.byGuestCount[k]!, 12));
    expect(a.churn).toEqual([]);
  });

  test("unpopulated pages count in the total but not as zero or content", () => {
    const p = join(dir, "holes.elf");
    writeFileSync(p, elfCore([{ paddr: 0, data: Buffer.concat([1, 1, 0].map(pageOf)) }, { paddr: 0x10000, data: Buffer.alloc(0), memsz: 4096, notInFile: true }]));
    const a = analyzeDumps([p]);
    expect(a.counts).toMatchObject({ pages: 4, unpopulated: 1, zero: 1, content: 2, distinctContent: 1, savable: 2, savableExclZero: 1 });
    expect(a.unpopulatedPct).toBe(25);
  });

  test("a dump and its imported trace give the same figures", () => {
    const out = join(dir, "one.vmtrace");
    importDumps(out, paths.map((p, i) => ({ name: `g${i}`, dumps: [p] })));
    const { header, ...fromTrace } = analyzeTrace(out);
    expect(header.snapshots).toBe(1);
    expect(fromTrace).toEqual(analyzeDumps(paths));
  });

  test("time series: per-snapshot figures and churn equal independent counts", () => {
    const series = ids.slice(0, 2).map((g, gi) => {
      const s1 = mutate(g, 0.1, 100 + gi), s2 = mutate(s1, 0.05, 200 + gi);
      return [g, s1, s2];
    });
    const guests = series.map((snaps, gi) => ({ name: `vm${gi}`, dumps: snaps.map((s, j) => writeRawIds(join(dir, `vm${gi}-${j}.raw`), s)) }));
    const out = join(dir, "series.vmtrace");
    importDumps(out, guests, { everySec: 5 });
    const a = analyzeTrace(out, { perSnapshot: true });
    expect(Array.isArray(a.snapshots)).toBe(true);
    const snaps = a.snapshots as Exclude<typeof a.snapshots, number>;
    expect(snaps.map((s) => s.timeSec)).toEqual([0, 5, 10]);
    for (let j = 0; j < 3; j++) {
      const c = countIds(series.map((s) => s[j]!));
      expect(snaps[j]!.counts.distinctContent).toBe(c.distinct);
      expect(snaps[j]!.counts.withinGuestExclZero).toBe(c.within);
      expect(snaps[j]!.copiesHistogram).toEqual(c.hist);
    }
    expect(a.churn.map((c) => [c.fromSec, c.toSec])).toEqual([[0, 5], [5, 10]]);
    for (let j = 1; j < 3; j++) {
      let changed = 0;
      for (const s of series) for (let i = 0; i < 600; i++) if (s[j]![i] !== s[j - 1]![i]) changed++;
      expect(a.churn[j - 1]!.changedPctPerSec).toBeCloseTo((changed * 100) / 1200 / 5, 12);
    }
    expect(a.zeroPct).toBe(snaps[2]!.zeroPct);
  });
});
