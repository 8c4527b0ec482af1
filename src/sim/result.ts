/**
 * The schema of one run's JSON document (results/*.json) and its validator.
 *
 * Everything outside `measured` is deterministic: the same spec, seed, options and calibration
 * file give byte-identical JSON for those keys. `measured` holds wall-clock figures only.
 * Percentages are of all guest memory (pages of started guests), 0..100.
 */
import { ResultSchemaError } from "./errors.ts";
import type { Calibration } from "./cost-model.ts";
import type { WorkloadSpec } from "./spec.ts";

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
}

export interface TimeSeries {
  tSec: number[];
  guestPages: number[];
  populatedPages: number[];
  framesUsed: number[];
  savingsPct: number[];
  savingsExclZeroPct: number[];
  pagesShared: number[];
  pagesSharing: number[];
  cowBreaks: number[]; // cumulative
  cowBreaksPerSec: number[]; // over the interval ending at tSec
  pagesScanned: number[]; // cumulative (scanner visits)
  fullScans: number[];
  scannerCpuShare: number[]; // fraction of host CPU capacity used by the scanner in the interval
  guestOpsPerSec: number[]; // all guests, over the interval
}

export interface OracleSeries {
  tSec: number[];
  savablePct: number[];
  savableExclZeroPct: number[];
  efficiency: (number | null)[]; // savings / oracle, null when the oracle is 0
  efficiencyExclZero: (number | null)[];
}

export interface TimeToMerge {
  /** Upper bucket bounds in ms; the last bucket is open (Infinity is written as null). */
  bucketUpperMs: (number | null)[];
  counts: number[];
  merged: number;
  pendingAtEnd: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

export interface RunSummary {
  definitions: Record<string, string>;
  savingsPct: number; // final sample
  savingsExclZeroPct: number;
  steadySavingsPct: number; // mean over samples in the steady window
  steadySavingsExclZeroPct: number;
  oracleSavablePct: number; // at the end of the run
  oracleSavableExclZeroPct: number;
  efficiency: number | null;
  efficiencyExclZero: number | null;
  cowBreaks: number;
  steadyCowBreaksPerSec: number;
  pagesScanned: number;
  fullScans: number;
  scannerCpuShare: number; // whole run
  steadyGuestOpsPerSec: number;
  baselineGuestOpsPerSec: number | null; // the same run under policy none
  throughputLossPct: number | null;
  timeToMerge: TimeToMerge;
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
  const s = isObj(d.series, "series");
  const n = numArray(s, "tSec", "series", null);
  for (const k of ["guestPages", "populatedPages", "framesUsed", "savingsPct", "savingsExclZeroPct", "pagesShared", "pagesSharing", "cowBreaks",
    "cowBreaksPerSec", "pagesScanned", "fullScans", "scannerCpuShare", "guestOpsPerSec"]) numArray(s, k, "series", n);
  const or = isObj(d.oracle, "oracle");
  const m = numArray(or, "tSec", "oracle", null);
  for (const k of ["savablePct", "savableExclZeroPct"]) numArray(or, k, "oracle", m);
  for (const k of ["efficiency", "efficiencyExclZero"]) numArray(or, k, "oracle", m, true);
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
