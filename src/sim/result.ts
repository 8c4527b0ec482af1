/**
 * The schema of one run's JSON document (results/*.json) and its validator.
 *
 * Everything outside `measured` is deterministic: the same spec, seed, options and calibration
 * file give byte-identical JSON for those keys. `measured` holds wall-clock figures only.
 * Percentages are of all guest memory (pages of started guests), 0..100.
 */
import { ResultSchemaError } from "./errors.ts";
import type { Calibration } from "./cost-model.ts";
import { checkColumns, HOST_SERIES_COLUMNS, ORACLE_COLUMNS, SERIES_COLUMNS, type OracleSeries, type TimeSeries } from "./series.ts";
import type { WorkloadSpec } from "./spec.ts";

export type { OracleSeries, TimeSeries } from "./series.ts";

export const RESULT_SCHEMA = "vmdedup/run@1" as const;

export interface RunOptions {
  workload: string;
  policy: "vmdedup" | "ksm" | "esx" | "none";
  guests: number; // total guests after overrides
  guestMemBytes: number; // memory of the first family's guests after overrides
  seed: number;
  durationSec: number;
  tickMs: number;
  hostCpus: number;
  scannerNice: number;
  scannerWeight: number; // CFS weight relative to one guest vCPU (from scannerNice unless given)
  pagesToScan: number;
  sleepMillisecs: number;
  smartScan: boolean;
  useZeroPages: boolean;
  maxPageSharing: number;
  workers: number;
  sampleEverySec: number;
  oracleEverySec: number;
  steadyFromSec: number; // start of the steady-state window the summary averages over
  /** Present only when not "off" (src/dedup/mitigation.ts). */
  mitigation?: "salted" | "zero-only" | "vusion" | "fixed-latency";
  /** salted: the group count or per-guest list asked for; null = one group per guest. */
  saltGroups?: number | readonly number[] | null;
  /** Only on a host with a size (host-memory.ts hostOptions): its memory and reclamation knobs as run. */
  host?: Record<string, number | string>;
}

/** What a mitigation cost the guests (present only when the mitigation is not "off"). */
export interface MitigationCost {
  /** First accesses after a scanner visit that were not CoW breaks anyway, over the whole run: each charged a CoW break's cost (vusion, fixed-latency). */
  accessFaults: number;
  /** Those in the steady window (after options.steadyFromSec) / the window's length, 4 decimals. */
  steadyAccessFaultsPerSec: number;
}

/** Time-to-merge (metrics.ts MergeTimes): waits of pages that became duplicates until they were found merged. */
export interface TimeToMerge {
  /** Upper bucket bounds in ms; the last bucket is open (Infinity is written as null). */
  bucketUpperMs: (number | null)[];
  /** Pages merged whose wait fell in each bucket (lower bound inclusive, upper exclusive). */
  counts: number[];
  /** Pages merged over the run: writes that made a page a further copy of an existing non-zero content, then found on a shared or the zero frame. */
  merged: number;
  /** Such pages still unmerged (and not rewritten) at the end of the run. */
  pendingAtEnd: number;
  /** Percentiles of the merged pages' waits in ms, rounded to 3 decimals; null when nothing merged. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

/** The run's figures (summary.definitions states each in words). "steady": mean over the series rows after options.steadyFromSec, and the last row. */
export interface RunSummary {
  /** What the figures mean, in words (SAVINGS_DEFINITIONS). */
  definitions: Record<string, string>;
  /** savingsPct of the last series row (the end of the run). */
  savingsPct: number;
  /** savingsExclZeroPct of the last series row. */
  savingsExclZeroPct: number;
  /** Steady mean of series.savingsPct. */
  steadySavingsPct: number;
  /** Steady mean of series.savingsExclZeroPct. */
  steadySavingsExclZeroPct: number;
  /** The last oracle row's savable pages / the last row's guestPages x 100 (the end of the run). */
  oracleSavablePct: number;
  /** Likewise without zero pages. */
  oracleSavableExclZeroPct: number;
  /** Pages saved at the end / the last oracle's savable pages; null when that is 0. */
  efficiency: number | null;
  /** Non-zero pages saved at the end (from the rounded savingsExclZeroPct) / the last oracle's savablePagesExclZero; null when 0. */
  efficiencyExclZero: number | null;
  /** Copy-on-write breaks over the whole run (hv.cowBreaks at the end). */
  cowBreaks: number;
  /** Steady mean of series.cowBreaksPerSec. */
  steadyCowBreaksPerSec: number;
  /** Pages the scanner's batches visited over the whole run. */
  pagesScanned: number;
  /** The scanner's completed passes over all guest memory at the end. */
  fullScans: number;
  /** Scanner CPU seconds over the whole run / (hostCpus x simulated seconds), rounded to 6 decimals. */
  scannerCpuShare: number;
  /** Steady mean of series.guestOpsPerSec. */
  steadyGuestOpsPerSec: number;
  /** steadyGuestOpsPerSec of the same run under policy none; null until compareWithBaseline fills it. */
  baselineGuestOpsPerSec: number | null;
  /** (1 - steadyGuestOpsPerSec / baselineGuestOpsPerSec) x 100; null without a baseline (or when it is 0). */
  throughputLossPct: number | null;
  timeToMerge: TimeToMerge;
  // ---- only on a host with a size (absent otherwise, so such runs keep their documents) ----
  /** Guest pages moved to hypervisor swap / brought back from it, over the run. */
  swapOuts?: number;
  swapIns?: number;
  /** Guest pages compressed into compression caches, over the run. */
  compressedPages?: number;
  /** Frames the balloons freed, over the run (a ballooned page frees one only if it held one alone). */
  balloonedPages?: number;
  /** Guest pages paged out by the guests themselves under balloon pressure, over the run. */
  guestPageOuts?: number;
  /** Pages brought back that had been taken from a shared frame (sharing lost; Linux: ksm_swpin_copy). */
  swapInCopies?: number;
  /** (1 - steadyGuestOpsPerSec / the same workload and policy on an uncommitted host) x 100; null until experiments fill it. */
  uncommittedGuestOpsPerSec?: number | null;
  overcommitLossPct?: number | null;
  /**
   * Replays on a host with a size only (replay-runner.ts lagSummary): the mean over guests of how
   * late each finished its trace (seconds of stall that delayed it), and the mean of lag / (trace
   * span + lag) x 100, which overcommitLossPct takes for a replay (its writes are never lost, only late).
   */
  replayLagSec?: number;
  replayLossPct?: number;
  /** Null, or why the run stopped early (HostMemoryExhaustedError's message): the document is partial. */
  stoppedEarly?: string | null;
}

export interface Measured {
  startedAt: string;
  wallSec: number;
  scannerWallSec: number;
  scannerPagesPerSec: number | null;
  batchLatencyUs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  oracleWallSec: number;
}

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  workload: { name: string; spec: WorkloadSpec };
  seed: number;
  options: RunOptions;
  calibration: Calibration & { path: string };
  series: TimeSeries;
  oracle: OracleSeries;
  summary: RunSummary;
  /** Present only when options.mitigation is set (not "off"). */
  mitigationCost?: MitigationCost;
  measured: Measured;
}

// ---- validator -----------------------------------------------------------------------------------

const bad = (field: string, msg: string): never => {
  throw new ResultSchemaError(field, msg);
};
function isObj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(field, "must be an object");
  return v as Record<string, unknown>;
}
function numField(o: Record<string, unknown>, k: string, field: string, nullable = false): void {
  const v = o[k];
  if (nullable && v === null) return;
  if (typeof v !== "number" || !Number.isFinite(v)) bad(`${field}.${k}`, `must be a finite number${nullable ? " or null" : ""}, got ${JSON.stringify(v)}`);
}
function numArray(o: Record<string, unknown>, k: string, field: string, len: number | null, nullable = false): number {
  const v = o[k];
  if (!Array.isArray(v)) return bad(`${field}.${k}`, "must be an array");
  if (len !== null && v.length !== len) bad(`${field}.${k}`, `must have ${len} entries like tSec, has ${v.length}`);
  v.forEach((x, i) => {
    if (nullable && x === null) return;
    if (typeof x !== "number" || !Number.isFinite(x)) bad(`${field}.${k}[${i}]`, `must be a finite number`);
  });
  return v.length;
}

/** Throws ResultSchemaError naming the first bad field; returns the document typed. */
export function validateRunResult(doc: unknown): RunResult {
  const d = isObj(doc, "result");
  if (d.schema !== RESULT_SCHEMA) bad("schema", `must be "${RESULT_SCHEMA}", got ${JSON.stringify(d.schema)}`);
  const w = isObj(d.workload, "workload");
  if (typeof w.name !== "string") bad("workload.name", "must be a string");
  isObj(w.spec, "workload.spec");
  numField(d, "seed", "result");
  const o = isObj(d.options, "options");
  for (const k of ["guests", "guestMemBytes", "seed", "durationSec", "tickMs", "hostCpus", "scannerNice", "scannerWeight", "pagesToScan", "sleepMillisecs",
    "maxPageSharing", "workers", "sampleEverySec", "oracleEverySec", "steadyFromSec"]) numField(o, k, "options");
  if (!["vmdedup", "ksm", "esx", "none"].includes(o.policy as string)) bad("options.policy", `unknown policy ${JSON.stringify(o.policy)}`);
  const c = isObj(d.calibration, "calibration");
  if (typeof c.path !== "string") bad("calibration.path", "must be a string");
  const consts = isObj(c.constants, "calibration.constants");
  for (const [k, v] of Object.entries(consts)) {
    const cv = isObj(v, `calibration.constants.${k}`);
    numField(cv, "ns", `calibration.constants.${k}`);
    if (typeof cv.source !== "string") bad(`calibration.constants.${k}.source`, "must be a string");
  }
  checkColumns(SERIES_COLUMNS, d.series, "series", bad, HOST_SERIES_COLUMNS);
  checkColumns(ORACLE_COLUMNS, d.oracle, "oracle", bad);
  const su = isObj(d.summary, "summary");
  isObj(su.definitions, "summary.definitions");
  for (const k of ["savingsPct", "savingsExclZeroPct", "steadySavingsPct", "steadySavingsExclZeroPct", "oracleSavablePct", "oracleSavableExclZeroPct",
    "cowBreaks", "steadyCowBreaksPerSec", "pagesScanned", "fullScans", "scannerCpuShare", "steadyGuestOpsPerSec"]) numField(su, k, "summary");
  for (const k of ["efficiency", "efficiencyExclZero", "baselineGuestOpsPerSec", "throughputLossPct"]) numField(su, k, "summary", true);
  const t = isObj(su.timeToMerge, "summary.timeToMerge");
  const b = numArray(t, "bucketUpperMs", "summary.timeToMerge", null, true);
  numArray(t, "counts", "summary.timeToMerge", b);
  for (const k of ["merged", "pendingAtEnd"]) numField(t, k, "summary.timeToMerge");
  for (const k of ["p50Ms", "p90Ms", "p99Ms"]) numField(t, k, "summary.timeToMerge", true);
  const me = isObj(d.measured, "measured");
  for (const k of ["wallSec", "scannerWallSec", "oracleWallSec"]) numField(me, k, "measured");
  numField(me, "scannerPagesPerSec", "measured", true);
  return doc as RunResult;
}
