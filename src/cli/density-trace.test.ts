/**
 * Density on a trace replay: the search stops at the trace's own guest count, runs no uncommitted
 * twin (a replay's loss is its own trace's stretch, replayLossPct), is deterministic, and on a
 * grid of host sizes more memory never fits fewer guests; the CLI's --json says the same.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { seriesGuests, tmpDir, writeTrace } from "../sim/replay-fixtures.test-util.ts";
import { traceWorkloadSpec } from "../sim/trace-replay.ts";
import { RunCache, runDensity, type DensityPlan } from "../experiments/index.ts";
import { main } from "./main.ts";
import { quiet } from "./quiet.test-util.ts";

const PAGES = 512;
const path = writeTrace(join(tmpDir("vmdedup-density-trace-"), "d.vmtrace"), seriesGuests(3, PAGES, 5, 4, 0.1, 5), { workload: "test" });
const spec = traceWorkloadSpec(path);
const guestBytes = 3 * PAGES * PAGE_SIZE;
const hostOf = (share: number) => Math.round((share * guestBytes) / PAGE_SIZE) * PAGE_SIZE;
const plan = (hostMem: number): DensityPlan => ({
  workload: spec, hostMem, maxLossPct: 5, policies: ["none", "vmdedup"], maxGuestsCap: 64,
  base: { swapDevice: "hdd", durationSec: 40, sampleEverySec: 2, oracleEverySec: 40 },
});

describe("density on a trace", () => {
  test("stops at the trace's guest count, one run per point, deterministic, monotone in host size", async () => {
    const cache = new RunCache();
    const grid = [0.2, 0.35, 1].map(hostOf);
    const results = [];
    for (const h of grid) results.push(await runDensity(plan(h), cache));
    for (const r of results)
      for (const d of Object.values(r.policies)) {
        expect(d.points.length).toBeLessThanOrEqual(3);
        expect(d.maxGuests).toBeLessThanOrEqual(3);
        if (d.capped) expect(d.points.length).toBe(3);
      }
    // no uncommitted twins: one simulation per point
    expect(cache.count).toBe(results.reduce((a, r) => a + Object.values(r.policies).reduce((b, d) => b + d.points.length, 0), 0));
    for (const p of ["none", "vmdedup"]) {
      const counts = results.map((r) => r.policies[p]!.maxGuests);
      for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    }
    // the smallest host costs the guests time (HDD swap-ins delay the trace); the largest fits all three
    expect(results[0]!.policies.none!.points.some((x) => x.overcommitLossPct > 0)).toBe(true);
    expect(results[2]!.policies.none!.maxGuests).toBe(3);
    const again = await runDensity(plan(grid[0]!));
    expect(again.policies).toEqual(results[0]!.policies);
    // none is the floor: sharing frees frames, so de-duplication fits at least as many
    for (const r of results) expect(r.policies.vmdedup!.maxGuests).toBeGreaterThanOrEqual(r.policies.none!.maxGuests);
    expect(results[0]!.policies.vmdedup!.maxGuests).toBeGreaterThan(results[0]!.policies.none!.maxGuests);
  }, 60000);

  test("vmdedup density --workload trace:PATH --json gives the same table", async () => {
    const h = hostOf(0.3);
    const r = await quiet(() => main(["density", "--workload", `trace:${path}`, "--host-mem", `${h}`, "--max-loss", "5%", "--policies", "none,vmdedup", "--swap-device", "hdd",
      "--duration", "40s", "--sample-every", "2s", "--oracle-every", "40s", "--jobs", "1", "--json"]));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    const direct = await runDensity(plan(h));
    for (const p of ["none", "vmdedup"]) expect(doc.policies[p].maxGuests).toBe(direct.policies[p]!.maxGuests);
    expect(doc.points.none).toEqual(direct.policies.none!.points);
  }, 60000);
});
