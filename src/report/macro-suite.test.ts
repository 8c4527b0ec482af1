import { describe, expect, test } from "bun:test";
import { runMacroSuite, type MacroPlan } from "./macro-suite.ts";
import { RESULTS_SCHEMA } from "./results-schema.ts";
import { validateResults } from "./results-validate.ts";

const plan: MacroPlan = { workloads: ["kernel-build"], policies: ["vmdedup"], sweepWorkers: [0, 1], seed: 3, durationSec: 4, guests: 2, guestMemBytes: 8 * 2 ** 20 };

describe("runMacroSuite (kernel-build, 2 guests x 8 MiB, 4 s simulated)", async () => {
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

  test("the runs make a valid results document", () => {
    const doc = {
      schema: RESULTS_SCHEMA,
      commit: "test",
      dirty: false,
      date: "2026-01-01T00:00:00Z",
      wallSec: 1,
      machine: { cpu: "x", cores: 2, memoryBytes: 1, bun: Bun.version, platform: "linux", arch: "x64" },
      options: { quick: true, full: false, filter: null, workloads: plan.workloads, policies: plan.policies, workers: plan.sweepWorkers, seed: 3, durationSec: 4, guests: 2, guestMemBytes: plan.guestMemBytes! },
      calibration: outcome.calibration,
      micro: { benchmarks: [], ratios: [], skipped: [], machineRatio: null },
      macro: { runs: outcome.runs, skipped: outcome.skipped },
    };
    expect(validateResults(JSON.parse(JSON.stringify(doc)))).toBeTruthy();
  });
});
