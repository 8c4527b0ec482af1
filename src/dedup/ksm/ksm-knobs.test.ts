/** ksm policy: zero pages, max_page_sharing chains, smart scan ladder, knobs, profit. */
import { describe, expect, test } from "bun:test";
import { BusyError } from "../../hypervisor/index.ts";
import type { ScannerStats } from "../types.ts";
import { skipAge } from "./ksm-scanner.ts";
import { content, fill, setup } from "./test-pages.ts";

const PAGE = 4096;

function merged(st: ScannerStats) {
  return { shared: st.pagesShared, sharing: st.pagesSharing, unshared: st.pagesUnshared, volatile: st.pagesVolatile };
}

describe("ksm: zero pages", () => {
  test("useZeroPages off (the kernel's default): zero pages merge into one ordinary KSM page", async () => {
    const { hv, s } = setup(128);
    const g = hv.createGuest({ pages: 100 });
    fill(g, [...Array(50).fill(7), ...Array(50).fill(0)]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 98, unshared: 0, volatile: 0 });
    expect(s.stats().zeroPages).toBe(0);
    expect(hv.stats().zeroMapped).toBe(0);
    hv.audit();
  });

  test("useZeroPages on: 50 + 50 zero pages give zeroPages 50, shared 1, sharing 49 (anchors 10.3)", async () => {
    const { hv, s } = setup(128, { useZeroPages: true });
    const g = hv.createGuest({ pages: 100 });
    fill(g, [...Array(50).fill(7), ...Array(50).fill(0)]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 49, unshared: 0, volatile: 50 });
    expect(s.stats().zeroPages).toBe(50);
    // the zero-mapped pages' rmap items live until the cursor passes them in the next pass
    expect(s.stats().generalProfit).toBe((49 + 50) * PAGE - 100 * 64);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 49, unshared: 0, volatile: 0 });
    expect(s.stats().generalProfit).toBe((49 + 50) * PAGE - 50 * 64);
    expect(s.stats().pagesScanned).toBe(100 + 100 + 50); // zero-mapped pages are not visited
    for (let i = 50; i < 100; i++) expect(g.frameOf(i)).toBe(hv.zeroFrame);
    // a write to a zero-mapped page un-counts it at once
    g.write(60, 0, new Uint8Array([1]));
    expect(s.stats().zeroPages).toBe(49);
    hv.audit();
  });

  test("useZeroPages on: 100 identical pages and 50 zero pages give shared 1, sharing 99, zeroPages 50", async () => {
    const { hv, s } = setup(200, { useZeroPages: true });
    const g = hv.createGuest({ pages: 150 });
    fill(g, [...Array(100).fill(3), ...Array(50).fill(0)]);
    await s.fullScans(2);
    expect(s.stats()).toMatchObject({ pagesShared: 1, pagesSharing: 99, zeroPages: 50 });
    expect(s.work().zeroChecks).toBe(50);
    hv.audit();
  });
});

describe("ksm: max_page_sharing", () => {
  test("600 mappings of one content with the default 256 make a chain of 3 dups", async () => {
    const { hv, s } = setup(700);
    const g = hv.createGuest({ pages: 600 });
    fill(g, Array(600).fill(5));
    await s.fullScans(2);
    expect(s.stats()).toMatchObject({ pagesShared: 3, pagesSharing: 597, stableNodeChains: 1, stableNodeDups: 3, pagesUnshared: 0 });
    expect(hv.stats()).toMatchObject({ sharedFrames: 3, sharingMappings: 597 });
    const frames = new Map<number, number>();
    for (let i = 0; i < 600; i++) frames.set(g.frameOf(i), (frames.get(g.frameOf(i)) ?? 0) + 1);
    expect([...frames.values()].sort((x, y) => y - x)).toEqual([256, 256, 88]);
    hv.audit();
  });

  test("max 2: pairs, one page left over in the unstable tree, and the chain arithmetic", async () => {
    const { hv, s } = setup(16, { maxPageSharing: 2, smartScan: false });
    const g = hv.createGuest({ pages: 5 });
    fill(g, Array(5).fill(9));
    await s.fullScans(2);
    expect(s.stats()).toMatchObject({ pagesShared: 2, pagesSharing: 2, pagesUnshared: 1, stableNodeChains: 1, stableNodeDups: 2 });
    await s.fullScans(3); // a full dup never takes the fifth page
    expect(s.stats()).toMatchObject({ pagesShared: 2, pagesSharing: 2, pagesUnshared: 1, stableNodeChains: 1, stableNodeDups: 2 });
    hv.audit();
  });

  test("a chain whose other dup went stale collapses back to a plain node on the next search", async () => {
    const { hv, s } = setup(16, { maxPageSharing: 2, smartScan: false });
    const g = hv.createGuest({ pages: 5 });
    fill(g, [9, 9, 9, 9]);
    await s.fullScans(2);
    expect(s.stats()).toMatchObject({ pagesShared: 2, pagesSharing: 2, stableNodeChains: 1, stableNodeDups: 2 });
    g.write(2, 0, content(1));
    g.write(3, 0, content(2)); // last sharer: that KSM frame is gone
    g.write(4, 0, content(9));
    await s.fullScans(1); // page 2's removal finds its node stale and drops it with both items
    expect(s.stats()).toMatchObject({ pagesShared: 1, pagesSharing: 1, stableNodeChains: 1, stableNodeDups: 1 });
    await s.fullScans(1); // page 4's search meets the chain of one dup: collapsed; that dup is full
    expect(s.stats()).toMatchObject({ pagesShared: 1, pagesSharing: 1, pagesUnshared: 3, stableNodeChains: 0, stableNodeDups: 0 });
    hv.audit();
  });

  test("changing maxPageSharing while pages are shared throws BusyError and changes nothing", async () => {
    const { hv, s } = setup(16);
    const g = hv.createGuest({ pages: 2 });
    fill(g, [4, 4]);
    await s.fullScans(2);
    s.set({ maxPageSharing: 256 });
    expect(() => s.set({ maxPageSharing: 3, pagesToScan: 5 })).toThrow(BusyError);
    expect([s.options.maxPageSharing, s.options.pagesToScan]).toEqual([256, 1000]);
    g.write(0, 0, content(1));
    g.write(1, 0, content(2));
    expect(() => s.set({ maxPageSharing: 3 })).toThrow(BusyError); // still counted until the next pass
    await s.fullScans(1);
    s.set({ maxPageSharing: 3 });
    expect(s.options.maxPageSharing).toBe(3);
    hv.audit();
  });
});

describe("ksm: smart scan", () => {
  test("the skip ladder: 1 (age <= 3), 2 (<= 5), 4 (<= 8), then 8", () => {
    expect([0, 3, 4, 5, 6, 8, 9, 200, 255].map(skipAge)).toEqual([1, 1, 2, 2, 4, 4, 8, 8, 8]);
  });

  test("pages that never merge are visited on passes 1,2,3,4,6,9,14 of 14, skipped otherwise", async () => {
    const { hv, s } = setup(32);
    const g = hv.createGuest({ pages: 10 });
    fill(g, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const visitsAfter: number[] = [];
    for (let pass = 1; pass <= 14; pass++) {
      await s.fullScans(1);
      visitsAfter.push(s.stats().pagesScanned / 10);
      if (pass === 5) expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 0, volatile: 10 }); // skipped: out of the tree
    }
    expect(visitsAfter).toEqual([1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 6, 7]);
    expect(s.stats()).toMatchObject({ pagesScanned: 70, pagesSkipped: 70, fullScans: 14, pagesUnshared: 10 });
    hv.audit();
  });

  test("KSM pages are never skipped and do not age; smartScan off visits every page every pass", async () => {
    const { hv, s } = setup(32);
    const g = hv.createGuest({ pages: 4 });
    fill(g, [1, 1, 2, 3]);
    await s.fullScans(6);
    // merged pages: 6 visits each; unique pages: passes 1,2,3,4,6 = 5 visits, pass 5 skipped
    expect(s.stats()).toMatchObject({ pagesScanned: 12 + 10, pagesSkipped: 2, pagesShared: 1, pagesSharing: 1 });
    s.set({ smartScan: false });
    await s.fullScans(2);
    expect(s.stats()).toMatchObject({ pagesScanned: 22 + 8, pagesSkipped: 2 });
    hv.audit();
  });

  test("a skipped page leaves the unstable tree and its visit is not charged to the batch", async () => {
    const { hv, s } = setup(32, { pagesToScan: 3 });
    const g = hv.createGuest({ pages: 6 });
    fill(g, [1, 2, 3, 4, 5, 6]);
    await s.fullScans(4);
    expect(s.stats().pagesUnshared).toBe(6);
    expect(await s.scan(3)).toBe(0); // pass 5: all six skipped, the batch ends at the pass boundary
    expect(s.stats()).toMatchObject({ pagesSkipped: 6, pagesUnshared: 0, fullScans: 5 });
    hv.audit();
  });
});

describe("ksm: work counters and profit", () => {
  test("lookups count tree nodes visited and merges count shares; profit follows the kernel's formula", async () => {
    const { hv, s } = setup(16, { smartScan: false });
    const g = hv.createGuest({ pages: 3 });
    fill(g, [1, 1, 1]);
    await s.fullScans(2);
    // pass 2: page 0 into the empty unstable tree; page 1 finds it (1 lookup) and makes a stable
    // node (stable tree empty); page 2 finds that node in the stable tree (1 lookup)
    expect(s.work()).toMatchObject({ lookups: 2, compares: 2, compareBytes: 2 * 8192, merges: 2, pagesHashed: 6 });
    expect(s.stats().generalProfit).toBe(2 * PAGE - 3 * 64);
    hv.audit();
  });
});

describe("ksm: stableNodeChainsPruneMillisecs", () => {
  test("defaults to 2000, is a knob of set(), and rejects bad values with nothing changed", async () => {
    const { hv, s } = setup(64);
    expect(s.options.stableNodeChainsPruneMillisecs).toBe(2000);
    s.set({ stableNodeChainsPruneMillisecs: 0 });
    expect(s.options.stableNodeChainsPruneMillisecs).toBe(0);
    expect(() => s.set({ stableNodeChainsPruneMillisecs: -1 })).toThrow(/stableNodeChainsPruneMillisecs/);
    expect(() => s.set({ stableNodeChainsPruneMillisecs: 1.5 })).toThrow(/stableNodeChainsPruneMillisecs/);
    expect(s.options.stableNodeChainsPruneMillisecs).toBe(0);
    hv.audit();
  });
});
