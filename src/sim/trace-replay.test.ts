/**
 * Trace replay: the first snapshot written at each guest's start (equal digests -> equal bytes,
 * zero pages zero, unpopulated untouched), exactly the changed pages written between snapshots
 * and memory equal to snapshot j at t_j, determinism (seed, workers), the --guests/--guest-mem
 * rules, the default duration, the synthesised size classes, and hv.audit() after every run.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { POLICIES } from "../dedup/index.ts";
import { InvalidArgumentError, PAGE_SIZE, type Guest } from "../hypervisor/index.ts";
import { sizeClassOf } from "../trace/index.ts";
import { runSimulation, Simulation } from "./driver.ts";
import type { TraceReplayRunner } from "./replay-runner.ts";
import { digestOf, seriesGuests, tmpDir, writeTrace, classOf } from "./replay-fixtures.test-util.ts";
import { REPLAY_CPU_PER_WRITE, synthesizePage, traceWorkloadSpec } from "./trace-replay.ts";

const dir = tmpDir("vmdedup-replay-");
const PAGES = 256;
const series = seriesGuests(3, PAGES, 4, 5, 0.08, 7);
const seriesPath = writeTrace(join(dir, "series.vmtrace"), series, { workload: "test" });

/** The bytes page code `c` must hold (null: unpopulated). */
function expected(c: number): Uint8Array | null {
  if (c < 0) return null;
  if (c === 0) return new Uint8Array(PAGE_SIZE);
  const d = new Uint8Array(16);
  digestOf(c, d, 0);
  return synthesizePage(d, 0, classOf(c), new Uint8Array(PAGE_SIZE));
}

function expectMemory(g: Guest, codes: readonly number[]): void {
  let bad = 0;
  codes.forEach((c, i) => {
    const want = expected(c);
    if (want === null) {
      if (g.frameOf(i) !== -1) bad++;
    } else if (g.frameOf(i) < 0 || !Buffer.from(g.read(i)).equals(want)) bad++;
  });
  expect(bad).toBe(0);
}

const changedPages = (a: readonly number[], b: readonly number[]) => a.reduce((n, c, i) => n + (c !== b[i] ? 1 : 0), 0);

describe("trace replay", () => {
  test("the spec describes the trace: one HVM family per guest, its size and start, the replay CPU constant", () => {
    const spec = traceWorkloadSpec(seriesPath);
    expect(spec.name).toBe("trace-series");
    expect(spec.trace!.path).toBe(seriesPath);
    expect(spec.trace!.fileXxh3).toMatch(/^[0-9a-f]{16}$/);
    expect(spec.families.map((f) => [f.name, f.guests, f.memory, f.start, f.cpuPerOp])).toEqual(
      ["vm0", "vm1", "vm2"].map((n) => [n, 1, PAGES * PAGE_SIZE, 0, REPLAY_CPU_PER_WRITE]),
    );
  });

  test("first snapshot at boot, exactly the changed pages between snapshots, memory = snapshot j at t_j", async () => {
    const sim = new Simulation({ workload: traceWorkloadSpec(seriesPath), policy: "none", durationSec: 20, audit: true });
    const runner = sim.runner as TraceReplayRunner;
    let ops = 0;
    // boot (step 1 of tick 0): every populated page of snapshot 0 written, none of the later ones yet
    expect(runner.startDue(0)).toBe(3);
    runner.guests.forEach((g, gi) => expectMemory(g.guest!, series[gi]!.codes[0]!));
    expect(sim.hv.stats().populatedPages).toBe(series.reduce((n, g) => n + g.codes[0]!.filter((c) => c >= 0).length, 0));
    for (let k = 0; k < sim.ticks; k++) {
      await sim.tick(k);
      const t = (k + 1) * sim.dtSec;
      const j = Math.round(t / 5);
      if (Math.abs(t - j * 5) < 1e-9 && j <= 3) runner.guests.forEach((g, gi) => expectMemory(g.guest!, series[gi]!.codes[j]!));
    }
    for (const x of sim.sampler.series.guestOpsPerSec) ops += x * 1; // one-second samples
    const want = series.reduce((n, g) => n + [1, 2, 3].reduce((m, j) => m + changedPages(g.codes[j - 1]!, g.codes[j]!), 0), 0);
    expect(Math.round(ops)).toBe(want);
    expect(runner.backlog()).toBe(0);
    sim.hv.audit();
  });

  test("changed pages are written at seeded times spread over each interval", async () => {
    const sim = new Simulation({ workload: traceWorkloadSpec(seriesPath), policy: "none", durationSec: 20, sampleEverySec: 1 });
    await sim.run();
    const perSec = sim.sampler.series.guestOpsPerSec;
    const want = [1, 2, 3].map((j) => series.reduce((n, g) => n + changedPages(g.codes[j - 1]!, g.codes[j]!), 0));
    for (let j = 1; j <= 3; j++) {
      const seconds = perSec.slice((j - 1) * 5, j * 5);
      expect(seconds.reduce((a, b) => a + b, 0)).toBe(want[j - 1]!);
      expect(seconds.filter((x) => x > 0).length).toBeGreaterThanOrEqual(4); // spread, not at one instant
    }
    expect(perSec.slice(15).every((x) => x === 0)).toBe(true); // after the last snapshot memory stays as it was
    sim.hv.audit();
  });

  test("equal digests give equal bytes (and share one frame once merged); zero pages read zero", async () => {
    const spec = traceWorkloadSpec(seriesPath);
    const sim = new Simulation({ workload: spec, policy: "vmdedup", durationSec: 4, audit: true });
    await sim.run();
    const g0 = sim.runner.guests[0]!.guest!, g1 = sim.runner.guests[1]!.guest!;
    const c0 = series[0]!.codes[0]!, c1 = series[1]!.codes[0]!;
    const i = c0.findIndex((c) => c > 0 && c < 1000);
    const j = c1.findIndex((c) => c === c0[i]);
    expect(j).toBeGreaterThanOrEqual(0);
    expect(Buffer.from(g0.read(i)).equals(Buffer.from(g1.read(j)))).toBe(true);
    expect(g0.frameOf(i)).toBe(g1.frameOf(j));
    const z = c0.indexOf(0);
    expect(g0.read(z).every((b) => b === 0)).toBe(true);
    sim.hv.audit();
  });

  test("deterministic: same seed, any worker count -> the same document outside measured", async () => {
    const spec = traceWorkloadSpec(seriesPath);
    const strip = (r: object) => JSON.stringify({ ...r, measured: null, options: { ...(r as { options: object }).options, workers: 0 } });
    const a = await runSimulation({ workload: spec, policy: "ksm", durationSec: 25, audit: true });
    const b = await runSimulation({ workload: spec, policy: "ksm", durationSec: 25, audit: true });
    const c = await runSimulation({ workload: spec, policy: "ksm", durationSec: 25, workers: 2, audit: true });
    expect(strip(a)).toBe(strip(b));
    expect(strip(a)).toBe(strip(c));
    expect(a.summary.pagesScanned).toBeGreaterThan(0);
    const other = await runSimulation({ workload: spec, policy: "ksm", durationSec: 25, seed: 2 });
    expect(JSON.stringify(other.series.guestOpsPerSec)).not.toBe(JSON.stringify(a.series.guestOpsPerSec)); // the seed moves the write times
    expect(other.series.guestOpsPerSec.reduce((x, y) => x + y, 0)).toBe(a.series.guestOpsPerSec.reduce((x, y) => x + y, 0)); // not the writes
  });

  test("every policy replays the trace; hv.audit() passes at every sample and at the end", async () => {
    const spec = traceWorkloadSpec(seriesPath);
    for (const policy of POLICIES) {
      const r = await runSimulation({ workload: spec, policy, durationSec: 18, pagesToScan: 200, audit: true });
      expect(r.series.guestPages.at(-1)).toBe(3 * PAGES);
      expect(r.series.guestOpsPerSec.reduce((a, b) => a + b, 0)).toBe(series.reduce((n, g) => n + [1, 2, 3].reduce((m, j) => m + changedPages(g.codes[j - 1]!, g.codes[j]!), 0), 0));
      if (policy !== "none") expect(r.summary.savingsExclZeroPct).toBeGreaterThan(0);
    }
  });

  test("--guests takes the first N guests; above the trace's count, or with --guest-mem: InvalidArgumentError", async () => {
    const spec = traceWorkloadSpec(seriesPath);
    const two = new Simulation({ workload: spec, policy: "none", guests: 2, durationSec: 1 });
    expect(two.runner.guests.map((g) => g.family.name)).toEqual(["vm0", "vm1"]);
    expect(two.options.guests).toBe(2);
    expect(() => new Simulation({ workload: spec, policy: "none", guests: 4 })).toThrow(/--guests 4: trace .* has 3 guests/);
    expect(() => new Simulation({ workload: spec, policy: "none", guestMem: 1 << 20 })).toThrow(InvalidArgumentError);
    expect(() => new Simulation({ workload: spec, policy: "none", guestMem: 1 << 20 })).toThrow(/--guest-mem cannot be used with a trace/);
  });

  test("default duration: the trace's length plus 6 full passes at the scan rate", () => {
    const spec = traceWorkloadSpec(seriesPath);
    // 3 x 256 pages, 6 passes at 100 pages / 20 ms = 5000 pages/s: 0.9216 s; trace 15 s
    expect(new Simulation({ workload: spec, policy: "ksm", pagesToScan: 100 }).config.durationSec).toBe(16);
    expect(new Simulation({ workload: spec, policy: "ksm", pagesToScan: 10, guests: 1 }).config.durationSec).toBe(Math.ceil(15 + (6 * 256) / 500));
  });

  test("a trace file changed after its spec was made is refused", () => {
    const path = writeTrace(join(dir, "changing.vmtrace"), seriesGuests(1, 32, 1, 5, 0, 3));
    const spec = traceWorkloadSpec(path);
    writeTrace(path, seriesGuests(1, 32, 1, 5, 0, 4));
    expect(() => new Simulation({ workload: spec, policy: "none" })).toThrow(/changed since the workload was made/);
  });

  test("a trace that is no trace fails with the trace reader's typed error", () => {
    const bad = join(dir, "bad.vmtrace");
    writeFileSync(bad, "not a trace at all, but long enough");
    expect(() => traceWorkloadSpec(bad)).toThrow(/magic/);
  });

  test("synthesised pages: the recorded size class comes back under zstd-1, for every class", () => {
    const d = new Uint8Array(16 * 40);
    for (let k = 0; k < 40; k++) digestOf(k + 1, d, k * 16);
    const page = new Uint8Array(PAGE_SIZE);
    const got: number[][] = [];
    for (let c = 1; c <= 16; c++) got.push([c, ...[0, 13, 27, 39].map((k) => sizeClassOf(synthesizePage(d, k, c, page)))]);
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => [i + 1, i + 1, i + 1, i + 1, i + 1]));
    // equal digest -> equal bytes, different digest -> different bytes
    const a = Buffer.from(synthesizePage(d, 5, 9, new Uint8Array(PAGE_SIZE)));
    expect(a.equals(Buffer.from(synthesizePage(d, 5, 9, new Uint8Array(PAGE_SIZE))))).toBe(true);
    expect(a.equals(Buffer.from(synthesizePage(d, 6, 9, new Uint8Array(PAGE_SIZE))))).toBe(false);
  });
  test("under vusion and fixed-latency a replayed write that is a page's first access since a scanner visit pays an access fault", async () => {
    const spec = traceWorkloadSpec(seriesPath);
    const off = await runSimulation({ workload: spec, policy: "vmdedup", durationSec: 20 });
    expect(off.mitigationCost).toBeUndefined();
    for (const mitigation of ["vusion", "fixed-latency"] as const) {
      const sim = new Simulation({ workload: spec, policy: "vmdedup", durationSec: 20, mitigation });
      const r = await sim.run();
      // the writes after the first snapshot (~8% of pages per interval) land on pages the scanner has visited
      expect(r.mitigationCost!.accessFaults).toBeGreaterThan(0);
      expect(r.mitigationCost!.accessFaults).toBeLessThanOrEqual((sim.runner as TraceReplayRunner).trace.guests.reduce((a, g) => a + g.eventPage.length - g.eventStart[1]!, 0));
      sim.hv.audit();
    }
  });
});
