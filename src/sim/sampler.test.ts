import { describe, expect, test } from "bun:test";
import { createScanner } from "../dedup/index.ts";
import { Sampler } from "./sampler.ts";
import { ORACLE_COLUMNS, SERIES_COLUMNS } from "./series.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";
import { WorkloadRunner } from "./workload-runner.ts";

// 2 guests x 64 pages: 16 shared pages (the same in both), 32 private, 16 never touched
const spec: WorkloadSpec = {
  name: "t", description: "test", sources: ["none"],
  families: [{
    name: "f", guests: 2, memory: "256KiB",
    regions: [
      { name: "sh", fraction: 0.25, fill: "shared" },
      { name: "pr", fraction: 0.5, fill: "private" },
      { name: "u", fraction: 0.25, fill: "untouched" },
    ],
    phases: [{ name: "steady", activities: [] }],
  }],
};

describe("Sampler", () => {
  test("series rows, the oracle cadence, time-to-merge and the summary, exactly", async () => {
    const runner = new WorkloadRunner(resolveSpec(spec), 1);
    const hv = runner.hv;
    const scanner = createScanner(hv, { policy: "none" });
    const sampler = new Sampler(runner, scanner, { hostCpus: 2, intervalSec: 0.5, samplesPerOracle: 2 });
    expect(Object.keys(sampler.series)).toEqual(SERIES_COLUMNS.map((c) => c.name));
    expect(Object.keys(sampler.oracle)).toEqual(ORACLE_COLUMNS.map((c) => c.name));
    runner.startDue(0);
    const [g0, g1] = hv.guests;
    for (let gfn = 0; gfn < 16; gfn++) hv.share(g0!, gfn, g1!, gfn); // what a scanner would merge
    sampler.collectMerged(0.5); // the 16 further copies, written at 0, found merged at 0.5 s
    sampler.recordTick(0.25, 30);
    sampler.recordTick(0.25, 20);
    sampler.sample(0.5, 1000, false);
    const s = sampler.series;
    expect(s.tSec).toEqual([0.5]);
    expect([s.guestPages[0], s.populatedPages[0], s.framesUsed[0], s.savingsPct[0], s.savingsExclZeroPct[0]]).toEqual([128, 96, 80, 12.5, 12.5]);
    expect([s.pagesShared[0], s.pagesSharing[0], s.fullScans[0], s.pagesScanned[0]]).toEqual([0, 0, 0, 1000]); // policy none's own counters
    expect([s.cowBreaks[0], s.cowBreaksPerSec[0], s.scannerCpuShare[0], s.guestOpsPerSec[0]]).toEqual([0, 0, 0.5, 100]);
    expect(sampler.oracle.tSec).toEqual([]); // every 2nd sample
    // one merged page is written: a CoW break, one page less saved
    g1!.write(0, 0, Uint8Array.of(1, 2, 3));
    sampler.recordTick(0.1, 10);
    sampler.sample(1, 2000, false);
    expect(s.tSec).toEqual([0.5, 1]);
    expect([s.framesUsed[1], s.savingsPct[1], s.cowBreaks[1], s.cowBreaksPerSec[1], s.scannerCpuShare[1], s.guestOpsPerSec[1]]).toEqual([81, 11.7188, 1, 2, 0.1, 20]);
    expect(sampler.oracle).toEqual({ tSec: [1], savablePct: [11.7188], savableExclZeroPct: [11.7188], efficiency: [1], efficiencyExclZero: [1] });
    // the last sample always takes the oracle
    sampler.sample(1.2, 2000, true);
    expect(sampler.oracle.tSec).toEqual([1, 1.2]);
    expect(s.guestOpsPerSec[2]).toBe(0);
    const sum = sampler.summary(0.6, 2000, 7, 2 * 1.2);
    expect(sum).toMatchObject({
      savingsPct: 11.7188, steadySavingsPct: 11.7188, oracleSavablePct: 11.7188, efficiency: 1, efficiencyExclZero: 1, cowBreaks: 1,
      steadyCowBreaksPerSec: 1, pagesScanned: 2000, fullScans: 7, scannerCpuShare: 0.25, steadyGuestOpsPerSec: 10,
      baselineGuestOpsPerSec: null, throughputLossPct: null,
    });
    expect(sum.timeToMerge).toMatchObject({ merged: 16, pendingAtEnd: 0, p50Ms: 500, p90Ms: 500, p99Ms: 500 });
    expect(sum.timeToMerge.counts[5]).toBe(16); // [500, 1000) ms
    await scanner.close();
    hv.audit();
  });
});
