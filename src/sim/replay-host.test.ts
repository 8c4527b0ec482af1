/**
 * A trace replay on an overcommitted host: every page written reads back exactly (--verify) with
 * swapping, compression and ballooning at work, the audit holds after every tick, no replayed
 * write is lost (the host run performs every write the uncommitted one does), stalls delay the
 * trace (replayLagSec, replayLossPct exactly as lagSummary defines them), free memory is the
 * guests' populated zero pages, compressed sizes come from the trace's size classes, a discarded
 * taken page is dropped without a swap-in, and the same replay without a host is unchanged.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { join } from "node:path";
import { HostStore, PAGE_SIZE } from "../hypervisor/index.ts";
import { sizeClassOf } from "../trace/index.ts";
import { ZERO_CONTENT } from "./content.ts";
import { runSimulation, Simulation } from "./driver.ts";
import type { TraceReplayRunner } from "./replay-runner.ts";
import { seriesGuests, tmpDir, writeTrace } from "./replay-fixtures.test-util.ts";
import { traceWorkloadSpec } from "./trace-replay.ts";

const dir = tmpDir("vmdedup-replay-host-");
const PAGES = 512;
// 3 guests x 512 pages, 5 snapshots 4 s apart, 10% of pages changing per interval
const path = writeTrace(join(dir, "host.vmtrace"), seriesGuests(3, PAGES, 5, 4, 0.1, 11), { workload: "test" });
const spec = traceWorkloadSpec(path);
const guestBytes = 3 * PAGES * PAGE_SIZE;
const base = { workload: spec, durationSec: 24, sampleEverySec: 1, oracleEverySec: 24 } as const;

describe("trace replay on an overcommitted host", () => {
  test("at 40% of guest memory: swapping, compression and balloons, every page verified, every write performed", async () => {
    const hostMem = Math.round((0.4 * guestBytes) / PAGE_SIZE) * PAGE_SIZE;
    const unc = await runSimulation({ ...base, policy: "vmdedup" });
    const sim = new Simulation({ ...base, policy: "vmdedup", hostMem, verify: true, auditEveryTick: true });
    const r = await sim.run();
    const s = r.summary;
    expect(s.stoppedEarly).toBeNull();
    expect(s.swapOuts!).toBeGreaterThan(0);
    expect(s.swapIns!).toBeGreaterThan(0);
    expect(s.compressedPages!).toBeGreaterThan(0);
    expect(s.balloonedPages!).toBeGreaterThan(0);
    const runner = sim.runner as TraceReplayRunner;
    expect(runner.backlog()).toBe(0);
    expect(runner.reads).toBeGreaterThan(0);
    // the trace's writes are never dropped: the same number performed as on the uncommitted host
    const ops = (x: typeof r) => x.series.guestOpsPerSec.reduce((a, v) => a + v, 0);
    expect(ops(r)).toBe(ops(unc));
    expect(r.series.hostState!.some((st) => st >= 3)).toBe(true);
    sim.hv.audit();
  });

  test("stalls delay the trace: every stall second charged is lag or still owed; replayLagSec / replayLossPct as lagSummary says; HDD worse than NVMe", async () => {
    const hostMem = Math.round((0.35 * guestBytes) / PAGE_SIZE) * PAGE_SIZE;
    const runs = await Promise.all(
      (["nvme", "hdd"] as const).map(async (swapDevice) => {
        const sim = new Simulation({ ...base, policy: "none", hostMem, swapDevice, durationSec: 60, verify: true });
        const r = await sim.run();
        sim.hv.audit();
        return { r, sim, runner: sim.runner as TraceReplayRunner };
      }),
    );
    for (const { r, sim, runner } of runs) {
      expect(runner.backlog()).toBe(0);
      const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, x) => a + x, 0);
      // conservation: stall added over the run (series, per second x 1 s samples, each rounded to 1e-6) = lag taken + still owed
      expect(sum(runner.lagSec) + sum(sim.reclaimer!.blockedSec)).toBeCloseTo(sum(r.series.stallSecPerSec!), 4);
      const L = runner.trace.guests.map((_, i) => runner.finishLagSec[i]!);
      expect(L.every((x) => x >= 0)).toBe(true); // every guest finished its trace inside the run
      L.forEach((x, i) => expect(x).toBeLessThanOrEqual(runner.lagSec[i]!)); // its lag only grows afterwards (reads still stall)
      const T = runner.trace.guests.map((g) => g.timesSec[g.timesSec.length - 1]! - g.timesSec[0]!);
      expect(r.summary.replayLagSec!).toBeCloseTo(sum(L) / 3, 5);
      expect(r.summary.replayLossPct!).toBeCloseTo((100 * sum(L.map((x, i) => x / (T[i]! + x)))) / 3, 3);
    }
    const [nvme, hdd] = runs.map((x) => x.r.summary);
    expect(nvme!.replayLagSec!).toBeGreaterThan(0);
    expect(hdd!.replayLagSec!).toBeGreaterThan(10 * nvme!.replayLagSec!);
    expect(hdd!.replayLossPct!).toBeGreaterThan(nvme!.replayLossPct!);
  });

  test("the same replay without a host has no host fields and is unchanged by the host code", async () => {
    const a = await runSimulation({ ...base, policy: "ksm" });
    expect("replayLagSec" in a.summary).toBe(false);
    expect("hostState" in a.series).toBe(false);
    const b = await runSimulation({ ...base, policy: "ksm", verify: true });
    const strip = (x: typeof a) => JSON.stringify({ ...x, measured: null });
    expect(strip(b)).toBe(strip(a));
  });

  test("free memory is the populated zero pages in gfn order; compressed sizes are the trace size classes' midpoints", async () => {
    const sim = new Simulation({ ...base, policy: "none", hostMem: guestBytes, durationSec: 1 });
    await sim.tick(0);
    const runner = sim.runner as TraceReplayRunner;
    const g = runner.guests[0]!;
    const guest = g.guest!;
    const sf = sim.hv.pageTable.slotFrame;
    const page = new Uint8Array(PAGE_SIZE);
    let checked = 0;
    const zeros: number[] = [];
    for (let gfn = 0; gfn < PAGES; gfn++) if (runner.contentOf[guest.slotBase + gfn] === ZERO_CONTENT && sf[guest.slotBase + gfn]! >= 0) zeros.push(gfn);
    expect(zeros.length).toBeGreaterThan(50);
    const walk: number[] = [];
    for (let c = runner.nextFreePage(g, 0); c >= 0; c = runner.nextFreePage(g, c + 1)) walk.push(c);
    expect(walk).toEqual(zeros);
    for (let gfn = 0; gfn < PAGES; gfn++) {
      const slot = guest.slotBase + gfn;
      const id = runner.contentOf[slot]!;
      expect(runner.isFreePage(g, gfn)).toBe(id === ZERO_CONTENT);
      if (sf[slot]! < 0) continue;
      // the page's bytes were synthesised at its trace size class c (trace-replay.ts): the cache takes (c - 1/2) / 16 of a page
      const c = sizeClassOf(runner.pageBytes(slot, page));
      expect(runner.compressedBytes(g, slot)).toBe((c - 0.5) * 256);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
    sim.hv.audit();
  });

  test("a discarded swapped or compressed page is dropped from its store without a swap-in or stall", async () => {
    const hostMem = Math.round((0.4 * guestBytes) / PAGE_SIZE) * PAGE_SIZE;
    const sim = new Simulation({ ...base, policy: "none", hostMem, durationSec: 10 });
    for (let k = 0; k < 400; k++) await sim.tick(k);
    const hv = sim.hv;
    const r = sim.reclaimer!;
    const runner = sim.runner as TraceReplayRunner;
    for (const store of [HostStore.SWAP, HostStore.CACHE]) {
      let slot = -1;
      for (let s = 0; s < hv.pageTable.slotCount && slot < 0; s++) {
        const h = hv.pageTable.slotHost[s]!;
        if (h >= 0 && hv.host.store[h] === store && hv.host.refs[h] === 1) slot = s;
      }
      expect(slot).toBeGreaterThanOrEqual(0);
      const g = runner.guests[hv.pageTable.slotGuest[slot]!]!;
      const before = { ins: hv.host.swapIns, dec: hv.host.decompressions, stall: r.blockedSec[g.index]!, swapped: hv.host.swappedPages, compressed: hv.host.compressedPages };
      r.discard(g, slot);
      expect(hv.pageTable.slotHost[slot]).toBe(-1);
      expect(hv.pageTable.slotFrame[slot]).toBe(-1);
      expect([hv.host.swapIns, hv.host.decompressions, r.blockedSec[g.index]]).toEqual([before.ins, before.dec, before.stall]);
      expect(hv.host.swappedPages + hv.host.compressedPages).toBe(before.swapped + before.compressed - 1);
      hv.audit();
    }
  });

  test("property: random hosts of 30-80% of guest memory and seeds, audit after every tick, every page verified", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 30, max: 80 }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom("vmdedup", "ksm", "esx", "none" as const), fc.constantFrom("random", "access" as const),
        async (pct, seed, policy, swapVictims) => {
          const hostMem = Math.round(((pct / 100) * guestBytes) / PAGE_SIZE) * PAGE_SIZE;
          const sim = new Simulation({ ...base, policy, seed, hostMem, swapVictims, durationSec: 20, auditEveryTick: true, verify: true });
          const r = await sim.run();
          expect(r.summary.stoppedEarly).toBeNull();
          expect((sim.runner as TraceReplayRunner).backlog()).toBe(0);
        }),
      { numRuns: 4, seed: 7 },
    );
  }, 60000);
});
