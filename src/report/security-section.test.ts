/** The results document's optional security section (src/experiments/attack/security-matrix.ts) is validated field by field. */
import { describe, expect, test } from "bun:test";
import { rowOf } from "../experiments/attack/security-matrix.ts";
import { validateResults } from "./results-validate.ts";
import { securityMarkdown } from "./security-md.ts";

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

  test("the summary table has one line per row", () => {
    const md = securityMarkdown(section);
    expect(md.filter((l) => l.startsWith("| web-server | ksm | salted | 0.500 | 160.0 | 0.470 | 0.5 | 26.0 | 9.0 | -12 | 0.00 |"))).toHaveLength(1);
    expect(securityMarkdown(undefined)).toEqual([]);
  });

  test("accepted with or without it; a bad row is named", () => {
    expect(() => validateResults(doc(undefined))).not.toThrow();
    expect(() => validateResults(doc(section))).not.toThrow();
    expect(() => validateResults(doc({ ...section, rows: [{ ...row, mitigation: "foo" }] }))).toThrow(/results\.security\.rows\[0\]\.mitigation/);
    expect(() => validateResults(doc({ ...section, rows: [{ ...row, accuracy: 1.5 }] }))).toThrow(/accuracy/);
    expect(() => validateResults(doc({ ...section, extra: 1 }))).toThrow(/results\.security\.extra: unknown field/);
  });
});
