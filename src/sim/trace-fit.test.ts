/**
 * trace-fit on hand-made inputs whose figures are counted here by hand: a 2-guest trace in which
 * zero pages lose their backing (the host's remap) and pages change, and a small spec whose
 * generated memory is known region by region.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GuestImage, newHeader, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, TraceWriter } from "../trace/index.ts";
import { tmp } from "../trace/trace-fixtures.test-util.ts";
import type { WorkloadSpec } from "./spec.ts";
import { modelFitFigures, traceFitTargets } from "./trace-fit.ts";

/** A guest image from a list of page states: "u" unpopulated, "z" zero, or a content number. */
function image(pages: (string | number)[]): GuestImage {
  const im = new GuestImage(pages.length);
  pages.forEach((p, i) => {
    if (p === "u") im.state[i] = PAGE_UNPOPULATED;
    else if (p === "z") (im.state[i] = PAGE_ZERO), (im.sizeClass[i] = 1);
    else {
      im.state[i] = PAGE_CONTENT;
      im.sizeClass[i] = 4;
      im.digestWords[i * 4] = p as number;
      im.digestWords[i * 4 + 1] = 0xabcdef;
    }
  });
  return im;
}

describe("traceFitTargets", () => {
  test("guest view: a page populated before and unpopulated now is a zero page; churn and as-captured figures", () => {
    const path = join(tmp("vmdedup-fit-"), "t.vmtrace");
    const guests = [0, 1].map((g) => ({ name: `g${g}`, pageCount: 8, extents: [[0, 8]] as [number, number][], timesSec: [0, 10, 20] }));
    const w = new TraceWriter(path, newHeader(guests, 3, { tcgSlowdown: 4, intervalSec: 10 }));
    // snapshot 0: g0 = [1 1 2 z z u u u], g1 = [1 3 2 z z u u u]
    w.addSnapshot([image([1, 1, 2, "z", "z", "u", "u", "u"]), image([1, 3, 2, "z", "z", "u", "u", "u"])]);
    // snapshot 1 (t = 10): the host remaps g0's page 3 and g1's pages 3, 4 (zero -> unpopulated); g0 page 5 gets content 7
    w.addSnapshot([image([1, 1, 2, "u", "z", 7, "u", "u"]), image([1, 3, 2, "u", "u", "u", "u", "u"])]);
    // snapshot 2 (t = 20): g0 page 2 -> 8, page 5 -> 9; g1 page 1 -> 8
    w.addSnapshot([image([1, 1, 8, "u", "z", 9, "u", "u"]), image([1, 8, 2, "u", "u", "u", "u", "u"])]);
    w.finish();
    const t = traceFitTargets(path, 10);
    const pct = (n: number) => (n * 100) / 16;
    // first: zero 4, unpopulated 6, content g0 {1,1,2} g1 {1,3,2}: within 1 (g0's second 1), distinct 3 -> across 6 - 3 - 1 = 2
    expect(t.first).toEqual({ zeroPct: pct(4), unpopulatedPct: pct(6), withinGuestExclZeroPct: pct(1), acrossGuestsExclZeroPct: pct(2) });
    // last, guest view: the 3 remapped pages are zero again: zero 4, unpopulated 2 + 3, content g0 {1,1,8,9} g1 {1,8,2}: within 1, distinct 4 -> across 2
    expect(t.last).toEqual({ zeroPct: pct(4), unpopulatedPct: pct(5), withinGuestExclZeroPct: pct(1), acrossGuestsExclZeroPct: pct(2) });
    // as captured: zero 1 (g0 page 4), unpopulated 3 + 5
    expect(t.lastAsCaptured.zeroPct).toBe(pct(1));
    expect(t.lastAsCaptured.unpopulatedPct).toBe(pct(8));
    // churn from 10 s: the interval 10-20 changed 3 pages (guest view: the remaps are no change) of 16 in 10 s
    expect(t.churnHostPctPerSec).toBeCloseTo(pct(3) / 10, 12);
    expect(t.nativeChurnPctPerSec).toBeCloseTo((pct(3) / 10) * 4, 12);
    expect(t.contentToUnpopulated).toBe(0);
    expect([t.guests, t.pagesPerGuest, t.tcgSlowdown, t.firstSec, t.lastSec, t.intervalSec]).toEqual([2, 8, 4, 0, 20, 10]);
  });
});

describe("modelFitFigures", () => {
  const spec: WorkloadSpec = {
    name: "fit-test", description: "test", sources: ["test"],
    families: [{
      name: "f", guests: 2, memory: 64 * 4096,
      regions: [
        { name: "shared", fraction: 0.25, fill: "shared" }, // 16 pages, the same in both guests
        { name: "paired", fraction: 0.125, fill: "shared", copies: 2 }, // 8 pages, 4 contents twice
        { name: "heap", fraction: 0.125, fill: "private" }, // 8 unique pages
        { name: "zero", fraction: 0.25, fill: "zero" },
        { name: "free", fraction: 0.25, fill: "untouched" },
      ],
      phases: [{ name: "boot", duration: "1s", activities: [] }, { name: "run", activities: [{ region: "heap", writesPerSec: 400, produces: { unique: 1 } }] }],
    }],
  };
  test("the generated memory's figures, and churn over windows: exact at boot, bounded after", () => {
    const m = modelFitFigures(spec, { firstSec: 1, lastSec: 2, windows: [[1, 1.5], [1.5, 2]] });
    const pct = (n: number) => (n * 100) / 128;
    // per guest: within = 4 (paired); across = (16 + 4) distinct per guest seen twice -> 20 pages
    expect(m.first).toEqual({ zeroPct: pct(32), unpopulatedPct: pct(32), withinGuestExclZeroPct: pct(8), acrossGuestsExclZeroPct: pct(20) });
    // the heap's unique writes change nothing but the heap's own pages
    expect(m.last).toEqual(m.first);
    // 400 writes/s per guest on 8 pages: every heap page is rewritten in a 0.5 s window (200 writes), 16 of 128 pages
    expect(m.churnPctPerSec).toBeCloseTo(pct(16) / 0.5, 9);
    expect(m.cpuDemandPerGuest).toBeCloseTo(400 * 20e-6, 9);
  });
});
