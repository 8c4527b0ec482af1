import { describe, expect, test } from "bun:test";
import { fill, hashPolicyScenarios, page, setup } from "../hash/hash-policy-scenarios.ts";

hashPolicyScenarios("vmdedup");

describe("vmdedup: write generations", () => {
  test("a duplicate merges on its first visit", async () => {
    const { hv, s } = setup("vmdedup", { pagesToScan: 1 });
    const a = hv.createGuest({ pages: 2 });
    const b = hv.createGuest({ pages: 2 });
    fill(a, [5, 6]);
    fill(b, [6, 5]);
    expect(await s.scan()).toBe(1); // a:0 indexed
    expect(await s.scan()).toBe(1); // a:1 indexed
    expect(await s.scan()).toBe(1); // b:0 == a:1, merged on its first visit
    expect(b.frameOf(0)).toBe(a.frameOf(1));
    expect(s.stats()).toMatchObject({ pagesShared: 1, pagesSharing: 1, pagesUnshared: 1, pagesScanned: 3, fullScans: 0 });
    hv.audit();
  });

  test("a pass in which nothing was written hashes no page; only written pages are re-hashed", async () => {
    const { hv, s } = setup("vmdedup");
    const g = hv.createGuest({ pages: 8 });
    fill(g, [1, 1, 2, 3, 4, 0, 5, 5]);
    await s.fullScans(1);
    expect(s.work().pagesHashed).toBe(8);
    expect(s.stats()).toMatchObject({ pagesShared: 2, pagesSharing: 2, pagesUnshared: 3, zeroPages: 1 });
    const st = s.stats();
    await s.fullScans(3);
    expect(s.work().pagesHashed).toBe(8);
    expect({ ...s.stats(), fullScans: 0, pagesScanned: 0 }).toEqual({ ...st, fullScans: 0, pagesScanned: 0 });
    expect(s.stats().pagesScanned).toBe(32);
    g.write(3, 10, new Uint8Array([1])); // an indexed page
    g.write(7, 10, new Uint8Array([1])); // a merged page (CoW)
    await s.fullScans(1);
    expect(s.work().pagesHashed).toBe(10);
    expect(s.stats().pagesVolatile).toBe(2);
    await s.fullScans(1); // now stable: indexed from the remembered fingerprint, no hash
    expect(s.work().pagesHashed).toBe(10);
    expect(s.stats()).toMatchObject({ pagesVolatile: 0, pagesUnshared: 4, pagesShared: 2, pagesSharing: 1, zeroPages: 1 });
    hv.audit();
  });

  test("a stale entry (its page rewritten, not yet revisited) is never merged into", async () => {
    const { hv, s } = setup("vmdedup", { pagesToScan: 1 });
    const a = hv.createGuest({ pages: 1 });
    const b = hv.createGuest({ pages: 1 });
    fill(a, [7]);
    await s.fullScans(1); // a:0 indexed with content 7
    a.write(0, 0, page(8)); // entry now stale (generation changed)
    fill(b, [7]);
    // next pass: a:0 first (changed -> volatile), then b:0 finds no valid partner
    await s.fullScans(1);
    expect(b.frameOf(0)).not.toBe(a.frameOf(0));
    expect(s.stats()).toMatchObject({ pagesShared: 0, pagesUnshared: 1, pagesVolatile: 1 });
    expect(s.work().compares).toBe(0);
    hv.audit();
  });

  test("work counters: compares read 8 KiB when equal, up to the first difference otherwise", async () => {
    const { hv, s } = setup("vmdedup", { fingerprintOverride: () => 1n });
    const g = hv.createGuest({ pages: 3 });
    g.write(0, 0, page(5));
    g.write(1, 0, page(5, 0, 6)); // differs at byte 0: 2 bytes read
    g.write(2, 0, page(5, 4095, 6)); // differs at byte 4095 from both
    await s.fullScans(1);
    // gfn1 vs gfn0: 2 bytes; gfn2 vs gfn0: 8192; gfn2 vs gfn1: 2
    expect(s.work()).toMatchObject({ compares: 3, compareBytes: 2 + 8192 + 2, merges: 0, zeroChecks: 3, pagesHashed: 3 }); // 1n is also the zero page's fingerprint: 3 zero tests
    expect(s.stats().pagesUnshared).toBe(3);
    hv.audit();
  });
});
