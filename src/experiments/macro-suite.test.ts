import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf } from "./catalog.ts";
import { runMacroSuite, type MacroPlan } from "./macro-suite.ts";

const catalog = catalogOf(CANNED_WORKLOADS);
const plan: MacroPlan = { workloads: ["kernel-build"], catalog, policies: ["vmdedup"], sweepWorkers: [0, 1], seed: 3, durationSec: 8, guests: 2, guestMemBytes: 8 * 2 ** 20 };

describe("runMacroSuite (kernel-build, 2 guests x 8 MiB, 8 s simulated: its guests boot for 5 s, then write)", async () => {
  const lines: string[] = [];
  const outcome = await runMacroSuite(plan, (line, done) => done && lines.push(line));

  test("runs the none baseline, the matrix, then the worker sweep of the fastest policy", () => {
    expect(outcome.runs.map((r) => [r.id, r.group])).toEqual([
      ["kernel-build/none/w0", "matrix"],
      ["kernel-build/vmdedup/w0", "matrix"],
      ["kernel-build/vmdedup/w1", "worker-sweep"],
    ]);
    expect(outcome.skipped).toEqual([]);
    expect(lines).toHaveLength(3);
    expect(outcome.calibration?.name).toBe("default");
  });

  test("compares every dedup run with its baseline", () => {
    const none = outcome.runs[0]!.summary;
    expect(none.savingsPct).toBe(0);
    for (const r of outcome.runs.slice(1)) {
      expect(r.summary.baselineGuestOpsPerSec).toBe(none.steadyGuestOpsPerSec);
      expect(none.steadyGuestOpsPerSec).toBeGreaterThan(0);
      expect(r.summary.throughputLossPct).toBe(Math.round((1 - r.summary.steadyGuestOpsPerSec / none.steadyGuestOpsPerSec) * 1e6) / 1e4);
      expect(r.summary.savingsPct).toBeGreaterThan(0);
    }
  });

  test("deterministic parts do not depend on the worker count or the run", async () => {
    const again = await runMacroSuite({ ...plan, policies: ["vmdedup"], sweepWorkers: [] }, () => {});
    const strip = (r: (typeof outcome.runs)[number]) => JSON.stringify({ summary: r.summary, series: r.series, oracle: r.oracle });
    expect(again.runs.map(strip)).toEqual(outcome.runs.slice(0, 2).map(strip));
    expect(strip({ ...outcome.runs[2]!, workers: 0 })).toBe(strip(outcome.runs[1]!));
  });

  test("an unavailable run is skipped with its reason; any other error fails the suite", async () => {
    const none = await runMacroSuite({ ...plan, workloads: ["no-such-workload"], sweepWorkers: [] }, () => {});
    expect(none.runs).toEqual([]);
    expect(none.skipped.map((s) => s.id)).toEqual(["no-such-workload/none/w0", "no-such-workload/vmdedup/w0"]);
    expect(none.skipped[0]!.reason).toContain('unknown workload "no-such-workload"');
    await expect(runMacroSuite({ ...plan, guests: 0, sweepWorkers: [] }, () => {})).rejects.toThrow();
  });
});
