/**
 * What intra-VM-only sharing (salted, one group per guest) costs, against Barker et al. (ATC'12,
 * security.md): on hosts of identical guests most non-zero sharing is across guests, so salting
 * loses most of it; on diverse guests nearly all sharing is inside a guest, so it loses little.
 * Also: the optional security section of a results document is validated field by field.
 */
import { describe, expect, test } from "bun:test";
import { CANNED } from "../../cli/workloads.ts";
import { validateResults } from "../../report/results-validate.ts";
import { runOnce } from "../run.ts";
import { rowOf } from "./security-matrix.ts";

const exclZero = async (workload: string, mitigation?: "salted") =>
  (await runOnce({ workload: CANNED.get(workload), policy: "vmdedup", guests: 4, guestMem: 16 * 2 ** 20, seed: 1, durationSec: 40, ...(mitigation ? { mitigation } : {}) }))
    .summary.steadySavingsExclZeroPct;

describe("salting's cost in savings", () => {
  test("identical guests (web-server) lose most non-zero savings, diverse guests (mixed) almost none", async () => {
    const [webOff, webSalted, mixOff, mixSalted] = [await exclZero("web-server"), await exclZero("web-server", "salted"), await exclZero("mixed"), await exclZero("mixed", "salted")];
    expect(webOff).toBeGreaterThan(0);
    expect(1 - webSalted / webOff).toBeGreaterThan(0.5); // measured: 28.9% -> 9.0%
    expect(mixOff).toBeGreaterThan(0);
    expect(1 - mixSalted / mixOff).toBeLessThan(0.1); // Barker: > 90% of the potential is within a machine
  }, 30_000);
});

describe("results document: security section", () => {
  const row = rowOf({
    schema: "vmdedup/attack@1", workload: "web-server", policy: "ksm", mitigation: "salted", saltGroups: null, seed: 1, waitPasses: 2, bitsPerRound: 64, chanceBound: 0.1,
    trials: 200, rounds: 4, accuracy: 0.5, falsePositiveRate: 0, falseNegativeRate: 1, probeSeconds: 0.4, bitsPerSecond: 160, bitErrorRate: 0.47, capacityBitsPerSecond: 0.5,
    bits: 256, thresholdNs: 2800, mergedMedianNs: 4422, unmergedMedianNs: 1178, steadySavingsPct: 26, steadySavingsExclZeroPct: 9, extraFaultsPerSec: -12, throughputLossPct: 0,
  });
  const doc = (security: unknown) => ({
    schema: "vmdedup-results/1", commit: "x", dirty: false, date: "2026-12-01T00:00:00Z", wallSec: 1,
    machine: { cpu: "c", cores: 2, memoryBytes: 1, bun: "1", platform: "linux", arch: "x64" },
    options: { quick: true, full: false, filter: null, workloads: [], policies: [], workers: [], seed: 1, durationSec: 0, guests: 2, guestMemBytes: null },
    calibration: null, micro: { benchmarks: [], ratios: [], skipped: [], machineRatio: null }, macro: { runs: [], skipped: [] },
    ...(security === undefined ? {} : { security }),
  });
  const section = { trials: 200, seed: 1, guests: 4, guestMemBytes: 2 ** 25, durationSec: 40, rows: [row] };

  test("accepted with or without it; a bad row is named", () => {
    expect(() => validateResults(doc(undefined))).not.toThrow();
    expect(() => validateResults(doc(section))).not.toThrow();
    expect(() => validateResults(doc({ ...section, rows: [{ ...row, mitigation: "foo" }] }))).toThrow(/results\.security\.rows\[0\]\.mitigation/);
    expect(() => validateResults(doc({ ...section, rows: [{ ...row, accuracy: 1.5 }] }))).toThrow(/accuracy/);
    expect(() => validateResults(doc({ ...section, extra: 1 }))).toThrow(/results\.security\.extra: unknown field/);
  });
});
