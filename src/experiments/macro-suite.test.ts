import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf } from "./catalog.ts";
import { withJobPool } from "./job-pool.ts";
import { macroList, runMacroSuite, sweepTarget, type MacroOutcome, type MacroPlan } from "./macro-suite.ts";

const catalog = catalogOf(CANNED_WORKLOADS);
const plan: MacroPlan = { workloads: ["kernel-build"], catalog, policies: ["vmdedup"], sweepWorkers: [0, 1], seed: 3, durationSec: 8, guests: 2, guestMemBytes: 8 * 2 ** 20 };

describe("runMacroSuite (kernel-build, 2 guests x 8 MiB, 8 s simulated: its guests boot for 5 s, then write)", async () => {
  const lines: string[] = [];
  const outcome = await runMacroSuite(plan, (line, done) => done && lines.push(line));

  test("runs the none baseline, the matrix, then the worker sweep of the sweep policy", () => {
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

describe("runMacroSuite side by side and in shards (idle, kernel-build x vmdedup, ksm; 2 guests x 8 MiB, 4 s)", async () => {
  const plan2: MacroPlan = { ...plan, workloads: ["idle", "kernel-build"], policies: ["vmdedup", "ksm"], sweepWorkers: [0, 1] };
  const one = await runMacroSuite(plan2, () => {});
  const deterministic = (o: Pick<MacroOutcome, "runs" | "skipped">) => JSON.stringify({ runs: o.runs.map((r) => ({ ...r, measured: null })), skipped: o.skipped });

  test("the fixed list: each workload's none first, then its policies, then the sweep; the sweep target comes from the plan", () => {
    expect(macroList(plan2).map((e) => `${e.position} ${e.id} ${e.group}`)).toEqual([
      "0 idle/none/w0 matrix", "1 idle/vmdedup/w0 matrix", "2 idle/ksm/w0 matrix",
      "3 kernel-build/none/w0 matrix", "4 kernel-build/vmdedup/w0 matrix", "5 kernel-build/ksm/w0 matrix", "6 kernel-build/vmdedup/w1 worker-sweep",
    ]);
    // equal guest pages: the steady phase's writes decide (kernel-build writes, idle barely does); vmdedup when asked for, else the first policy
    expect(sweepTarget(plan2)).toEqual({ policy: "vmdedup", workload: "kernel-build" });
    expect(sweepTarget({ ...plan2, policies: ["none", "esx", "ksm"] })).toEqual({ policy: "esx", workload: "kernel-build" });
    expect(sweepTarget({ ...plan2, policies: ["none"] })).toBeNull();
    expect(one.runs.map((r) => r.id)).toEqual(macroList(plan2).map((e) => e.id));
    expect(one.runPositions).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test("--jobs 2 gives the runs of --jobs 1 in the same order, byte for byte but for measured; the sweep ran alone", async () => {
    const two = await withJobPool(2, (pool) => runMacroSuite(plan2, () => {}, { pool }));
    expect(deterministic(two)).toBe(deterministic(one));
    expect(two.runs.filter((r) => r.group === "matrix").some((r) => r.measured.concurrentJobs === 2)).toBe(true);
    expect(two.runs.filter((r) => r.group === "worker-sweep").map((r) => r.measured.concurrentJobs)).toEqual([1]);
    expect(one.runs.every((r) => r.measured.concurrentJobs === 1)).toBe(true);
  }, 20_000);

  test("shards 1/2 and 2/2 hold every N-th run (the sweep in shard 1) and together the unsharded runs", async () => {
    const shards = await withJobPool(2, (pool) => Promise.all([1, 2].map((index) => runMacroSuite(plan2, () => {}, { pool, shard: { index, count: 2 } }))));
    expect(shards.map((s) => s.runPositions)).toEqual([[0, 2, 4, 6], [1, 3, 5]]);
    expect(shards.map((s) => s.listLength)).toEqual([7, 7]);
    const byPosition = shards.flatMap((s) => s.runs.map((r, i) => ({ p: s.runPositions[i]!, r }))).sort((a, b) => a.p - b.p).map((x) => x.r);
    expect(deterministic({ runs: byPosition, skipped: [] })).toBe(deterministic(one));
  }, 20_000);
});
