import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLICIES } from "../dedup/index.ts";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import type { Policy } from "../dedup/index.ts";
import { catalogOf } from "../experiments/index.ts";
import { readdirSync } from "node:fs";
import { runSimulation } from "../sim/index.ts";
import { collectExact, compareExact, extractRun, diffTable, readBaseline, runExactTier, TRACE_EXACT_CONFIG, writeBaseline, type ExactBaseline } from "./tier1-exact.ts";

const COMMITTED = join(import.meta.dir, "../../results/baseline.json");
const catalog = catalogOf(CANNED_WORKLOADS);
const SUBSET = { catalog, workloads: ["idle", "kernel-build"], policies: ["vmdedup", "ksm"] as Policy[] };
const clone = (b: ExactBaseline): ExactBaseline => structuredClone(b);

describe("gate tier 1 (exact)", () => {
  let fresh: ExactBaseline;

  test("the same seed gives identical results: a fresh run equals another fresh run and the committed baseline", async () => {
    fresh = await collectExact(SUBSET);
    expect(fresh.runs.map((r) => `${r.workload}/${r.policy}`)).toEqual(["idle/vmdedup", "idle/ksm", "kernel-build/vmdedup", "kernel-build/ksm"]);
    expect(compareExact(fresh, await collectExact(SUBSET))).toEqual([]);
    const committed = readBaseline(COMMITTED);
    // the committed baseline holds every canned workload and every shipped trace (trace-NAME) x every policy ...
    const traces = readdirSync(join(import.meta.dir, "../../workloads/traces")).filter((f) => f.endsWith(".vmtrace")).map((f) => `trace-${f.slice(0, -8)}`);
    expect(traces.length).toBeGreaterThanOrEqual(3);
    expect(committed.runs.map((r) => `${r.workload}/${r.policy}`).sort()).toEqual([...catalog.names(), ...traces].flatMap((w) => POLICIES.map((p) => `${w}/${p}`)).sort());
    // ... the traces replayed for TRACE_EXACT_CONFIG.durationSec (their first guests at their captured size) ...
    for (const r of committed.runs.filter((x) => x.workload.startsWith("trace-"))) {
      expect(r.checkpoints.at(-1)!.tSec).toBe(TRACE_EXACT_CONFIG.durationSec);
      expect(r.checkpoints.at(-1)!.populatedPages as number).toBeGreaterThan(TRACE_EXACT_CONFIG.guests * 0.3 * 65536);
      expect(r.checkpoints.at(-1)!.populatedPages as number).toBeLessThan(TRACE_EXACT_CONFIG.guests * 65536);
    }
    // ... and these four runs of it are what this tree produces now
    const same = { ...committed, runs: committed.runs.filter((r) => SUBSET.workloads.includes(r.workload) && SUBSET.policies.includes(r.policy as Policy)) };
    expect(compareExact(same, fresh)).toEqual([]);
  }, 30_000);

  test("a perturbed baseline fails, and the difference names the run, checkpoint and field", async () => {
    const perturbed = clone(fresh);
    const run = perturbed.runs.find((r) => r.workload === "kernel-build" && r.policy === "ksm")!;
    const cp = run.checkpoints[2]!;
    const was = cp.cowBreaks as number;
    cp.cowBreaks = was + 1;
    run.summary.pagesMerged = (run.summary.pagesMerged as number) - 3;
    const diffs = compareExact(perturbed, fresh);
    expect(diffs).toEqual([
      { run: "kernel-build/ksm", at: `t=${cp.tSec}s`, field: "cowBreaks", baseline: was + 1, current: was },
      { run: "kernel-build/ksm", at: "summary", field: "pagesMerged", baseline: (run.summary.pagesMerged as number), current: (run.summary.pagesMerged as number) + 3 },
    ]);
    const lines = diffTable(diffs);
    expect(lines[0]).toMatch(/^run\s+at\s+field\s+baseline\s+now$/);
    expect(lines.some((l) => l.includes("kernel-build/ksm") && l.includes("cowBreaks") && l.includes(String(was + 1)))).toBe(true);
    expect(lines.at(-1)).toContain("2 differences in 1 of the runs");
  });

  test("the tier fails on a perturbed baseline file and passes on the unperturbed one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-t1-"));
    try {
      const good = join(dir, "good.json");
      const bad = join(dir, "bad.json");
      writeBaseline(good, fresh);
      const perturbed = clone(fresh);
      perturbed.runs[0]!.checkpoints.at(-1)!.savingsPct = -1;
      writeBaseline(bad, perturbed);
      const pass = await runExactTier({ baselinePath: good, ...SUBSET });
      expect(pass.status).toBe("pass");
      const fail = await runExactTier({ baselinePath: bad, ...SUBSET });
      expect(fail.status).toBe("fail");
      expect(fail.couldNotRun).toBeUndefined();
      expect(fail.summary).toBe(`1 values differ from ${bad}`);
      expect(fail.report.some((l) => l.includes("idle/vmdedup") && l.includes("savingsPct") && l.includes("-1"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("runs, checkpoints and config that appear or disappear are differences; the digest catches the rest", () => {
    const b = clone(fresh);
    const removed = b.runs.pop()!;
    b.runs[0]!.checkpoints.pop();
    b.runs[1]!.digest = "0000000000000000";
    b.config.seed = 2;
    const d = compareExact(b, fresh);
    expect(d.find((x) => x.run === "config")).toEqual({ run: "config", at: "config", field: "seed", baseline: 2, current: 1 });
    expect(d.find((x) => x.field === "digest")).toMatchObject({ run: `${b.runs[1]!.workload}/${b.runs[1]!.policy}`, baseline: "0000000000000000" });
    expect(d.filter((x) => x.run === `${removed.workload}/${removed.policy}` && x.baseline === undefined).length).toBeGreaterThan(10);
    const gone = fresh.runs[0]!.checkpoints.at(-1)!;
    expect(d.filter((x) => x.run === `${b.runs[0]!.workload}/${b.runs[0]!.policy}` && x.at === `t=${gone.tSec}s`).every((x) => x.baseline === undefined)).toBe(true);
  });

  test("the digest leaves out citations and descriptions, and catches any number", async () => {
    const idle = CANNED_WORKLOADS.find((w) => w.name === "idle")!;
    const r = await runSimulation({ workload: idle, policy: "none", guests: 1, guestMem: 4 * 2 ** 20, durationSec: 2 });
    const digest = extractRun(r).digest;
    const prose = structuredClone(r);
    prose.calibration.description = "reworded";
    prose.calibration.constants.hashPage!.source = "another citation";
    prose.workload.spec = { ...prose.workload.spec, description: "reworded", sources: ["elsewhere"] };
    expect(extractRun(prose).digest).toBe(digest);
    const number = structuredClone(r);
    number.calibration.constants.hashPage!.ns += 1;
    expect(extractRun(number).digest).not.toBe(digest);
  });

  test("a missing or malformed baseline is 'could not run', not a pass", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-t1-"));
    try {
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ schema: "something else", runs: [] }));
      for (const path of [join(dir, "absent.json"), join(dir, "bad.json")]) {
        const v = await runExactTier({ baselinePath: path, catalog, workloads: ["idle"], policies: ["none"] });
        expect(v.status).toBe("fail");
        expect(v.couldNotRun).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
