/**
 * Partitioned batches of vmdedup and esx (partition-engine.ts): for workers 1, 2 and 4 every counter, every
 * mapping and the scanner's own structures equal those of the one-thread scanner (workers 0),
 * pass after pass, through churn (rewrites to new and duplicate contents, discards), zero pages,
 * chains under a small maxPageSharing (CoW breaks, waiting pages, folds), frames shared outside
 * the scanner (the engine must decline those batches) and knob changes.
 */
import { describe, expect, spyOn, test } from "bun:test";
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../create-scanner.ts";
import { fillContent } from "../mix-image.ts";
import type { Scanner, ScannerOptions } from "../types.ts";
import { crewSize } from "../pool/partition-crew.ts";
import { MAX_WAITED_SHARE, MIN_HASHED_SHARE, PartitionChooser, PROBE_EVERY } from "./partition-chooser.ts";
import type { PartitionEngine } from "./partition-engine.ts";

spyOn(console, "warn").mockImplementation(() => {});

const engineOf = (s: Scanner): PartitionEngine | null => (s as unknown as { partitionEngine(): PartitionEngine | null }).partitionEngine();

/** 3 guests: copies of `contents` contents, zero pages, unique pages, holes. */
function image(pages: number, contents: number): { hv: Hypervisor; guests: Guest[] } {
  const hv = new Hypervisor({ frames: 3 * pages + 64 });
  const buf = new Uint8Array(4096);
  const guests: Guest[] = [];
  for (let gi = 0; gi < 3; gi++) {
    const g = hv.createGuest({ pages, name: `g${gi}` });
    guests.push(g);
    for (let gfn = 0; gfn < pages; gfn++) {
      const r = (gfn * 7 + gi * 13) % 10;
      if (r === 9) continue;
      const id = r < 5 ? 1 + ((gfn + gi) % contents) : r === 5 ? 0 : 100_000 * (gi + 1) + gfn;
      g.write(gfn, 0, fillContent(id, buf));
    }
  }
  return { hv, guests };
}

function churn(guests: Guest[], round: number, contents: number): void {
  const buf = new Uint8Array(4096);
  for (const g of guests)
    for (let gfn = round; gfn < g.pages; gfn += 23) {
      if (gfn % 5 === 0) g.discard(gfn, 1);
      else if (gfn % 5 === 1) g.write(gfn, 0, fillContent(0, buf));
      else g.write(gfn, 0, fillContent(gfn % 2 ? 1 + (gfn % contents) : 900_000 + gfn * 10 + round, buf));
    }
}

function snapshot(hv: Hypervisor, s: Scanner): string {
  return JSON.stringify({ s: s.stats(), w: s.work(), hv: hv.stats(), map: Array.from(hv.pageTable.slotFrame.subarray(0, hv.pageTable.slotCount)) });
}

interface Case {
  opts: Partial<ScannerOptions>;
  contents: number;
  /** Between passes, after churn (e.g. shares made outside the scanner). */
  between?: (hv: Hypervisor, guests: Guest[], round: number) => void;
}

async function run(policy: "vmdedup" | "esx", c: Case, workers: number) {
  const { hv, guests } = image(1200, c.contents);
  const s = createScanner(hv, { policy, workers, pagesToScan: 1000, ...c.opts });
  const eng = engineOf(s);
  if (eng) {
    eng.adaptive = false; // every batch in partitions (the chooser would follow wall time)
    eng.minBatch = 512; // several batches per pass (MIN_PARTITIONED_BATCH is larger than this image)
  }
  const out: string[] = [];
  for (let round = 1; round <= 4; round++) {
    await s.fullScans(round === 1 ? 1 : 2);
    out.push(snapshot(hv, s));
    hv.audit();
    s.audit();
    churn(guests, round, c.contents);
    c.between?.(hv, guests, round);
  }
  await s.fullScans(2);
  out.push(snapshot(hv, s));
  hv.audit();
  s.audit();
  const counters = { ...(engineOf(s)?.counters ?? { batches: 0, serialChosen: 0, failed: 0, pagesHashed: 0 }) };
  await s.close();
  return { out, counters };
}

const CASES: Record<string, Case> = {
  "churn, zero pages": { opts: {}, contents: 40 },
  "no zero frame (zero pages merge as one content)": { opts: { useZeroPages: false }, contents: 40 },
  "chains: maxPageSharing 3, CoW breaks, waiting pages and folds": { opts: { maxPageSharing: 3 }, contents: 12 },
  "a page takes an earlier page's old content: the hint met before its page's visit, in another partition": {
    opts: {},
    contents: 40,
    between: (_hv, guests, round) => {
      // B (gfn 2i) gets A's (gfn 2i+1) content, A gets a new one; the next pass meets A's stale
      // hint at B's visit, before A's own visit (A's new content is usually in another partition)
      for (const g of guests)
        for (let i = round; 2 * i + 1 < g.pages; i += 3) {
          g.write(2 * i, 0, g.read(2 * i + 1, 0, 4096));
          g.write(2 * i + 1, 0, fillContent(i % 4 === 0 ? 1 + (i % 40) : 5_000_000 + 1000 * round + i));
        }
    },
  },
  "frames shared outside the scanner (hv.share): those batches are declined": {
    opts: {},
    contents: 40,
    between: (hv, guests, round) => {
      const buf = fillContent(777_000 + round);
      guests[0]!.write(round, 0, buf);
      guests[1]!.write(round, 0, buf);
      hv.share(guests[0]!, round, guests[1]!, round);
    },
  },
};

describe("partitioned batches: workers 1, 2, 4 equal workers 0", () => {
  for (const policy of ["vmdedup", "esx"] as const)
  for (const [name, c] of Object.entries(CASES)) {
    test(`${policy}: ${name}`, async () => {
      const ref = await run(policy, c, 0);
      expect(ref.counters.batches).toBe(0);
      for (const workers of [1, 2, 4]) {
        const r = await run(policy, c, workers);
        for (let i = 0; i < ref.out.length; i++) expect(r.out[i]).toBe(ref.out[i]!);
        expect(r.counters.batches).toBeGreaterThan(0); // the engine decided batches
        expect(r.counters.pagesHashed).toBeGreaterThan(0);
        if (name.startsWith("frames shared outside")) expect(r.counters.failed).toBeGreaterThan(0);
      }
    }, 60_000);
  }

  for (const policy of ["vmdedup", "esx"] as const)
  test(`${policy}: small batches (under minBatch) and knob changes between passes stay exact`, async () => {
    const go = async (workers: number) => {
      const { hv, guests } = image(800, 30);
      const s = createScanner(hv, { policy, workers, pagesToScan: 2000 });
      const eng = engineOf(s);
      if (eng) {
        eng.adaptive = false;
        eng.minBatch = 512;
      }
      const out: string[] = [];
      await s.scan(100); // on the scanner thread (under minBatch)
      await s.scan(2000); // partitioned (with workers)
      out.push(snapshot(hv, s));
      s.setRun(2); // everything unmerged: maxPageSharing may change now
      s.set({ maxPageSharing: 4, useZeroPages: false });
      s.setRun(1);
      await s.fullScans(2);
      out.push(snapshot(hv, s));
      churn(guests, 1, 30);
      await s.fullScans(2);
      out.push(snapshot(hv, s));
      hv.audit();
      s.audit();
      await s.close();
      return out;
    };
    const ref = await go(0);
    expect(await go(2)).toEqual(ref);
  }, 30_000);

  test("the chooser: merging batches in partitions, steady ones (few pages to hash) on the scanner's thread, results the same", async () => {
    const go = async (workers: number) => {
      const { hv, guests } = image(1200, 40);
      const s = createScanner(hv, { policy: "vmdedup", workers, pagesToScan: 600 });
      const eng = engineOf(s);
      if (eng) eng.minBatch = 512;
      await engineOf(s)?.started();
      await s.fullScans(1); // 6 batches, every page hashed
      const first = { ...(eng?.counters ?? { batches: 0, serialChosen: 0, failed: 0, pagesHashed: 0 }) };
      await s.fullScans(3); // steady: nothing written, nothing hashed
      const steady = { ...(eng?.counters ?? first) };
      for (const round of [1, 2, 3]) churn(guests, round, 40); // about 13% of the pages written, then passes that hash them
      await s.fullScans(2);
      const out = snapshot(hv, s);
      hv.audit();
      s.audit();
      const c = { ...(eng?.counters ?? first) };
      await s.close();
      return { out, first, steady, c };
    };
    const ref = await go(0);
    const r = await go(1);
    expect(r.out).toBe(ref.out);
    // the first pass: partitions (unless this busy host kept the worker from helping: then probes only)
    expect(r.first.batches + r.first.serialChosen).toBe(6);
    expect(r.first.batches).toBeGreaterThanOrEqual(1);
    // steady passes: after one partitioned batch that hashed nothing, every batch on the scanner's thread
    expect(r.steady.batches - r.first.batches).toBeLessThanOrEqual(1);
    expect(r.steady.serialChosen - r.first.serialChosen).toBeGreaterThanOrEqual(17);
    expect(r.c.batches + r.c.serialChosen).toBeGreaterThan(r.steady.batches + r.steady.serialChosen);
    const plain = createScanner(new Hypervisor({ frames: 16 }), { policy: "vmdedup" }); // (no engine with workers 0)
    expect(engineOf(plain)).toBeNull();
    await plain.close();
    // partitions do not model mitigations: under any mitigation every batch runs on one thread
    for (const mitigation of ["salted", "zero-only", "vusion", "fixed-latency"] as const) {
      const m = createScanner(new Hypervisor({ frames: 16 }), { policy: "esx", workers: 1, mitigation });
      expect(engineOf(m)).toBeNull();
      await m.close();
    }
  }, 30_000);

  for (const policy of ["vmdedup", "esx"] as const)
  test(`${policy}: a batch whose first visits would hash few runs on the scanner's thread, unlisted after them; results the same`, async () => {
    const go = async (workers: number) => {
      const { hv, guests } = image(4000, 40);
      const s = createScanner(hv, { policy, workers, pagesToScan: 6000 });
      const eng = engineOf(s);
      if (eng) eng.minBatch = 512;
      await eng?.started();
      const out: string[] = [];
      for (let round = 1; round <= 3; round++) {
        await s.fullScans(2);
        out.push(snapshot(hv, s));
        // rewrites in the last guest only: a batch's first visits (the first guests) hash nothing, its last ones many
        const buf = new Uint8Array(4096);
        const g = guests[2]!;
        for (let gfn = round; gfn < g.pages; gfn += 3) g.write(gfn, 0, fillContent(gfn % 2 ? 1 + (gfn % 40) : 7_000_000 + 10 * gfn + round, buf));
      }
      await s.fullScans(2);
      out.push(snapshot(hv, s));
      hv.audit();
      s.audit();
      const c = { ...(eng?.counters ?? { batches: 0, serialChosen: 0, failed: 0, pagesHashed: 0 }) };
      await s.close();
      return { out, c };
    };
    const ref = await go(0);
    const r = await go(1);
    expect(r.out).toEqual(ref.out);
    if (policy === "vmdedup") expect(r.c.serialChosen).toBeGreaterThan(0); // the steady passes at least (esx re-hashes unmerged pages: its count stays high)
  }, 30_000);

  test("the chooser's rules, batch by batch (partition-chooser.ts)", () => {
    const c = new PartitionChooser();
    expect(c.partitioned()).toBe(true); // nothing known yet
    c.note(true, 20_000, 20_000, 10_000, true); // a merging batch, the worker did half
    expect(c.partitioned()).toBe(true);
    c.note(true, 20_000, 20_000 * MIN_HASHED_SHARE - 1, 0, true); // few pages hashed
    expect(c.partitioned()).toBe(false);
    c.note(false, 20_000, 0, 0, false); // a steady batch on the scanner's thread
    expect(c.partitioned()).toBe(false);
    c.note(false, 20_000, 20_000 * MIN_HASHED_SHARE, 0, false); // pages written again
    expect(c.partitioned()).toBe(true);
    // workers that do not help (a busy machine): after a few batches, the scanner's thread, with a probe every PROBE_EVERY
    for (let i = 0; i < 4; i++) c.note(true, 20_000, 20_000, 0, true);
    const picks: boolean[] = [];
    for (let i = 0; i < 2 * PROBE_EVERY; i++) {
      const p = c.partitioned();
      picks.push(p);
      c.note(p, 20_000, 20_000, 0, p);
    }
    expect(picks.filter((p) => p).length).toBe(2);
    expect(picks[PROBE_EVERY - 1]).toBe(true);
    // a probe that finds the workers helping again brings partitions back
    for (let i = 0; i < 3; i++) c.note(true, 20_000, 20_000, 10_000, true);
    expect(c.partitioned()).toBe(true);
    // shares are not counted before the workers are ready, nor on batches that hashed almost nothing
    const d = new PartitionChooser();
    for (let i = 0; i < 8; i++) d.note(true, 20_000, 20_000, 0, false);
    d.note(true, 20_000, 2_000, 0, true);
    for (let i = 0; i < 8; i++) d.note(true, 1_000, 63, 0, true);
    d.note(true, 20_000, 20_000, 10_000, true);
    expect(d.partitioned()).toBe(true);
    // the workers did half, but the scanner's thread waited for them most of the time: no help
    for (let i = 0; i < 3; i++) d.note(true, 20_000, 20_000, 10_000, true, MAX_WAITED_SHARE + 0.1);
    expect(d.partitioned()).toBe(false);
    for (let i = 0; i < 3; i++) d.note(true, 20_000, 20_000, 10_000, true, MAX_WAITED_SHARE - 0.1);
    expect(d.partitioned()).toBe(true);
  });

  test("partition workers are started once per thread and reused by later scanners; close drops nothing they need", async () => {
    const go = async (workers: number) => {
      const { hv, guests } = image(900, 30);
      const s = createScanner(hv, { policy: "esx", workers, pagesToScan: 1000 });
      const eng = engineOf(s);
      if (eng) {
        eng.adaptive = false;
        eng.minBatch = 512;
      }
      await eng?.started();
      await s.fullScans(2);
      churn(guests, 2, 30);
      await s.fullScans(2);
      hv.audit();
      s.audit();
      const out = snapshot(hv, s);
      await s.close();
      return out;
    };
    const ref = await go(0);
    expect(await go(2)).toBe(ref);
    const n = crewSize();
    expect(n).toBeGreaterThanOrEqual(2);
    expect(await go(2)).toBe(ref); // a new scanner, the same workers
    expect(await go(1)).toBe(ref);
    expect(crewSize()).toBe(n);
  }, 30_000);
});

