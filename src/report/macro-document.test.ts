import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf, runMacroSuite, type MacroPlan } from "../experiments/index.ts";
import { RESULTS_SCHEMA, type ResultsDocument } from "./results-schema.ts";
import { validateResults } from "./results-validate.ts";

const plan: MacroPlan = { workloads: ["kernel-build"], catalog: catalogOf(CANNED_WORKLOADS), policies: ["vmdedup"], sweepWorkers: [0, 1], seed: 3, durationSec: 4, guests: 2, guestMemBytes: 8 * 2 ** 20 };

describe("the macro suite's runs in a results document", async () => {
  const outcome = await runMacroSuite(plan, () => {});
  const doc: ResultsDocument = {
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

  test("make a valid results document", () => {
    expect(validateResults(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
  });

  test("a run of a policy the project does not have is rejected, naming the field", () => {
    const bad = JSON.parse(JSON.stringify(doc));
    bad.macro.runs[1].policy = "magic";
    bad.macro.runs[1].id = "kernel-build/magic/w0";
    expect(() => validateResults(bad)).toThrow("results.macro.runs[1].policy");
  });
});
