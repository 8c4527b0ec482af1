/**
 * Gate tier 1, exact: seeded simulations compared for equality with the committed baseline
 * (results/baseline.json).
 *
 * Every canned workload x every policy runs through the simulation driver on a small fixed
 * configuration (EXACT_CONFIG: 2 guests of 16 MiB, 30 simulated seconds, seed 1; about 8 s of
 * wall time in all on this 2-core machine), and every shipped trace (trace-<name>, in the catalog
 * scripts/gate.ts passes) x every policy as a replay of its first TRACE_EXACT_CONFIG.guests guests
 * at their captured size (256 MiB) over the first TRACE_EXACT_CONFIG.durationSec seconds: the
 * captures' start-up (content read in, the host's zero-page remap, the first steady interval), at
 * about 1 s of wall time per run instead of ~3 s for all 3 guests over 60 s. The driver is deterministic for a seed and reads
 * the wall clock only for `measured`, which is left out. From each run the baseline keeps:
 *   - checkpoints: every sample of the time series (every 5 simulated seconds): savings, frames
 *     used, pages shared/sharing, cumulative CoW breaks, pages scanned, full scans, scanner CPU
 *     share, guest ops/s, and the oracle's savable share at the same time;
 *   - summary: the run's summary figures (savings, efficiency, CoW breaks, pages merged and
 *     time-to-merge percentiles, full scans, CPU share, throughput);
 *   - digest: xxHash3 of the whole deterministic result (everything but `measured`), so a change
 *     anywhere else in the document (other series values, options, calibration) fails too;
 *     citations and descriptions (keys description/source/sources) are left out of it.
 * The runs are independent: with a JobPool of N (--jobs) they run N at once, gathered in list
 * order (workload, then policy), so the result is the same for any N. With --shard i/N a shard
 * makes every N-th run of that list and compares those runs (shard 1 also reports baseline runs
 * the list no longer has); the shards together check what one unsharded tier checks.
 * Comparison flattens both documents to "key -> value" maps (run "workload/policy", then the
 * field path) and lists every key whose value differs, appeared or disappeared.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { POLICIES, type Policy } from "../dedup/index.ts";
import { inShard, JobPool, requestLabel, runsWallClock, shardLabel, type RunRequest, type Shard, type WorkloadCatalog } from "../experiments/index.ts";
import type { RunResult } from "../sim/index.ts";
import type { TierVerdict } from "./verdict.ts";
import { table } from "./verdict.ts";

export const BASELINE_SCHEMA = "vmdedup/gate-baseline@1" as const;

export const EXACT_CONFIG = {
  seed: 1,
  guests: 2,
  guestMemBytes: 16 * 2 ** 20,
  durationSec: 30,
  sampleEverySec: 5,
  oracleEverySec: 5,
} as const;

/** A replayed trace in tier 1: its first 2 guests (a trace's guests have their captured size), 20 s; seed and sampling as EXACT_CONFIG. */
export const TRACE_EXACT_CONFIG = { guests: 2, durationSec: 20 } as const;

export type Scalar = number | string | boolean | null;

export interface ExactRun {
  workload: string;
  policy: string;
  checkpoints: Record<string, Scalar>[];
  summary: Record<string, Scalar>;
  digest: string;
}

export interface ExactBaseline {
  schema: typeof BASELINE_SCHEMA;
  note: string;
  config: Record<string, Scalar>;
  runs: ExactRun[];
}

export interface ExactDiff {
  run: string; // "workload/policy", or "config"
  at: string; // "t=10s", "summary", "digest", "run"
  field: string;
  baseline: Scalar | undefined;
  current: Scalar | undefined;
}

const SERIES_FIELDS = [
  "savingsPct", "savingsExclZeroPct", "populatedPages", "framesUsed", "pagesShared", "pagesSharing",
  "cowBreaks", "pagesScanned", "fullScans", "scannerCpuShare", "guestOpsPerSec",
] as const;

/** The deterministic part of a run: everything but `measured`. */
export function deterministicPart(r: RunResult): Omit<RunResult, "measured"> {
  const { measured: _measured, ...rest } = r;
  return rest;
}

/** Keys that hold citations and descriptions, never a number a run produces: the digest leaves
 * them out, so that correcting a source or a description (of a workload spec or a calibration
 * constant) does not move the baseline. */
const PROSE_KEYS = new Set(["description", "source", "sources"]);

function withoutProse(key: string, value: unknown): unknown {
  return PROSE_KEYS.has(key) ? undefined : value;
}

export function extractRun(r: RunResult): ExactRun {
  const s = r.series;
  const checkpoints = s.tSec.map((t, i) => {
    const c: Record<string, Scalar> = { tSec: t };
    for (const f of SERIES_FIELDS) c[f] = s[f][i] ?? null;
    const oi = r.oracle.tSec.indexOf(t);
    c.oracleSavablePct = oi >= 0 ? r.oracle.savablePct[oi]! : null;
    return c;
  });
  const m = r.summary;
  const summary: Record<string, Scalar> = {
    savingsPct: m.savingsPct, savingsExclZeroPct: m.savingsExclZeroPct, steadySavingsPct: m.steadySavingsPct,
    oracleSavablePct: m.oracleSavablePct, efficiency: m.efficiency, cowBreaks: m.cowBreaks, steadyCowBreaksPerSec: m.steadyCowBreaksPerSec,
    pagesMerged: m.timeToMerge.merged, pendingAtEnd: m.timeToMerge.pendingAtEnd, mergeP50Ms: m.timeToMerge.p50Ms, mergeP90Ms: m.timeToMerge.p90Ms,
    pagesScanned: m.pagesScanned, fullScans: m.fullScans, scannerCpuShare: m.scannerCpuShare, steadyGuestOpsPerSec: m.steadyGuestOpsPerSec,
  };
  const digest = Bun.hash.xxHash3(JSON.stringify(deterministicPart(r), withoutProse)).toString(16).padStart(16, "0");
  return { workload: r.workload.name, policy: r.options.policy, checkpoints, summary, digest };
}

export interface ExactOptions {
  catalog: WorkloadCatalog;
  workloads?: readonly string[];
  policies?: readonly Policy[];
  onRun?: (name: string) => void;
  /** Where the runs are made (default: one at a time in this thread). */
  pool?: JobPool;
  /** Make only this shard's runs. */
  shard?: Shard;
}

/** The tier's fixed list: "workload/policy" of every workload x policy, in order. */
export const exactList = (o: Pick<ExactOptions, "catalog" | "workloads" | "policies">): { workload: string; policy: Policy }[] =>
  (o.workloads ?? o.catalog.names()).flatMap((workload) => (o.policies ?? POLICIES).map((policy) => ({ workload, policy })));

/** Runs every workload x policy on EXACT_CONFIG (default: every workload of the catalog, all policies), or a shard's part of them. */
export async function collectExact(opts: ExactOptions): Promise<ExactBaseline> {
  const c = EXACT_CONFIG;
  const pool = opts.pool ?? new JobPool({ jobs: 1 });
  const mine = exactList(opts).filter((_, i) => inShard(i, opts.shard));
  const made = mine.map(({ workload, policy }) => {
    const spec = opts.catalog.get(workload);
    // a replayed trace keeps its guests' size: its first TRACE_EXACT_CONFIG.guests guests, shorter
    const size = spec.trace ? { guests: TRACE_EXACT_CONFIG.guests, durationSec: TRACE_EXACT_CONFIG.durationSec } : { guests: c.guests, guestMem: c.guestMemBytes, durationSec: c.durationSec };
    const req: RunRequest = { workload: spec, policy, seed: c.seed, ...size, sampleEverySec: c.sampleEverySec, oracleEverySec: c.oracleEverySec };
    let started = false;
    const announce = () => {
      if (!started) opts.onRun?.(`${workload}/${policy}`);
      started = true;
    };
    return pool.run({ kind: "run", id: requestLabel(req), req }, announce);
  });
  for (const p of made) p.catch(() => {}); // failures are thrown below, in list order
  const runs: ExactRun[] = [];
  for (const p of made) runs.push(extractRun(await p));
  return { schema: BASELINE_SCHEMA, note: "gate tier 1 (scripts/gate.ts): rewrite with `bun run gate --update`; say why in the commit", config: { ...c, traceGuests: TRACE_EXACT_CONFIG.guests, traceDurationSec: TRACE_EXACT_CONFIG.durationSec }, runs };
}

function flatten(doc: ExactBaseline): Map<string, { run: string; at: string; field: string; value: Scalar }> {
  const out = new Map<string, { run: string; at: string; field: string; value: Scalar }>();
  const put = (run: string, at: string, field: string, value: Scalar) => out.set(`${run}\u0000${at}\u0000${field}`, { run, at, field, value });
  for (const [k, v] of Object.entries(doc.config ?? {})) put("config", "config", k, v);
  for (const r of doc.runs ?? []) {
    const run = `${r.workload}/${r.policy}`;
    put(run, "run", "present", true);
    (r.checkpoints ?? []).forEach((c, i) => {
      const at = typeof c.tSec === "number" ? `t=${c.tSec}s` : `#${i}`;
      for (const [k, v] of Object.entries(c)) if (k !== "tSec") put(run, at, k, v);
    });
    for (const [k, v] of Object.entries(r.summary ?? {})) put(run, "summary", k, v);
    put(run, "digest", "digest", r.digest);
  }
  return out;
}

/** Every difference between two baselines, in the baseline's order, then keys only `current` has. */
export function compareExact(baseline: ExactBaseline, current: ExactBaseline): ExactDiff[] {
  const a = flatten(baseline);
  const b = flatten(current);
  const diffs: ExactDiff[] = [];
  for (const [key, x] of a) {
    const y = b.get(key);
    if (!y || !Object.is(x.value, y.value)) diffs.push({ run: x.run, at: x.at, field: x.field, baseline: x.value, current: y ? y.value : undefined });
  }
  for (const [key, y] of b) if (!a.has(key)) diffs.push({ run: y.run, at: y.at, field: y.field, baseline: undefined, current: y.value });
  return diffs;
}

export function readBaseline(path: string): ExactBaseline {
  const doc = JSON.parse(readFileSync(path, "utf8")) as ExactBaseline;
  if (doc?.schema !== BASELINE_SCHEMA || !Array.isArray(doc.runs)) throw new Error(`${path} is not a ${BASELINE_SCHEMA} document`);
  return doc;
}

export function writeBaseline(path: string, doc: ExactBaseline): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(doc, null, 1)}\n`);
}

const show = (v: Scalar | undefined) => (v === undefined ? "(absent)" : JSON.stringify(v));

/** The readable table of differences (at most `limit` rows, then a count). */
export function diffTable(diffs: readonly ExactDiff[], limit = 40): string[] {
  const rows = diffs.slice(0, limit).map((d) => [d.run, d.at, d.field, show(d.baseline), show(d.current)]);
  const lines = table(["run", "at", "field", "baseline", "now"], rows);
  if (diffs.length > limit) lines.push(`... and ${diffs.length - limit} more differences`);
  const runs = new Set(diffs.map((d) => d.run));
  lines.push(`${diffs.length} differences in ${runs.size} of the runs; if intended, \`bun run gate --update\` and say why in the commit`);
  return lines;
}

/** The part of `baseline` a shard checks: its runs of the list, and (shard 1) the baseline's runs the list does not have. */
export function baselineForShard(baseline: ExactBaseline, o: Pick<ExactOptions, "catalog" | "workloads" | "policies">, shard: Shard): ExactBaseline {
  const list = exactList(o).map((x) => `${x.workload}/${x.policy}`);
  const mine = new Set(list.filter((_, i) => inShard(i, shard)));
  const keep = (name: string) => mine.has(name) || (runsWallClock(shard) && !list.includes(name));
  return { ...baseline, runs: baseline.runs.filter((r) => keep(`${r.workload}/${r.policy}`)) };
}

/** Tier 1 as the gate runs it; `update` rewrites the baseline instead of comparing. */
export async function runExactTier(o: {
  baselinePath: string;
  label?: string;
  update?: boolean;
  /** The workloads to run (the canned ones and the shipped traces, passed in by scripts/gate.ts). */
  catalog: WorkloadCatalog;
  /** Subsets (tests); the gate runs all workloads and policies. */
  workloads?: readonly string[];
  policies?: readonly Policy[];
  onRun?: (name: string) => void;
  pool?: JobPool;
  shard?: Shard;
}): Promise<TierVerdict> {
  const t0 = performance.now();
  const label = o.label ?? o.baselinePath;
  const name = "tier 1: exact";
  const wall = () => (performance.now() - t0) / 1000;
  let baseline: ExactBaseline | null = null;
  if (!o.update) {
    try {
      baseline = readBaseline(o.baselinePath);
    } catch (e) {
      return { name, status: "fail", couldNotRun: true, summary: `cannot read the baseline: ${(e as Error).message} (create it with \`bun run gate --update\`)`, wallSec: wall(), report: [] };
    }
  }
  let current: ExactBaseline;
  try {
    current = await collectExact({ catalog: o.catalog, workloads: o.workloads, policies: o.policies, onRun: o.onRun, pool: o.pool, shard: o.shard });
  } catch (e) {
    return { name, status: "fail", couldNotRun: true, summary: `a simulation failed: ${(e as Error).stack ?? e}`, wallSec: wall(), report: [] };
  }
  if (o.update) {
    writeBaseline(o.baselinePath, current);
    return { name, status: "pass", summary: `baseline rewritten: ${label} (${current.runs.length} runs)`, wallSec: wall(), report: [] };
  }
  const diffs = compareExact(o.shard ? baselineForShard(baseline!, o, o.shard) : baseline!, current);
  const part = o.shard ? `shard ${shardLabel(o.shard)}: ` : "";
  const details = { runs: current.runs.length, differences: diffs.length, diffs: diffs.slice(0, 200), ...(o.shard ? { shard: o.shard } : {}) };
  if (diffs.length > 0)
    return { name, status: "fail", summary: `${part}${diffs.length} values differ from ${label}`, details, wallSec: wall(), report: diffTable(diffs) };
  return { name, status: "pass", summary: `${part}${current.runs.length} runs (workload x policy) identical to ${label}`, details, wallSec: wall(), report: [] };
}
