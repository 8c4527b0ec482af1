import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { allocateCpu, DEFAULT_CALIBRATION_PATH } from "./cost-model.ts";
import { runSimulation } from "./driver.ts";
import { ResultSchemaError } from "./errors.ts";
import { validateRunResult } from "./result.ts";
import { ORACLE_COLUMNS, SERIES_COLUMNS } from "./series.ts";
import type { WorkloadSpec } from "./spec.ts";

const MiB = 2 ** 20;

/**
 * A web-server-like workload (sim's tests do not import workloads/): 4 guests of 128 MiB with
 * shared binaries and content, a kernel with in-guest repeats, unique session heaps with a hot
 * set, zeroed and untouched memory; steady phase 20 + 4000 writes/s per guest.
 */
const WEB: WorkloadSpec = {
  name: "web-like", description: "test: identical web servers", sources: ["test"],
  families: [{
    name: "web", guests: 4, memory: "128MiB", mode: "hvm", stagger: "1s", cpuPerOp: "150us",
    regions: [
      { name: "kernel-text", fraction: 0.06, fill: "shared" },
      { name: "kernel-tables", fraction: 0.12, fill: "shared", copies: 3.96 },
      { name: "per-boot-data", fraction: 0.12, fill: "private" },
      { name: "server-binaries", fraction: 0.06, fill: "shared" },
      { name: "static-content", fraction: 0.16, fill: "shared", populated: 0.3 },
      { name: "session-heap", fraction: 0.15, fill: "private" },
      { name: "zeroed-free", fraction: 0.17, fill: "zero" },
      { name: "never-touched", fraction: 0.16, fill: "untouched" },
    ],
    phases: [
      { name: "boot", duration: "5s", activities: [] },
      {
        name: "warm-up", duration: "15s",
        activities: [
          { region: "static-content", writesPerSec: 400, produces: { original: 1 } },
          { region: "session-heap", writesPerSec: 2000, writeSize: 512, hotFraction: 0.2, hotProbability: 0.8, produces: { unique: 0.97, zero: 0.03 } },
        ],
      },
      {
        name: "steady",
        activities: [
          { region: "static-content", writesPerSec: 20, produces: { original: 1 } },
          { region: "session-heap", writesPerSec: 4000, writeSize: 512, hotFraction: 0.2, hotProbability: 0.8, produces: { unique: 0.97, zero: 0.03 } },
        ],
      },
    ],
  }],
};

describe("cpu allocation", () => {
  test("water filling by weight, capped by demand", () => {
    const out = new Float64Array(3);
    allocateCpu(2, Float64Array.of(0.1, 1, 1), Float64Array.of(1, 1, 1), out);
    expect([...out]).toEqual([0.1, 0.95, 0.95]);
    allocateCpu(1, Float64Array.of(1, 1, 1), Float64Array.of(2, 1, 1), out);
    expect([...out]).toEqual([0.5, 0.25, 0.25]);
    allocateCpu(4, Float64Array.of(1, 1, 0), Float64Array.of(1, 1, 1), out);
    expect([...out]).toEqual([1, 1, 0]);
  });
});

describe("driver", () => {
  const small = { workload: WEB, guests: 2, guestMem: 8 * MiB, durationSec: 30, audit: true } as const;

  test("determinism: two runs give identical JSON outside `measured`", async () => {
    const a = await runSimulation({ ...small, policy: "vmdedup", seed: 3 });
    const b = await runSimulation({ ...small, policy: "vmdedup", seed: 3 });
    const strip = (r: typeof a) => JSON.stringify({ ...r, measured: null });
    expect(strip(a)).toBe(strip(b));
    expect(a.summary.savingsPct).toBeGreaterThan(0);
    const c = await runSimulation({ ...small, policy: "vmdedup", seed: 4 });
    expect(strip(c)).not.toBe(strip(a));
    validateRunResult(a);
  });

  test("determinism: the worker count changes nothing outside `measured`, even for a CPU-bound scanner", async () => {
    // A calibration where every page visit costs 1 ms: the scanner wants several CPUs, the case
    // where a per-worker CPU allowance would leak into the simulated results.
    const cal = JSON.parse(readFileSync(DEFAULT_CALIBRATION_PATH, "utf8"));
    cal.constants.visitPage.ns = 1_000_000;
    const calibrationPath = join(mkdtempSync(join(tmpdir(), "vmdedup-cal-")), "slow-visits.json");
    writeFileSync(calibrationPath, JSON.stringify(cal));
    const opts = { ...small, durationSec: 6, policy: "vmdedup", seed: 5, calibrationPath } as const;
    const strip = (r: Awaited<ReturnType<typeof runSimulation>>) =>
      JSON.stringify({ ...r, measured: null, options: { ...r.options, workers: null } });
    const w0 = await runSimulation({ ...opts, workers: 0 });
    const w2 = await runSimulation({ ...opts, workers: 2 });
    expect(w2.options.workers).toBe(2);
    expect(strip(w2)).toBe(strip(w0));
    expect(w0.summary.scannerCpuShare).toBeGreaterThan(0.3); // CPU-bound: all its weight-share of 2 CPUs
  });

  test("policy none saves nothing and loses no throughput", async () => {
    const none = await runSimulation({ ...small, policy: "none" });
    expect(none.series.savingsPct.every((x) => x === 0)).toBe(true);
    expect(none.series.pagesSharing.every((x) => x === 0)).toBe(true);
    expect(none.summary.scannerCpuShare).toBe(0);
    // steady phase: 2 guests x (20 + 4000) writes/s at 128 MiB, scaled to 8 MiB = 1/16
    expect(none.summary.steadyGuestOpsPerSec).toBeCloseTo((2 * 4020) / 16, 0);
    // the loss against none is derived in src/experiments (withBaseline); sim leaves it null
    expect(none.summary.throughputLossPct).toBeNull();
    const v = await runSimulation({ ...small, policy: "vmdedup" });
    expect(v.summary.steadyGuestOpsPerSec).toBeLessThanOrEqual(none.summary.steadyGuestOpsPerSec);
    expect(v.summary.timeToMerge.merged).toBeGreaterThan(0);
  });

  test("a starved scanner (tiny CPU weight beside busy guests, as ksmd at nice 5 on the real host) merges far less", async () => {
    // 3 busy guests (each wants 2 CPUs) on 2 host CPUs; half of their memory is shared content
    const busy: WorkloadSpec = {
      name: "busy", description: "busy guests", sources: ["test"],
      families: [{
        name: "b", guests: 3, memory: "16MiB", cpuPerOp: "1ms",
        regions: [{ name: "sh", fraction: 0.5, fill: "shared" }, { name: "heap", fraction: 0.5, fill: "private" }],
        phases: [{ name: "steady", activities: [{ region: "heap", writesPerSec: 2000, writeSize: 64, produces: { unique: 1 } }] }],
      }],
    };
    const o = { workload: busy, durationSec: 10, pagesToScan: 2000, audit: true } as const;
    const fair = await runSimulation({ ...o, policy: "vmdedup", scannerNice: -5 });
    const starved = await runSimulation({ ...o, policy: "vmdedup", scannerWeight: 0.001 });
    expect(starved.summary.scannerCpuShare).toBeLessThan(fair.summary.scannerCpuShare / 3);
    expect(starved.summary.pagesScanned).toBeLessThan(fair.summary.pagesScanned / 3);
    expect(fair.series.savingsPct[4]!).toBeGreaterThan(starved.series.savingsPct[4]! + 10);
    // the guests lose throughput to a scanner that gets its CPU, not to a starved one
    const none = await runSimulation({ ...o, policy: "none" });
    expect(fair.summary.steadyGuestOpsPerSec).toBeLessThan(none.summary.steadyGuestOpsPerSec);
    expect(starved.summary.steadyGuestOpsPerSec).toBeGreaterThan(fair.summary.steadyGuestOpsPerSec);
  });

  test("the validator names the bad field", async () => {
    const r = await runSimulation({ ...small, durationSec: 5, policy: "none" });
    const broken = JSON.parse(JSON.stringify(r));
    broken.series.savingsPct.pop();
    expect(() => validateRunResult(broken)).toThrow(ResultSchemaError);
    expect(() => validateRunResult(broken)).toThrow("series.savingsPct");
    const b2 = JSON.parse(JSON.stringify(r));
    b2.options.policy = "magic";
    expect(() => validateRunResult(b2)).toThrow("options.policy");
    const b3 = JSON.parse(JSON.stringify(r));
    delete b3.summary.timeToMerge.p50Ms;
    expect(() => validateRunResult(b3)).toThrow("summary.timeToMerge.p50Ms");
    // the columns are the declared ones (series.ts): an extra or a missing one is named
    const b4 = JSON.parse(JSON.stringify(r));
    b4.series.savingsPctTypo = b4.series.savingsPct;
    expect(() => validateRunResult(b4)).toThrow("series.savingsPctTypo: unknown column");
    const b5 = JSON.parse(JSON.stringify(r));
    delete b5.oracle.efficiencyExclZero;
    expect(() => validateRunResult(b5)).toThrow("oracle.efficiencyExclZero: is missing");
    expect(Object.keys(r.series)).toEqual(SERIES_COLUMNS.map((c) => c.name));
    expect(Object.keys(r.oracle)).toEqual(ORACLE_COLUMNS.map((c) => c.name));
  });
});
