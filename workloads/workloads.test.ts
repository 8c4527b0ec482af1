/**
 * The canned workloads against their cited ranges (see each spec file's sources).
 * Sizes are small (write rates scale with guest memory, so small guests behave per page like
 * the defaults) to keep the suite fast; the idle calibration runs at the real 3 x 256 MiB.
 */
import { describe, expect, test } from "bun:test";
import { maxSharing } from "../src/dedup/index.ts";
import { runSimulation } from "../src/sim/driver.ts";
import { resolveSpec } from "../src/sim/spec.ts";
import { WorkloadRunner } from "../src/sim/workload-runner.ts";
import { CANNED_WORKLOADS } from "./index.ts";

const getWorkload = (name: string) => CANNED_WORKLOADS.find((w) => w.name === name)!;

const MiB = 2 ** 20;

test("every canned workload validates, has a unique name, a description and sources", () => {
  const names = new Set<string>();
  for (const w of CANNED_WORKLOADS) {
    resolveSpec(w);
    expect(names.has(w.name)).toBe(false);
    names.add(w.name);
    expect(w.sources.length).toBeGreaterThan(0);
  }
  expect([...names]).toEqual(["idle", "kernel-build", "web-server", "database", "mixed", "cow-storm"]);
});

describe("idle reproduces real Debian guests (real-guests.md, 3 x 256 MiB)", () => {
  const pct = (x: number, total: number) => (100 * x) / total;
  test("zero pages, intra-guest and cross-guest savings with the oracle", () => {
    const w = resolveSpec(getWorkload("idle"));
    expect(w.totalPages).toBe(3 * 65536);
    const r = new WorkloadRunner(w, 1);
    r.startDue(0);
    const o = maxSharing(r.hv);
    const zero = w.totalPages - o.populatedPages + o.zeroPages; // unwritten pages read as zeros in a dump
    expect(pct(zero, w.totalPages)).toBeGreaterThanOrEqual(65);
    expect(pct(zero, w.totalPages)).toBeLessThanOrEqual(69);
    expect(pct(o.savablePagesExclZero, w.totalPages)).toBeGreaterThanOrEqual(14.9);
    expect(pct(o.savablePagesExclZero, w.totalPages)).toBeLessThanOrEqual(16.0);
    r.hv.audit();
    // one guest alone: merging inside it saves 5.9-9.2% of its pages
    const one = new WorkloadRunner(resolveSpec(getWorkload("idle"), { guests: 1 }), 1);
    one.startDue(0);
    const o1 = maxSharing(one.hv);
    expect(pct(o1.savablePagesExclZero, 65536)).toBeGreaterThanOrEqual(5.9);
    expect(pct(o1.savablePagesExclZero, 65536)).toBeLessThanOrEqual(9.2);
    one.hv.audit();
  });
});

describe("application workloads land in their cited ranges (4 identical guests, vmdedup, steady state)", () => {
  const run = (workload: string, guests: number, extra: object = {}) =>
    runSimulation({ workload: getWorkload(workload), policy: "vmdedup", guests, guestMem: 16 * MiB, durationSec: 60, audit: true, ...extra });
  const results: Record<string, Awaited<ReturnType<typeof run>>> = {};

  test("web-server: 30-75%", async () => {
    const r = (results.web = await run("web-server", 4));
    expect(r.summary.steadySavingsPct).toBeGreaterThanOrEqual(30);
    expect(r.summary.steadySavingsPct).toBeLessThanOrEqual(75);
  });
  test("database: 30-75%, below web-server (traces: 29.5% vs 32.6% savable at 3 guests)", async () => {
    const r = (results.db = await run("database", 4));
    expect(r.summary.steadySavingsPct).toBeGreaterThanOrEqual(30);
    expect(r.summary.steadySavingsPct).toBeLessThanOrEqual(75);
    results.web ??= await run("web-server", 4);
    expect(r.summary.steadySavingsPct).toBeLessThan(results.web.summary.steadySavingsPct);
  });
  // The ordering comes from the shipped traces (SOURCES.md [traces]): at their last snapshot the
  // build guests share 16.5% of pages across guests, the web guests 11.8% (savable incl. zero,
  // guest view, 33.9% vs 32.6%); before the traces it was assumed the other way round.
  test("kernel-build: >= 30%, above web-server (traces), and it keeps breaking CoW in steady state", async () => {
    const r = await run("kernel-build", 4);
    expect(r.summary.steadySavingsPct).toBeGreaterThanOrEqual(30);
    results.web ??= await run("web-server", 4);
    expect(r.summary.steadySavingsPct).toBeGreaterThan(results.web.summary.steadySavingsPct);
    const steady = r.series.tSec.map((t, i) => [t, r.series.cowBreaksPerSec[i]!] as const).filter(([t]) => t > r.options.steadyFromSec);
    expect(steady.length).toBeGreaterThan(5);
    for (const [, cow] of steady) expect(cow).toBeGreaterThan(10);
  });
  test("mixed: non-zero sharing under 15%, under 5% with one guest per family", async () => {
    const r = await run("mixed", 8);
    expect(r.summary.steadySavingsExclZeroPct).toBeGreaterThan(0); // non-zero sharing: the pairs of a family share
    expect(r.summary.steadySavingsExclZeroPct).toBeLessThan(15);
    expect(r.summary.oracleSavableExclZeroPct).toBeLessThan(15);
    const one = await run("mixed", 4);
    expect(one.options.guests).toBe(4);
    expect(one.summary.oracleSavableExclZeroPct).toBeLessThan(5);
    expect(one.summary.steadySavingsExclZeroPct).toBeLessThan(5);
  });
});
