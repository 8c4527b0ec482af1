/** The density section (validator, charts) and the host time-series charts of a results document. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { HOST_SERIES_COLUMNS } from "../sim/series.ts";
import { chartsFromResults } from "./charts-from-results.ts";
import { renderPng } from "./render.ts";
import { toChartConfiguration } from "./chart-config.ts";
import type { ResultsDocument } from "./results-schema.ts";
import { ResultsSchemaError, validateResults } from "./results-validate.ts";

const FIXTURE = new URL("./fixtures/results-small.json", import.meta.url).pathname;
const base = () => JSON.parse(readFileSync(FIXTURE, "utf8")) as ResultsDocument;
const MiB = 2 ** 20;

const density = {
  guestMemBytes: 8 * MiB, hostMemBytes: 16 * MiB, maxGuests: 4, durationSec: 40, maxLossPct: 5, seed: 1,
  workloads: [
    { workload: "web-server", policies: {
      vmdedup: { maxGuests: 4, capped: true, overcommitLossPct: 1.5, steadySavingsPct: 20, lossPctByGuests: [0, 0, 0.5, 1.5] },
      none: { maxGuests: 2, capped: false, overcommitLossPct: 0.4, steadySavingsPct: 0, lossPctByGuests: [0, 0.4, 6] },
    } },
    { workload: "kernel-build", policies: {
      vmdedup: { maxGuests: 3, capped: false, overcommitLossPct: 3, steadySavingsPct: 12, lossPctByGuests: [0, 1, 3, 100] },
      none: { maxGuests: 0, capped: false, overcommitLossPct: null, steadySavingsPct: null, lossPctByGuests: [7] },
    } },
  ],
};

describe("density section", () => {
  test("the validator accepts it and names a bad field", () => {
    expect(validateResults({ ...base(), density }).density!.workloads.length).toBe(2);
    const bad = structuredClone(density);
    bad.workloads[0]!.policies.none.maxGuests = 5;
    expect(() => validateResults({ ...base(), density: bad })).toThrow(/results\.density\.workloads\[0\]\.policies\.none\.maxGuests: must be at most the counts tried \(3\)/);
    const unknown = structuredClone(density) as unknown as { workloads: { policies: Record<string, unknown> }[] };
    unknown.workloads[1]!.policies.xen = unknown.workloads[1]!.policies.none;
    expect(() => validateResults({ ...base(), density: unknown })).toThrow(ResultsSchemaError);
  });

  test("one bar chart: policies with none first, one series per workload, the maxGuests as bars", () => {
    const c = chartsFromResults(validateResults({ ...base(), density })).find((x) => x.name === "density")!;
    expect(c.spec.categories).toEqual(["none", "vmdedup"]);
    expect(c.spec.series.map((s) => s.label)).toEqual(["web-server", "kernel-build"]);
    expect(c.spec.series.map((s) => s.points.map((p) => p.y))).toEqual([[2, 4], [0, 3]]);
    expect(c.caption).toContain("8 MiB guests, 16 MiB host");
  });
});

describe("host time series of a matrix run with host columns", () => {
  test("two charts per such workload, in MiB and state / ratios, and they render", async () => {
    const doc = base();
    const run = doc.macro.runs.find((r) => r.id === "kernel-build/vmdedup/w0")!;
    const n = run.series.tSec.length;
    const s = run.series as unknown as Record<string, number[]>;
    for (const c of HOST_SERIES_COLUMNS) s[c.name] = Array.from({ length: n }, (_, i) => (c.name === "hostState" ? i % 5 : i * 256));
    const charts = chartsFromResults(validateResults(doc));
    const names = charts.map((c) => c.name).filter((x) => x.startsWith("host-"));
    expect(names).toEqual(["host-memory-kernel-build", "host-pressure-kernel-build"]);
    const mem = charts.find((c) => c.name === "host-memory-kernel-build")!.spec;
    expect(mem.series.find((x) => x.label === "swapped")!.points[2]!.y).toBe(2); // 512 pages = 2 MiB
    const png = await renderPng(mem);
    expect(png.length).toBeGreaterThan(1000);
    // the state sample at t is the worst state of the interval ending at t: drawn over that interval (step "before")
    const pressure = charts.find((c) => c.name === "host-pressure-kernel-build")!.spec;
    const state = pressure.series.find((x) => x.label.startsWith("host state"))!;
    expect(state.step).toBe("before");
    const ds = toChartConfiguration(pressure, 1).data.datasets.find((d) => String(d.label).startsWith("host state"))! as { stepped?: unknown };
    expect(ds.stepped).toBe("before");
  });
});
