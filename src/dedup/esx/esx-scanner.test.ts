import { describe, expect, test } from "bun:test";
import { Hypervisor } from "../../hypervisor/index.ts";
import { composeScanner, resolveScannerOptions } from "../create-scanner.ts";
import { PageHasher, type FrameHasher } from "../fingerprint.ts";
import { fill, hashPolicyScenarios, page, setup } from "../hash/hash-policy-scenarios.ts";
import { EsxScanner } from "./esx-scanner.ts";

hashPolicyScenarios("esx");

/** A hasher that records which slots it hashed, in order. */
class RecordingHasher implements FrameHasher {
  hi = 0;
  lo = 0;
  slots: number[] = [];
  private inner: PageHasher;
  constructor(hv: Hypervisor) {
    this.inner = new PageHasher(hv.memory);
  }
  get pagesHashed() {
    return this.inner.pagesHashed;
  }
  hashFrame(slot: number, frame: number): void {
    this.slots.push(slot);
    this.inner.hashFrame(slot, frame);
    this.hi = this.inner.hi;
    this.lo = this.inner.lo;
  }
  async close() {}
}

/** Visit orders of `passes` passes over 2 guests of 40 unique pages (gfn 3 of the first unpopulated). */
async function orders(seed: number, passes: number): Promise<{ orders: number[][]; hashed: number[][]; slots: number[] }> {
  const hv = new Hypervisor({ frames: 128 });
  const a = hv.createGuest({ pages: 40 });
  const b = hv.createGuest({ pages: 40 });
  for (let i = 0; i < 40; i++) {
    if (i !== 3) a.write(i, 0, page(i + 1));
    b.write(i, 0, page(i + 101));
  }
  const rec = new RecordingHasher(hv);
  const s = composeScanner(hv, resolveScannerOptions({ policy: "esx", seed, pagesToScan: 79 }), () => rec) as EsxScanner;
  const out: number[][] = [];
  const hashed: number[][] = [];
  for (let p = 0; p < passes; p++) {
    rec.slots = [];
    expect(await s.scan()).toBe(79);
    out.push(Array.from(s.passOrder()));
    hashed.push(rec.slots);
    expect(await s.scan()).toBe(0); // the pass boundary
  }
  expect(s.stats()).toMatchObject({ fullScans: passes, pagesScanned: 79 * passes, pagesUnshared: 79, pagesShared: 0 });
  hv.audit();
  const slots = [...Array.from({ length: 40 }, (_, i) => a.slotBase + i).filter((x) => x !== a.slotBase + 3), ...Array.from({ length: 40 }, (_, i) => b.slotBase + i)];
  return { orders: out, hashed, slots };
}

describe("esx: random sampling", () => {
  test("each pass visits a permutation of the populated registered pages, a new one each pass, the same for the same seed", async () => {
    const r1 = await orders(1, 3);
    const r1b = await orders(1, 3);
    const r2 = await orders(2, 3);
    for (let p = 0; p < 3; p++) {
      expect(r1.orders[p]!.slice().sort((x, y) => x - y)).toEqual(r1.slots);
      expect(r1.hashed[p]).toEqual(r1.orders[p]!); // the order is the visit order (every page hashed once)
    }
    expect(r1.orders[0]).not.toEqual(r1.orders[1]);
    expect(r1.orders[1]).not.toEqual(r1.orders[2]);
    expect(r1.orders[0]).not.toEqual(r1.slots); // not the sequential order
    expect(r1b.orders).toEqual(r1.orders);
    expect(r2.orders[0]).not.toEqual(r1.orders[0]);
  });

  test("slots that became unpopulated or unregistered during the pass are passed over", async () => {
    const { hv, s } = setup("esx", { pagesToScan: 1 });
    const g = hv.createGuest({ pages: 6 });
    fill(g, [1, 2, 3, 4, 5, 6]);
    expect(await s.scan()).toBe(1);
    const order = Array.from((s as unknown as EsxScanner).passOrder());
    g.discard(0, 2);
    s.unregister(g, 2, 2);
    await s.fullScans(1);
    const gone = new Set([0, 1, 2, 3].map((i) => g.slotBase + i));
    const scanned = s.stats().pagesScanned;
    expect(scanned).toBe(1 + order.slice(1).filter((x) => !gone.has(x)).length);
    await s.fullScans(1);
    expect(s.stats().pagesScanned - scanned).toBe(2);
    hv.audit();
  });
});

describe("esx: hints", () => {
  test("a hint is re-validated by re-hashing its page before a merge", async () => {
    const { hv, s } = setup("esx");
    const a = hv.createGuest({ pages: 1 });
    const b = hv.createGuest({ pages: 1 });
    fill(a, [1]);
    await s.fullScans(1);
    expect(s.stats().pagesUnshared).toBe(1);
    fill(b, [1]);
    await s.fullScans(1);
    // whatever the order: b hashed, a re-hashed to validate its hint (+ a's own visit if first)
    expect(s.stats()).toMatchObject({ pagesShared: 1, pagesSharing: 1, pagesUnshared: 0 });
    expect(s.work().pagesHashed).toBe(4);
    expect(s.work().compares).toBe(1);
    await s.fullScans(1); // both pages map the shared frame: no hashing
    expect(s.work().pagesHashed).toBe(4);
    hv.audit();
  });

  test("a stale hint (its page rewritten) is dropped, never merged into; that page counts as volatile", async () => {
    const { hv, s } = setup("esx", { pagesToScan: 1 });
    const a = hv.createGuest({ pages: 1 });
    const b = hv.createGuest({ pages: 1 });
    fill(a, [1]);
    await s.fullScans(1);
    a.write(0, 0, page(2));
    fill(b, [1]);
    const hashed = s.work().pagesHashed;
    await s.fullScans(1);
    const order = (s as unknown as EsxScanner).passOrder();
    const bFirst = order[0] === b.slotBase;
    expect(s.work().pagesHashed - hashed).toBe(bFirst ? 3 : 2); // b first: a's hint re-hashed and found stale
    expect(s.stats()).toMatchObject({ pagesShared: 0, pagesUnshared: 1, pagesVolatile: 1 });
    expect(s.work().compares).toBe(0);
    expect(b.frameOf(0)).not.toBe(a.frameOf(0));
    await s.fullScans(1);
    expect(s.stats()).toMatchObject({ pagesShared: 0, pagesUnshared: 2, pagesVolatile: 0 });
    hv.audit();
  });
});
