/**
 * The results document of `bun run benchmarks` (schema "vmdedup-results/1"), one per run:
 * results/<date>-<short-commit>.json and results/latest.json. Documented for readers in
 * results/SCHEMA.md; checked by validateResults (results-validate.ts).
 *
 * What is deterministic and what is wall-clock is kept apart:
 *   - deterministic (same commit + options + calibration file -> identical values on any machine):
 *     `options`, `calibration`, and in every macro run everything but `measured` (simulated clock);
 *   - wall-clock (differs run to run): `date`, `machine`, `micro` (all of it), `wallSec`, and in
 *     every macro run `measured`.
 * Units are in the field names (Sec, Ns, Pct, Bytes, PerSec); percentages are 0..100.
 */

import type { CalibrationInfo, DensitySection, MacroRun, SecuritySection } from "../experiments/index.ts";

export type { Measured, OracleSeries, RunSummary, TimeSeries, TimeToMerge } from "../sim/index.ts";
export type { CalibrationInfo, DensitySection, DensityWorkloadRow, MacroGroup, MacroRun, SecurityRow, SecuritySection } from "../experiments/index.ts";

export const RESULTS_SCHEMA = "vmdedup-results/1";

export interface ResultsDocument {
  schema: typeof RESULTS_SCHEMA;
  /** Short commit hash of the tree measured, or "nocommit" outside git. */
  commit: string;
  /** The tree had uncommitted changes. */
  dirty: boolean;
  /** ISO 8601 time the run started (wall-clock). */
  date: string;
  /** Wall-clock duration of the whole benchmark command, seconds. */
  wallSec: number;
  machine: MachineInfo;
  options: ResultsOptions;
  /** The cost model constants the simulations used (null when no macro run was made). */
  calibration: CalibrationInfo | null;
  micro: MicroResults;
  macro: MacroResults;
  /** The side channel per policy x mitigation beside savings and cost (absent in documents made before it, or with --only micro). */
  security?: SecuritySection;
  /** Guests that fit on an overcommitted host per workload and policy, at one small size (absent in documents made before it, or with --only micro). */
  density?: DensitySection;
  /** Present only in a shard's partial document (`--shard i/N`); `bun run merge-results` removes it. */
  shard?: ShardInfo;
}

/**
 * What a shard's partial document holds. The suite's fixed list (every matrix run, then the
 * worker sweep) has `listLength` positions; shard i of N made the matrix positions p with
 * p mod N = i - 1 and, in shard 1 only (`wallClock`), the micro-benchmarks and the sweep.
 */
export interface ShardInfo {
  index: number;
  count: number;
  listLength: number;
  /** List position of each of macro.runs, in order. */
  runPositions: number[];
  /** List position of each of macro.skipped, in order. */
  skippedPositions: number[];
  /** micro and the worker sweep were made here (shard 1). */
  wallClock: boolean;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryBytes: number;
  bun: string;
  platform: string;
  arch: string;
}

export interface ResultsOptions {
  quick: boolean;
  full: boolean;
  filter: string | null;
  workloads: string[];
  policies: string[];
  /** Worker counts of the worker sweep. */
  workers: number[];
  seed: number;
  /** Simulated duration of each macro run, seconds. */
  durationSec: number;
  /** Guests per workload and memory per guest of the macro runs (null: the workload spec's own). */
  guests: number | null;
  guestMemBytes: number | null;
  /** The side-channel mitigation of the macro runs (`--mitigation`); absent = off. */
  mitigation?: { kind: string; saltGroups: number | readonly number[] | null };
}

// ---- micro-benchmarks (wall-clock) -------------------------------------------------------------

export interface MicroBenchmark {
  name: string;
  group: string;
  /** mitata statistics of one call, nanoseconds. */
  avgNs: number;
  minNs: number;
  p25Ns: number;
  p50Ns: number;
  p75Ns: number;
  p99Ns: number;
  maxNs: number;
  samples: number;
}

/** subject / reference, both measured in this run, per page (p50 / perPageDivisor). */
export interface MicroRatio {
  name: string;
  subject: string;
  reference: string;
  subjectNs: number;
  referenceNs: number;
  ratio: number;
  target: number | null;
  meetsTarget: boolean | null;
}

export interface MicroResults {
  benchmarks: MicroBenchmark[];
  ratios: MicroRatio[];
  /** Benchmarks that could not be registered (e.g. a policy not implemented yet), with why. */
  skipped: { name: string; reason: string }[];
  /** The scanner's speed as a fraction of this machine's read bandwidth, measured in the same
   * run (the gate's tier 3, tracked here run by run); null when the micro part did not run. */
  machineRatio: MachineRatioResult | null;
}

export interface MachineRatioResult {
  /** Pages of the mix image both sides read. */
  pages: number;
  /** Sequential read of the same bytes (Bun.hash.crc32 in one call), best of the repetitions. */
  readPagesPerSec: number;
  readGBps: number;
  /** vmdedup full re-hash pass (a fresh scanner's fullScans(1)), best of the repetitions. */
  scanPagesPerSec: number;
  /** scanPagesPerSec / readPagesPerSec. */
  fraction: number;
  /** The gate's floor for `fraction`. */
  floor: number;
}

// ---- macro runs -------------------------------------------------------------------------------

/* One run (a workload x policy x worker count) is a MacroRun (src/experiments/macro-suite.ts): a
 * view of the experiments' run record; `summary`, `series` and `oracle` are deterministic,
 * `measured` is wall-clock. */

export interface MacroResults {
  runs: MacroRun[];
  /** Runs that were asked for and could not be made, with why (e.g. a policy not implemented yet). */
  skipped: { id: string; reason: string }[];
}
