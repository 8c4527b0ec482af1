/**
 * Scenario tests with exact counters shared by the two hash-table policies (vmdedup, esx); each
 * policy's *.test.ts runs them and adds its own. End-of-pass counters of these scenarios do not
 * depend on the visit order, so they hold for esx's random order too.
 */
import { describe, expect, test } from "bun:test";
import { BusyError, Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../create-scanner.ts";
import type { Scanner, ScannerOptions } from "../types.ts";
import { BYTES_PER_TRACKED_PAGE } from "./hash-scanner-base.ts";

export function page(v: number, at = -1, w = 0): Uint8Array {
  const p = new Uint8Array(4096).fill(v);
  if (at >= 0) p[at] = w;
  return p;
}

/** Writes full pages of the given fill values (0 = an all-zero page). */
export function fill(g: Guest, values: number[], from = 0): void {
  values.forEach((v, i) => g.write(from + i, 0, page(v)));
}

export function setup(policy: "vmdedup" | "esx", opts: Partial<ScannerOptions> = {}, frames = 256) {
  const hv = new Hypervisor({ frames });
  const s = createScanner(hv, { policy, ...opts });
  return { hv, s };
}

function counters(s: Scanner) {
  const { pagesShared, pagesSharing, pagesUnshared, pagesVolatile, zeroPages, stableNodeChains, stableNodeDups } = s.stats();
  return { shared: pagesShared, sharing: pagesSharing, unshared: pagesUnshared, volatile: pagesVolatile, zero: zeroPages, chains: stableNodeChains, dups: stableNodeDups };
}

const C = (shared: number, sharing: number, unshared: number, volatile = 0, zero = 0, chains = 0, dups = 0) => ({
  shared, sharing, unshared, volatile, zero, chains, dups,
});

export function hashPolicyScenarios(policy: "vmdedup" | "esx"): void {
  describe(`${policy}: shared scenarios`, () => {
    test("merge within one guest: exact counters, profit, reads unchanged", async () => {
      const { hv, s } = setup(policy);
      const g = hv.createGuest({ pages: 6 });
      fill(g, [1, 1, 1, 2, 2, 3]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 3, 1));
      const st = s.stats();
      expect([st.fullScans, st.pagesScanned]).toEqual([1, 6]);
      expect(st.generalProfit).toBe(3 * 4096 - 6 * BYTES_PER_TRACKED_PAGE);
      expect(hv.stats().framesUsed).toBe(3);
      expect(g.frameOf(1)).toBe(g.frameOf(0));
      expect(g.frameOf(4)).toBe(g.frameOf(3));
      [1, 1, 1, 2, 2, 3].forEach((v, i) => expect(g.read(i)).toEqual(page(v)));
      expect(s.work().merges).toBe(3);
      expect(s.work().compares).toBe(3);
      hv.audit();
    });

    test("merge across guests", async () => {
      const { hv, s } = setup(policy);
      const a = hv.createGuest({ pages: 3 });
      const b = hv.createGuest({ pages: 3 });
      fill(a, [1, 2, 3]);
      fill(b, [3, 2, 1]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(3, 3, 0));
      expect(b.frameOf(0)).toBe(a.frameOf(2));
      expect(hv.stats().framesUsed).toBe(3);
      hv.audit();
    });

    test("pages differing only in the first or the last byte never merge", async () => {
      const { hv, s } = setup(policy);
      const g = hv.createGuest({ pages: 3 });
      g.write(0, 0, page(5));
      g.write(1, 0, page(5, 0, 6));
      g.write(2, 0, page(5, 4095, 6));
      await s.fullScans(2);
      expect(counters(s)).toEqual(C(0, 0, 3));
      expect(s.work().merges).toBe(0);
      expect(hv.stats().framesUsed).toBe(3);
      hv.audit();
    });

    test("a constant fingerprint (every hash collides) still merges only identical pages", async () => {
      const { hv, s } = setup(policy, { fingerprintOverride: () => 0n });
      const g = hv.createGuest({ pages: 7 });
      fill(g, [1, 2, 1, 2, 3, 0]);
      g.write(6, 0, page(1, 4095, 9));
      const before = Array.from({ length: 7 }, (_, i) => g.read(i));
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 2, 2, 0, 1));
      expect(s.work().zeroChecks).toBe(7); // every page has "the zero page's hash"; bytes decide
      before.forEach((p, i) => expect(g.read(i)).toEqual(p));
      expect(g.frameOf(2)).toBe(g.frameOf(0));
      expect(g.frameOf(6)).not.toBe(g.frameOf(0));
      expect(g.frameOf(5)).toBe(hv.zeroFrame);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 2, 2, 0, 1));
      before.forEach((p, i) => expect(g.read(i)).toEqual(p));
      hv.audit();
    });

    test("content rewrite: CoW is counted at once, the page is volatile for a pass, then re-merges", async () => {
      const { hv, s } = setup(policy);
      const a = hv.createGuest({ pages: 2 });
      const b = hv.createGuest({ pages: 2 });
      fill(a, [1, 7]);
      fill(b, [1, 8]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 1, 2));
      a.write(0, 0, page(9)); // CoW break: b keeps the shared frame alone
      expect(counters(s)).toEqual(C(1, 0, 2));
      hv.audit();
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 0, 2, 1)); // a:0 seen changed, no partner: volatile
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 0, 3)); // stable now: indexed
      a.write(0, 0, page(8)); // now equal to b:1, which is indexed
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 1, 1));
      expect(a.frameOf(0)).toBe(b.frameOf(1));
      a.write(1, 0, page(1)); // equal to the shared frame of b:0
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 2, 0));
      expect(a.frameOf(1)).toBe(b.frameOf(0));
      hv.audit();
    });

    test("CoW breaks with several sharers, from either side, down to the last sharer", async () => {
      const { hv, s } = setup(policy);
      const a = hv.createGuest({ pages: 2 });
      const b = hv.createGuest({ pages: 2 });
      fill(a, [4, 4]);
      fill(b, [4, 4]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 3, 0));
      const f = a.frameOf(0);
      b.write(1, 0, page(11));
      expect(counters(s)).toEqual(C(1, 2, 0));
      a.write(0, 0, page(12)); // the page whose frame survived the merge
      expect(counters(s)).toEqual(C(1, 1, 0));
      a.write(1, 0, page(13));
      expect(counters(s)).toEqual(C(1, 0, 0));
      expect(b.frameOf(0)).toBe(f);
      b.write(0, 0, page(14)); // the last sharer keeps the frame, now private
      expect(b.frameOf(0)).toBe(f);
      expect(counters(s)).toEqual(C(0, 0, 0));
      hv.audit();
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(0, 0, 0, 4));
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(0, 0, 4));
      hv.audit();
    });

    test("range unregister unmerges only the range; run=2 unmerges all; both rescan correctly", async () => {
      const { hv, s } = setup(policy);
      const a = hv.createGuest({ pages: 4 });
      const b = hv.createGuest({ pages: 4 });
      fill(a, [3, 3, 3, 3]);
      fill(b, [3, 3, 3, 3]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 7, 0));
      s.unregister(a, 0, 2);
      expect(counters(s)).toEqual(C(1, 5, 0));
      expect(a.isShared(0) || a.isShared(1)).toBe(false);
      expect(a.read(0)).toEqual(page(3));
      hv.audit();
      const scanned = s.stats().pagesScanned;
      await s.fullScans(1);
      expect(s.stats().pagesScanned - scanned).toBe(6);
      expect(counters(s)).toEqual(C(1, 5, 0));
      s.setRun(2);
      expect(counters(s)).toEqual(C(0, 0, 0));
      expect(hv.stats().sharedFrames).toBe(0);
      expect(s.stats().generalProfit).toBe(0);
      hv.audit();
      s.setRun(1);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 5, 0));
      s.register(a, 0, 2);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 7, 0));
      hv.audit();
    });

    test("zero pages go to the zero frame (useZeroPages default on); a write takes one off at once", async () => {
      const { hv, s } = setup(policy);
      expect(s.options.useZeroPages).toBe(true);
      const g = hv.createGuest({ pages: 4 });
      fill(g, [0, 0, 0, 6]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(0, 0, 1, 0, 3));
      expect(hv.stats().zeroMapped).toBe(3);
      expect(s.stats().generalProfit).toBe(3 * 4096 - 4 * BYTES_PER_TRACKED_PAGE);
      g.write(1, 0, page(6));
      expect(counters(s)).toEqual(C(0, 0, 1, 0, 2));
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 1, 0, 0, 2)); // rewritten to 6: merges with the indexed 6 at once
      hv.audit();
    });

    test("useZeroPages off: zero pages merge like any content", async () => {
      const { hv, s } = setup(policy, { useZeroPages: false });
      const g = hv.createGuest({ pages: 4 });
      fill(g, [0, 0, 0, 6]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 2, 1));
      expect(hv.stats().zeroMapped).toBe(0);
      expect(s.work().zeroChecks).toBe(0);
      hv.audit();
    });

    test("maxPageSharing caps a frame; further duplicates start chained frames; BusyError while shared", async () => {
      const { hv, s } = setup(policy, { maxPageSharing: 3 });
      const g = hv.createGuest({ pages: 9 });
      fill(g, [2, 2, 2, 2, 2, 2, 2]);
      await s.fullScans(1);
      // frames of 3 + 3 mappings, the 7th page waits for a partner as an unshared entry
      expect(counters(s)).toEqual(C(2, 4, 1, 0, 0, 1, 2));
      fill(g, [2, 2], 7);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(3, 6, 0, 0, 0, 1, 3)); // 9 pages on 3 frames
      for (let f of new Set(Array.from({ length: 9 }, (_, i) => g.frameOf(i)))) expect(hv.memory.frameRefcount[f]).toBe(3);
      expect(() => s.set({ maxPageSharing: 4 })).toThrow(BusyError);
      expect(s.options.maxPageSharing).toBe(3);
      s.set({ maxPageSharing: 3 }); // the current value is fine
      // empty two of the three frames: the chain collapses
      const frames = [...new Set(Array.from({ length: 9 }, (_, i) => g.frameOf(i)))];
      for (let i = 0; i < 9; i++) if (g.frameOf(i) !== frames[0]) g.write(i, 0, page(100 + i));
      expect(counters(s)).toEqual(C(1, 2, 0, 0, 0, 0, 0));
      s.setRun(2);
      s.set({ maxPageSharing: 4 });
      expect(s.options.maxPageSharing).toBe(4);
      hv.audit();
    });

    test("after CoW breaks make room under maxPageSharing, a waiting page and a lone sharer move into a frame with room", async () => {
      const { hv, s } = setup(policy, { maxPageSharing: 3 });
      const g = hv.createGuest({ pages: 12 });
      fill(g, [2, 2, 2, 2, 2, 2, 2]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(2, 4, 1, 0, 0, 1, 2)); // two full frames, one page waiting
      const waiting = Array.from({ length: 7 }, (_, i) => i).find((i) => !g.isShared(i))!;
      const [f1, f2] = [...new Set(Array.from({ length: 7 }, (_, i) => g.frameOf(i)).filter((f) => hv.isSharedFrame(f)))] as [number, number];
      const onF1 = Array.from({ length: 7 }, (_, i) => i).filter((i) => g.frameOf(i) === f1);
      const onF2 = Array.from({ length: 7 }, (_, i) => i).filter((i) => g.frameOf(i) === f2);
      g.write(onF1[0]!, 0, page(100)); // f1 now has room for one more mapping
      await s.fullScans(1);
      expect(g.frameOf(waiting)).toBe(f1); // the waiting page merged, no hash needed to notice
      expect(counters(s)).toEqual(C(2, 4, 0, 1, 0, 1, 2));
      expect(hv.stats().framesUsed).toBe(3);
      // leave each frame with one mapping: the lone sharers fold into one frame
      g.write(onF1[1]!, 0, page(101));
      g.write(onF1[2]!, 0, page(102));
      g.write(onF2[0]!, 0, page(103));
      g.write(onF2[1]!, 0, page(104));
      expect(counters(s)).toEqual(C(2, 0, 0, 1, 0, 1, 2)); // counted at once, before any visit
      await s.fullScans(1);
      const lone = [waiting, onF2[2]!];
      expect(g.frameOf(lone[0]!)).toBe(g.frameOf(lone[1]!));
      expect(hv.memory.frameRefcount[g.frameOf(lone[0]!)]).toBe(2);
      expect(counters(s)).toEqual(C(1, 1, 1, 4, 0, 0, 0));
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 1, 5, 0, 0, 0, 0));
      expect(hv.stats().framesUsed).toBe(6);
      const written = [onF1[0]!, onF1[1]!, onF1[2]!, onF2[0]!, onF2[1]!];
      for (let i = 0; i < 7; i++) expect(g.read(i)).toEqual(page(written.includes(i) ? 100 + written.indexOf(i) : 2));
      hv.audit();
    });

    test("guests destroyed while shared: counters follow the hypervisor at once", async () => {
      const { hv, s } = setup(policy);
      const a = hv.createGuest({ pages: 3 });
      const b = hv.createGuest({ pages: 3 });
      fill(a, [1, 2, 3]);
      fill(b, [1, 2, 3]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(3, 3, 0));
      hv.destroyGuest(a); // a's frames survived the merges; b keeps them, one mapping each
      expect(counters(s)).toEqual(C(3, 0, 0));
      hv.audit();
      const c = hv.createGuest({ pages: 3 });
      fill(c, [3, 2, 1]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(3, 3, 0));
      hv.destroyGuest(b);
      hv.destroyGuest(c);
      expect(counters(s)).toEqual(C(0, 0, 0));
      expect(s.stats().generalProfit).toBe(0);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(0, 0, 0));
      hv.audit();
    });

    test("a guest created in the middle of a pass joins at the next pass", async () => {
      const { hv, s } = setup(policy, { pagesToScan: 2 });
      const a = hv.createGuest({ pages: 4 });
      fill(a, [1, 2, 3, 4]);
      expect(await s.scan()).toBe(2);
      const b = hv.createGuest({ pages: 4 });
      fill(b, [1, 2, 3, 4]);
      await s.fullScans(1);
      expect(s.stats().pagesScanned).toBe(4);
      expect(counters(s)).toEqual(C(0, 0, 4));
      await s.fullScans(1);
      expect(s.stats().pagesScanned).toBe(12);
      expect(counters(s)).toEqual(C(4, 4, 0));
      hv.audit();
    });

    test("discarded pages are forgotten at the end of the pass", async () => {
      const { hv, s } = setup(policy);
      const g = hv.createGuest({ pages: 3 });
      fill(g, [1, 2, 2]);
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 1, 1));
      g.discard(0);
      g.discard(2);
      // gfn 1's frame stays SHARED with one mapping (the hypervisor's rule); gfn 0's entry lingers
      expect(counters(s)).toEqual(C(1, 0, 1));
      await s.fullScans(1);
      expect(counters(s)).toEqual(C(1, 0, 0));
      expect(s.stats().generalProfit).toBe(-1 * BYTES_PER_TRACKED_PAGE);
      hv.audit();
    });
  });
}
