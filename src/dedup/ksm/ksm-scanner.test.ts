/** Scenario tests of the ksm policy: exact /sys/kernel/mm/ksm counters after each pass. */
import { describe, expect, test } from "bun:test";
import type { ScannerStats } from "../types.ts";
import { content, fill, setup } from "./test-pages.ts";

const PAGE = 4096;

/** The counters that describe merging (the rest are checked where they matter). */
function merged(st: ScannerStats) {
  return { shared: st.pagesShared, sharing: st.pagesSharing, unshared: st.pagesUnshared, volatile: st.pagesVolatile };
}

describe("ksm: merging", () => {
  test("within one guest: nothing on the first pass, everything on the second", async () => {
    const { hv, s } = setup(16);
    const a = hv.createGuest({ pages: 8, name: "a" });
    fill(a, [1, 1, 1, 1, 7, 8]);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 0, volatile: 6 });
    expect(hv.stats().sharedFrames).toBe(0);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 3, unshared: 2, volatile: 0 });
    expect(s.stats()).toMatchObject({ fullScans: 2, pagesScanned: 12, pagesSkipped: 0, zeroPages: 0 });
    expect(s.stats().generalProfit).toBe(3 * PAGE - 6 * 64);
    expect(hv.stats()).toMatchObject({ sharedFrames: 1, sharingMappings: 3 });
    expect(s.work()).toMatchObject({ merges: 3, pagesHashed: 12 });
    for (let i = 0; i < 4; i++) expect(a.read(i)).toEqual(content(1));
    // third pass: the KSM pages are skipped, the two unique pages re-enter the unstable tree
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 3, unshared: 2, volatile: 0 });
    expect(s.work().pagesHashed).toBe(14);
    hv.audit();
  });

  test("across guests, the scanned page's frame survives an unstable-tree merge", async () => {
    const { hv, s } = setup(16);
    const a = hv.createGuest({ pages: 2, name: "a" });
    const b = hv.createGuest({ pages: 2, name: "b" });
    fill(a, [5, 6]);
    fill(b, [6, 5]);
    const bFrame = b.frameOf(0);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 2, unshared: 0, volatile: 0 });
    expect(a.frameOf(1)).toBe(bFrame); // b gfn 0 was scanned after a gfn 1 entered the tree
    expect(b.frameOf(1)).toBe(b.frameOf(1));
    expect(a.frameOf(0)).toBe(b.frameOf(1));
    hv.audit();
  });

  test("two-pass rule: a new page identical to a KSM page also waits for its second visit", async () => {
    const { hv, s } = setup(16);
    const a = hv.createGuest({ pages: 4 });
    fill(a, [3, 3]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 0 });
    a.write(2, 0, content(3));
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 1 });
    expect(a.isShared(2)).toBe(false);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 2, unshared: 0, volatile: 0 });
    expect(a.frameOf(2)).toBe(a.frameOf(0));
    hv.audit();
  });

  test("a page that keeps changing never passes the checksum gate", async () => {
    const { hv, s } = setup(8);
    const a = hv.createGuest({ pages: 2 });
    fill(a, [9, 9]);
    for (let pass = 0; pass < 4; pass++) {
      a.write(1, 200, new Uint8Array([pass + 1]));
      await s.fullScans(1);
    }
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 1, volatile: 1 });
    hv.audit();
  });

  test("pages differing only in the first or the last byte never merge; compare bytes are exact", async () => {
    const { hv, s } = setup(8, { smartScan: false });
    const a = hv.createGuest({ pages: 3 });
    const x = content(4);
    a.write(0, 0, x);
    a.write(1, 0, x);
    a.write(1, 0, new Uint8Array([x[0]! + 1])); // greater at byte 0
    a.write(2, 0, x);
    a.write(2, 4095, new Uint8Array([x[4095]! + 1])); // greater at byte 4095
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 3, volatile: 0 });
    // page 1 vs root page 0: 1 byte each; page 2 vs page 0: all 4096; page 2 vs page 1: 1 byte
    expect(s.work()).toMatchObject({ compares: 3, compareBytes: 2 + 8192 + 2, lookups: 3, merges: 0 });
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 3, volatile: 0 });
    hv.audit();
  });

  test("constant checksums: every page passes the gate at once, different contents still never merge", async () => {
    const { hv, s } = setup(16, { fingerprintOverride: () => 0n });
    const a = hv.createGuest({ pages: 6 });
    fill(a, [1, 1, 2, 3, 2, 4]);
    await s.fullScans(1); // oldchecksum starts at 0, like a zeroed rmap_item
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 2, unshared: 2, volatile: 0 });
    [1, 1, 2, 3, 2, 4].forEach((id, i) => expect(a.read(i)).toEqual(content(id)));
    hv.audit();
  });

  test("the unstable tree compares current contents: a page rewritten after insertion is found by its new bytes", async () => {
    const { hv, s } = setup(8, { pagesToScan: 1 });
    const a = hv.createGuest({ pages: 2 });
    fill(a, [1, 2]);
    await s.fullScans(1);
    await s.scan(1); // pass 2: page 0 (content 1) enters the unstable tree
    a.write(0, 0, content(2)); // corrupts the tree: node keyed as 1 now holds 2
    await s.scan(1); // page 1 (content 2, stable checksum) finds it and merges
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 0 });
    expect(a.read(0)).toEqual(content(2));
    expect(a.frameOf(0)).toBe(a.frameOf(1));
    hv.audit();
  });
});

describe("ksm: breaking and leaving", () => {
  test("content rewrite: counters drop lazily at the next visit, then the page re-merges", async () => {
    const { hv, s } = setup(16);
    const a = hv.createGuest({ pages: 2 });
    fill(a, [1, 1]);
    await s.fullScans(2);
    a.write(1, 0, content(2));
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 0 }); // not yet noticed
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 0, unshared: 0, volatile: 1 });
    a.write(1, 0, content(1));
    await s.fullScans(1); // checksum changed back: recorded only (4th visit, age 3: one skip granted)
    expect(a.isShared(1)).toBe(false);
    await s.fullScans(1); // smart scan: age is not reset by the merge, so this visit is skipped
    expect(s.stats().pagesSkipped).toBe(1);
    expect(a.isShared(1)).toBe(false);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 0 });
    expect(a.frameOf(1)).toBe(a.frameOf(0));
    hv.audit();
  });

  test("CoW breaks with several sharers, from the surviving frame's owner and from the others", async () => {
    const { hv, s } = setup(32);
    const a = hv.createGuest({ pages: 2, name: "a" });
    const b = hv.createGuest({ pages: 2, name: "b" });
    fill(a, [7, 7]);
    fill(b, [7, 7]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 3, unshared: 0, volatile: 0 });
    const k = a.frameOf(1); // a gfn 1 merged with a gfn 0 from the unstable tree: its frame survived
    expect(a.frameOf(0)).toBe(k);
    a.write(1, 0, content(8)); // the owner writes: it gets the copy, the frame stays with the others
    b.write(1, 0, content(9));
    expect(b.frameOf(0)).toBe(k);
    expect(hv.stats()).toMatchObject({ sharedFrames: 1, sharingMappings: 1 });
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 3, unshared: 0, volatile: 0 });
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 2 });
    a.write(0, 0, content(10)); // copy
    b.write(0, 0, content(11)); // last sharer: in place, the KSM frame is gone
    expect(hv.stats().sharedFrames).toBe(0);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 0, volatile: 2 });
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 2, volatile: 2 });
    hv.audit();
  });

  test("discarded sharers: items are freed when the cursor passes them; a stale node is dropped", async () => {
    const { hv, s } = setup(16, { smartScan: false });
    const a = hv.createGuest({ pages: 4 });
    fill(a, [2, 2, 2, 5]);
    await s.fullScans(2);
    expect(s.rmapItemCount()).toBe(4);
    a.discard(0, 3);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 2, unshared: 1, volatile: 0 });
    await s.fullScans(1);
    expect(s.rmapItemCount()).toBe(1);
    expect(merged(s.stats())).toEqual({ shared: 0, sharing: 0, unshared: 1, volatile: 0 });
    expect(s.stats().pagesScanned).toBe(9);
    a.write(0, 0, content(2));
    a.write(1, 0, content(2));
    await s.fullScans(2); // the old node is gone: a fresh pair from the unstable tree
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 1, volatile: 0 });
    hv.audit();
  });

  test("range unregister and run=2 take effect at once", async () => {
    const { hv, s } = setup(32);
    const a = hv.createGuest({ pages: 4, name: "a" });
    const b = hv.createGuest({ pages: 4, name: "b" });
    fill(a, [1, 1, 2, 2]);
    fill(b, [1, 1, 2, 3]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 5, unshared: 1, volatile: 0 });
    s.unregister(b, 0, 2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 3, unshared: 1, volatile: 0 });
    expect(s.rmapItemCount()).toBe(6);
    expect(b.isShared(0) || b.isShared(1)).toBe(false);
    hv.audit();
    await s.fullScans(1);
    expect(s.stats().pagesScanned).toBe(16 + 6);
    s.setRun(2);
    expect(s.stats()).toEqual({
      pagesShared: 0,
      pagesSharing: 0,
      pagesUnshared: 0,
      pagesVolatile: 0,
      fullScans: 0,
      pagesScanned: 22,
      pagesSkipped: 0,
      stableNodeChains: 0,
      stableNodeDups: 0,
      zeroPages: 0,
      generalProfit: 0,
    });
    expect(hv.stats()).toMatchObject({ sharedFrames: 0, sharingMappings: 0 });
    s.setRun(1);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 3, unshared: 1, volatile: 0 });
    expect(s.stats().fullScans).toBe(2);
    hv.audit();
  });

  test("a guest destroyed while shared: its items go at once, a node left without mappings with them", async () => {
    const { hv, s } = setup(32);
    const a = hv.createGuest({ pages: 3, name: "a" });
    const b = hv.createGuest({ pages: 3, name: "b" });
    fill(a, [1, 2, 4]);
    fill(b, [1, 3, 3]);
    await s.fullScans(2);
    expect(merged(s.stats())).toEqual({ shared: 2, sharing: 2, unshared: 2, volatile: 0 });
    hv.destroyGuest(b);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 0, unshared: 2, volatile: 0 });
    expect(s.rmapItemCount()).toBe(3);
    expect(s.stats().stableNodeDups).toBe(0);
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 0, unshared: 2, volatile: 0 });
    hv.audit();
  });

  test("a guest created mid-pass joins at the next pass", async () => {
    const { hv, s } = setup(32, { pagesToScan: 2 });
    const a = hv.createGuest({ pages: 4 });
    fill(a, [1, 1, 2, 3]);
    await s.scan();
    const late = hv.createGuest({ pages: 2 });
    fill(late, [1, 1]);
    await s.fullScans(1);
    expect(s.stats().pagesScanned).toBe(4);
    await s.fullScans(1);
    expect(s.stats().pagesScanned).toBe(10);
    expect(late.isShared(0)).toBe(false); // first visit: checksum only
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 1, unshared: 2, volatile: 2 });
    await s.fullScans(1);
    expect(merged(s.stats())).toEqual({ shared: 1, sharing: 3, unshared: 2, volatile: 0 });
    hv.audit();
  });
});
