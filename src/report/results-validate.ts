/**
 * Validator of results documents (results-schema.ts). Walks the document field by field and
 * throws a ResultsSchemaError naming the first bad field by its path, e.g.
 * `results.macro.runs[3].series.savingsPct: must have 41 items (like tSec), got 40`. Unknown
 * fields are rejected too (so a typo in a producer cannot go unnoticed), except inside the parts
 * copied from the simulation driver's run document, which may grow fields of their own; the
 * series and oracle tables are checked against their one declaration (src/sim/series.ts), so
 * there an unknown column is rejected too.
 */
import { MITIGATIONS, POLICIES } from "../dedup/index.ts";
import { VmdedupError } from "../hypervisor/index.ts";
import { checkColumns, HOST_SERIES_COLUMNS, ORACLE_COLUMNS, SERIES_COLUMNS, type ColumnDecl } from "../sim/series.ts";
import { RESULTS_SCHEMA, type ResultsDocument } from "./results-schema.ts";

export class ResultsSchemaError extends VmdedupError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

type Obj = Record<string, unknown>;
type Check = (v: unknown, path: string) => void;

const fail = (path: string, msg: string): never => {
  throw new ResultsSchemaError(path, msg);
};
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 60));

const num =
  (min = -Infinity, max = Infinity, int = false): Check =>
  (v, p) => {
    if (typeof v !== "number" || !Number.isFinite(v)) fail(p, `must be a finite number, got ${show(v)}`);
    if ((v as number) < min || (v as number) > max) fail(p, `must be from ${min} to ${max}, got ${v}`);
    if (int && !Number.isInteger(v)) fail(p, `must be an integer, got ${v}`);
  };
const nonNeg = num(0);
const count = num(0, Infinity, true);
const pct = num(0, 100);
const str: Check = (v, p) => {
  if (typeof v !== "string") fail(p, `must be a string, got ${show(v)}`);
};
const bool: Check = (v, p) => {
  if (typeof v !== "boolean") fail(p, `must be a boolean, got ${show(v)}`);
};
const nullable =
  (c: Check): Check =>
  (v, p) => {
    if (v !== null) c(v, p);
  };
const oneOf =
  (...values: string[]): Check =>
  (v, p) => {
    if (!values.includes(v as string)) fail(p, `must be one of ${values.map((x) => `"${x}"`).join(", ")}, got ${show(v)}`);
  };
const list =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, `must be a list, got ${show(v)}`);
    v.forEach((x, i) => item(x, `${p}[${i}]`));
  };
const record =
  (item: Check): Check =>
  (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(p, `must be an object, got ${show(v)}`);
    for (const [k, x] of Object.entries(v)) item(x, `${p}.${k}`);
  };
/** A field that may be left out (checked when present). */
const optional = (c: Check): Check => Object.assign((v: unknown, p: string) => c(v, p), { optional: true });
/** An object with exactly these fields (or at least these, when `open`). */
const shape =
  (fields: Record<string, Check>, extra?: (o: Obj, p: string) => void, open = false): Check =>
  (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(p, `must be an object, got ${show(v)}`);
    const o = v as Obj;
    if (!open) for (const k of Object.keys(o)) if (!(k in fields)) fail(`${p}.${k}`, `unknown field`);
    for (const [k, c] of Object.entries(fields)) {
      if (!(k in o) && (c as { optional?: boolean }).optional) continue;
      if (!(k in o)) fail(`${p}.${k}`, `is missing`);
      c(o[k], `${p}.${k}`);
    }
    extra?.(o, p);
  };

const machine = shape({ cpu: str, cores: num(1, Infinity, true), memoryBytes: nonNeg, bun: str, platform: str, arch: str });
const optionFields = {
  quick: bool,
  full: bool,
  filter: nullable(str),
  workloads: list(str),
  policies: list(str),
  workers: list(count),
  seed: num(-Infinity, Infinity, true),
  durationSec: nonNeg,
  guests: nullable(num(1, Infinity, true)),
  guestMemBytes: nullable(nonNeg),
};
/** The options, plus `mitigation` ({ kind, saltGroups }) when the macro runs had one (absent = off). */
const options = shape(optionFields, (o, p) => {
  for (const k of Object.keys(o)) if (!(k in optionFields) && k !== "mitigation") fail(`${p}.${k}`, `unknown field`);
  if ("mitigation" in o) shape({ kind: str, saltGroups: (v, q) => (v === null || typeof v === "number" ? undefined : list(count)(v, q)) })(o.mitigation, `${p}.mitigation`);
}, true);
const calibration = nullable(shape({ path: str, name: str, constants: record(shape({ ns: nonNeg, source: str })) }));

const microBenchmark = shape({
  name: str,
  group: str,
  avgNs: nonNeg,
  minNs: nonNeg,
  p25Ns: nonNeg,
  p50Ns: nonNeg,
  p75Ns: nonNeg,
  p99Ns: nonNeg,
  maxNs: nonNeg,
  samples: count,
});
const microRatio = shape({
  name: str,
  subject: str,
  reference: str,
  subjectNs: nonNeg,
  referenceNs: nonNeg,
  ratio: nonNeg,
  target: nullable(nonNeg),
  meetsTarget: nullable(bool),
});
const skippedMicro = shape({ name: str, reason: str });
const machineRatio = nullable(
  shape({ pages: nonNeg, readPagesPerSec: nonNeg, readGBps: nonNeg, scanPagesPerSec: nonNeg, fraction: nonNeg, floor: nonNeg }),
);
const micro = shape({ benchmarks: list(microBenchmark), ratios: list(microRatio), skipped: list(skippedMicro), machineRatio }, (o, p) => {
  const names = new Set((o.benchmarks as { name: string }[]).map((b) => b.name));
  (o.ratios as { subject: string; reference: string }[]).forEach((r, i) => {
    if (!names.has(r.subject)) fail(`${p}.ratios[${i}].subject`, `names no benchmark in ${p}.benchmarks: "${r.subject}"`);
    if (!names.has(r.reference)) fail(`${p}.ratios[${i}].reference`, `names no benchmark in ${p}.benchmarks: "${r.reference}"`);
  });
});

// Parts copied from the simulation's run document (src/sim/result.ts) are "open": fields the
// driver adds later are let through, the ones read here must be there and well-typed.
const nullNum = nullable(num());
const nullNonNeg = nullable(nonNeg);
const timeToMerge = shape(
  { bucketUpperMs: list(nullNonNeg), counts: list(count), merged: count, pendingAtEnd: count, p50Ms: nullNonNeg, p90Ms: nullNonNeg, p99Ms: nullNonNeg },
  (o, p) => {
    const b = o.bucketUpperMs as (number | null)[];
    if ((o.counts as number[]).length !== b.length) fail(`${p}.counts`, `must have ${b.length} items (like bucketUpperMs), got ${(o.counts as number[]).length}`);
    b.forEach((x, i) => {
      if (x === null && i !== b.length - 1) fail(`${p}.bucketUpperMs[${i}]`, `only the last bucket may be open (null)`);
      if (i > 0 && x !== null && !(x > b[i - 1]!)) fail(`${p}.bucketUpperMs[${i}]`, `must be greater than the previous bound`);
    });
  },
  true,
);
const summary = shape(
  {
    definitions: record(str),
    savingsPct: pct,
    savingsExclZeroPct: pct,
    steadySavingsPct: pct,
    steadySavingsExclZeroPct: pct,
    oracleSavablePct: pct,
    oracleSavableExclZeroPct: pct,
    efficiency: nullNonNeg,
    efficiencyExclZero: nullNonNeg,
    cowBreaks: count,
    steadyCowBreaksPerSec: nonNeg,
    pagesScanned: count,
    fullScans: count,
    scannerCpuShare: num(0, 1),
    steadyGuestOpsPerSec: nonNeg,
    baselineGuestOpsPerSec: nullNonNeg,
    throughputLossPct: nullNum,
    timeToMerge,
  },
  undefined,
  true,
);
/** A columnar table as declared in src/sim/series.ts: exactly the declared columns, each a list as long as tSec, tSec increasing. */
const columns =
  (decl: readonly ColumnDecl[], optional: readonly ColumnDecl[] = []): Check =>
  (v, p) =>
    checkColumns(decl, v, p, fail, optional);
const series = columns(SERIES_COLUMNS, HOST_SERIES_COLUMNS); // the host columns: runs on a host with a size
const oracle = columns(ORACLE_COLUMNS);
const measured = shape(
  {
    startedAt: str,
    wallSec: nonNeg,
    scannerWallSec: nonNeg,
    scannerPagesPerSec: nullNonNeg,
    batchLatencyUs: shape({ p50: nullNonNeg, p90: nullNonNeg, p99: nullNonNeg, max: nullNonNeg }, undefined, true),
    oracleWallSec: nonNeg,
    // left out by documents written before --jobs existed (their runs ran alone)
    concurrentJobs: optional(num(1, Infinity, true)),
  },
  undefined,
  true,
);
const run = shape(
  {
    id: str,
    group: oneOf("matrix", "worker-sweep"),
    workload: str,
    policy: oneOf(...POLICIES),
    workers: count,
    seed: num(-Infinity, Infinity, true),
    guests: num(1, Infinity, true),
    guestMemBytes: nonNeg,
    durationSec: nonNeg,
    summary,
    series,
    oracle,
    measured,
  },
  (o, p) => {
    const want = `${o.workload}/${o.policy}/w${o.workers}`;
    if (o.id !== want) fail(`${p}.id`, `must be "${want}" (workload/policy/w<workers>), got ${show(o.id)}`);
  },
);
const macro = shape({ runs: list(run), skipped: list(shape({ id: str, reason: str })) }, (o, p) => {
  const seen = new Set<string>();
  (o.runs as { id: string }[]).forEach((r, i) => {
    if (seen.has(r.id)) fail(`${p}.runs[${i}].id`, `duplicate run id "${r.id}"`);
    seen.add(r.id);
  });
});

const positions: Check = (v, p) => {
  list(count)(v, p);
  if (new Set(v as number[]).size !== (v as number[]).length) fail(p, `must not repeat a position`);
};
const shard = shape(
  { index: num(1, 1024, true), count: num(1, 1024, true), listLength: count, runPositions: positions, skippedPositions: positions, wallClock: bool },
  (o, p) => {
    if ((o.index as number) > (o.count as number)) fail(`${p}.index`, `must be at most count (${o.count}), got ${o.index}`);
    if (o.wallClock !== (o.index === 1)) fail(`${p}.wallClock`, `must be true in shard 1 only`);
    for (const x of [...(o.runPositions as number[]), ...(o.skippedPositions as number[])]) if (x >= (o.listLength as number)) fail(p, `position ${x} is outside the list of ${o.listLength}`);
  },
);

const document = shape({
  schema: oneOf(RESULTS_SCHEMA),
  commit: str,
  dirty: bool,
  date: (v, p) => {
    str(v, p);
    if (Number.isNaN(Date.parse(v as string))) fail(p, `must be an ISO 8601 date, got ${show(v)}`);
  },
  wallSec: nonNeg,
  machine,
  options,
  calibration,
  micro,
  macro,
  shard: optional(shard),
}, (o, p) => {
  const s = o.shard as { runPositions: number[]; skippedPositions: number[] } | undefined;
  const m = o.macro as { runs: unknown[]; skipped: unknown[] };
  if (s && s.runPositions.length !== m.runs.length) fail(`${p}.shard.runPositions`, `must have one position per macro run (${m.runs.length}), got ${s.runPositions.length}`);
  if (s && s.skippedPositions.length !== m.skipped.length) fail(`${p}.shard.skippedPositions`, `must have one position per skipped run (${m.skipped.length}), got ${s.skippedPositions.length}`);
});

const unit = num(0, 1);
const securityRow = shape({
  workload: str,
  policy: oneOf(...POLICIES),
  mitigation: oneOf(...MITIGATIONS),
  accuracy: unit,
  falsePositiveRate: unit,
  falseNegativeRate: unit,
  probeSeconds: nonNeg,
  bitsPerSecond: nonNeg,
  capacityBitsPerSecond: nonNeg,
  bitErrorRate: unit,
  steadySavingsPct: pct,
  steadySavingsExclZeroPct: pct,
  extraFaultsPerSec: num(),
  throughputLossPct: nullable(num(-100, 100)),
});
const security = shape({
  trials: num(1, Infinity, true),
  seed: num(-Infinity, Infinity, true),
  guests: nullable(num(1, Infinity, true)),
  guestMemBytes: nullable(nonNeg),
  durationSec: nullable(nonNeg),
  rows: list(securityRow),
});

const densityPolicy = shape({
  maxGuests: count, capped: bool, overcommitLossPct: nullable(num(-Infinity, 100)), steadySavingsPct: nullable(pct), lossPctByGuests: list(num(-Infinity, 100)),
}, (o, p) => {
  const n = (o.lossPctByGuests as number[]).length;
  if ((o.maxGuests as number) > n) fail(`${p}.maxGuests`, `must be at most the counts tried (${n}), got ${o.maxGuests}`);
});
const density = shape({
  guestMemBytes: nonNeg, hostMemBytes: nonNeg, maxGuests: num(1, Infinity, true), durationSec: nonNeg, maxLossPct: num(0, 100), seed: num(-Infinity, Infinity, true),
  workloads: list(shape({ workload: str, policies: (v, p) => {
    record(densityPolicy)(v, p);
    for (const k of Object.keys(v as Obj)) if (!(POLICIES as readonly string[]).includes(k)) fail(`${p}.${k}`, `must be a policy (${POLICIES.join(", ")})`);
  } })),
});

/** Checks `doc` against the results schema; returns it typed, or throws ResultsSchemaError naming the field. */
export function validateResults(doc: unknown): ResultsDocument {
  // `security` and `density` are optional (documents made before them have none); everything else is required
  const o = typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Obj) : null;
  if (o && (o.security !== undefined || o.density !== undefined)) {
    const { security: sec, density: dens, ...rest } = o;
    document(rest, "results");
    if (sec !== undefined) security(sec, "results.security");
    if (dens !== undefined) density(dens, "results.density");
  } else document(doc, "results");
  return doc as ResultsDocument;
}
