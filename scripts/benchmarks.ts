#!/usr/bin/env bun
/**
 * `bun run benchmarks`: the project's benchmark suite, one results document, charts and summary.
 *   1. micro-benchmarks (mitata, throw: true so a failing benchmark fails the command): the
 *      hypervisor's paging paths, the scanners' page primitives and hash index, one scanner batch
 *      per policy; each beside the reference it is judged against, measured in the same run; the
 *      dump readers beside a sequential read of the same file (src/trace/readers.bench.ts);
 *   2. macro runs through the simulation driver: every workload x every policy (none as the
 *      baseline) and a worker sweep of the fastest policy (src/experiments/macro-suite.ts);
 *   then the security matrix and density (guests per host by policy, web-server and kernel-build);
 *   3. results/<date>-<short-commit>.json and results/latest.json (schema: results/SCHEMA.md,
 *      validated before writing), then results/charts/*.png|svg and results/summary.md.
 * The matrix, the security matrix and density run --jobs simulations side by side, all queued
 * at once in one pool (src/experiments/job-pool.ts); the wall-clock parts (micro-benchmarks, the
 * read-bandwidth ratio, the worker sweep) run alone, before and after them. `--shard i/N` makes
 * one shard's part and writes only its partial document (no charts); `bun run merge-results`
 * joins the shards into the document an unsharded run writes.
 * Progress on a terminal; finished runs as plain lines when stdout is not a TTY; quiet when CI=true.
 */
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { run } from "mitata";
import { $ } from "zx";
import { registerHypervisorBenchmarks } from "../src/hypervisor/hypervisor.bench.ts";
import { registerPageBenchmarks, type BenchPair } from "../src/dedup/hash.bench.ts";
import { registerScannerBenchmarks } from "../src/dedup/scanner.bench.ts";
import { benchReaders, readerMicro } from "../src/trace/readers.bench.ts";
import { POLICIES, type Policy } from "../src/dedup/index.ts";
import { CANNED } from "../src/cli/workloads.ts";
import { DEDUP_POLICIES, densitySection, JobError, runMacroSuite, runSecurityMatrix, runsWallClock, shardLabel, withJobPool, type JobPool } from "../src/experiments/index.ts";
import { JOBS_HELP, jobProgress, PARALLEL_FLAGS, parseJobs, parseShardFlag, SHARD_HELP, parseParallelFlags } from "../src/cli/parallel-flags.ts";
import { RESULTS_SCHEMA, type MicroBenchmark, type ResultsDocument } from "../src/report/results-schema.ts";
import { validateResults } from "../src/report/results-validate.ts";
import { writeReport } from "../src/report/write-report.ts";
import { MACHINE_RATIO_FLOOR, measureMachineRatio } from "../src/gate/tier3-machine.ts";
import { mitigationFrom } from "../src/cli/args.ts";
import { checkSaltCoverage, resolveMitigation } from "../src/dedup/index.ts";
import { resolveSpec } from "../src/sim/index.ts";

const USAGE = `usage: bun run benchmarks [options]
  --quick             small sizes, short runs: 2 guests x 64 MiB, 20 s simulated per run; under 60 s (for CI)
  --full              large sizes: 4 guests x 1 GiB (4 GiB per workload), automatic duration (>= 6 full passes)
                      default (neither): 4 guests x 128 MiB, 60 s simulated per run; about 2 minutes
  --filter <regex>    only micro-benchmarks and macro runs ("workload/policy/w<workers>") that match
  --workloads a,b     workloads of the macro runs (default: all canned: ${CANNED.names().join(", ")})
  --policies a,b      policies of the macro runs (default: ${POLICIES.join(", ")}; none is always run as the baseline)
  --workers 0,1,2     worker counts of the worker sweep (default 0,1,2)
  --seed <n>          simulation seed (default 1)
  --only micro|macro  run one part only (macro: the simulations alone, no micro-benchmarks or bandwidth ratio)
${JOBS_HELP}
${SHARD_HELP}
  --out <dir>         output directory (default results/)
  --mitigation <m>    side-channel mitigation of the macro runs: off, salted, zero-only, vusion, fixed-latency
                      (default off); the security matrix compares every mitigation whatever this says
  --salt-groups <g>   with --mitigation salted: N groups round-robin, or one group per guest ("0,0,1,...")`;

const usage = (msg: string): never => {
  console.error(`benchmarks: ${msg}\n${USAGE}`);
  process.exit(2);
};
function parse() {
  try {
    return parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        full: { type: "boolean", default: false },
        filter: { type: "string" },
        workloads: { type: "string" },
        policies: { type: "string" },
        workers: { type: "string", default: "0,1,2" },
        seed: { type: "string", default: "1" },
        only: { type: "string" },
        out: { type: "string", default: "results" },
        mitigation: { type: "string" },
        "salt-groups": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
        ...PARALLEL_FLAGS,
      },
    });
  } catch (e) {
    return usage((e as Error).message);
  }
}
const { values } = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const list = (s: string | undefined) => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean);
const workloads = values.workloads ? list(values.workloads) : CANNED.names();
for (const w of workloads) if (!CANNED.names().includes(w)) usage(`unknown workload "${w}" (known: ${CANNED.names().join(", ")})`);
const policies = (values.policies ? list(values.policies) : [...POLICIES]) as Policy[];
for (const p of policies) if (!POLICIES.includes(p)) usage(`unknown policy "${p}" (known: ${POLICIES.join(", ")})`);
const workers = list(values.workers).map(Number);
if (workers.some((w) => !Number.isInteger(w) || w < 0 || w > 64)) usage(`--workers must be integers from 0 to 64, got "${values.workers}"`);
const seed = Number(values.seed);
if (!/^\d+$/.test(values.seed!) || !Number.isInteger(seed) || seed > 2 ** 31 - 1) usage(`--seed must be an integer from 0 to 2147483647, got "${values.seed}"`);
if (values.only && values.only !== "micro" && values.only !== "macro") usage(`--only must be micro or macro`);
if (values.quick && values.full) usage(`--quick and --full exclude each other`);
let filter: RegExp | undefined;
try {
  filter = values.filter ? new RegExp(values.filter) : undefined;
} catch (e) {
  usage(`--filter: ${(e as Error).message}`);
}
const { jobs, shard } = parseParallelFlags(values, usage);
const wallClockHere = runsWallClock(shard);

const quiet = !process.stdout.isTTY || process.env.CI === "true";
const say = (s: string) => quiet || console.log(s);
const started = performance.now();
const date = new Date().toISOString();

// ---- sizes ------------------------------------------------------------------------------------
const MiB = 2 ** 20;
const size = values.quick
  ? { microScale: 0.25, guests: 2, guestMemBytes: 64 * MiB, durationSec: 20 }
  : values.full
    ? { microScale: 2, guests: 4, guestMemBytes: 1024 * MiB, durationSec: undefined }
    : { microScale: 1, guests: 4, guestMemBytes: 128 * MiB, durationSec: 60 };

// ---- --mitigation / --salt-groups: checked as `vmdedup run` checks them, before anything runs
let mitigation: ReturnType<typeof mitigationFrom> = {};
try {
  mitigation = mitigationFrom(values);
  const resolved = resolveMitigation(mitigation.mitigation === undefined ? undefined : { kind: mitigation.mitigation, saltGroups: mitigation.saltGroups });
  for (const w of workloads) checkSaltCoverage(resolved, resolveSpec(CANNED.get(w), { guests: size.guests }).totalGuests);
} catch (e) {
  usage((e as Error).message);
}

// ---- micro ------------------------------------------------------------------------------------
const micro: ResultsDocument["micro"] = { benchmarks: [], ratios: [], skipped: [], machineRatio: null };
if (values.only !== "macro" && wallClockHere) {
  say("micro-benchmarks (mitata; p50 per call)");
  const pairs: BenchPair[] = [...registerHypervisorBenchmarks(size.microScale)];
  const pages = await registerPageBenchmarks(size.microScale);
  const scanners = await registerScannerBenchmarks(size.microScale, policies);
  pairs.push(...pages.pairs, ...scanners.pairs);
  micro.skipped.push(...pages.skipped, ...scanners.skipped);
  const result = await run({ throw: true, filter, format: quiet ? "quiet" : "mitata" });
  for (const trial of result.benchmarks) {
    for (const r of trial.runs) {
      if (!r.stats) continue;
      const s = r.stats;
      const b: MicroBenchmark = { name: r.name, group: trial.alias, avgNs: s.avg, minNs: s.min, p25Ns: s.p25, p50Ns: s.p50, p75Ns: s.p75, p99Ns: s.p99, maxNs: s.max, samples: s.samples.length };
      micro.benchmarks.push(b);
    }
  }
  const byName = new Map(micro.benchmarks.map((b) => [b.name, b]));
  for (const p of pairs) {
    const subject = byName.get(p.subject);
    const reference = byName.get(p.reference);
    if (!subject || !reference) continue;
    const subjectNs = subject.p50Ns / p.perPageDivisor;
    const referenceNs = reference.p50Ns / (p.referenceDivisor ?? p.perPageDivisor);
    const ratio = subjectNs / referenceNs;
    micro.ratios.push({ name: p.name, subject: p.subject, reference: p.reference, subjectNs, referenceNs, ratio, target: p.target ?? null, meetsTarget: p.target === undefined ? null : ratio <= p.target });
  }
}

// ---- scanner speed as a fraction of the machine's read bandwidth (the gate's tier 3) -----------
if (values.only !== "macro" && wallClockHere) {
  say("\nscanner vs read bandwidth (same run)");
  const m = await measureMachineRatio(values.quick ? 3 : 7);
  micro.machineRatio = {
    pages: m.pages, readPagesPerSec: Math.round(m.readPagesPerSec), readGBps: m.readGBps,
    scanPagesPerSec: Math.round(m.scanPagesPerSec), fraction: Math.round(m.fraction * 1e4) / 1e4, floor: MACHINE_RATIO_FLOOR,
  };
}

// ---- dump readers beside a sequential read of the same file (src/trace/readers.bench.ts) --------
if (values.only !== "macro" && (!filter || filter.test("trace/"))) {
  say("\ndump readers vs sequential read (same run)");
  const r = readerMicro(await benchReaders({ mib: values.quick ? 16 : 64, trials: 5, candidates: false }));
  micro.benchmarks.push(...r.benchmarks);
  micro.ratios.push(...r.ratios);
}

// ---- macro, security, density: the simulations, in one job pool -----------------------------------
// --jobs 1: one after another, in this order (the matrix, the worker sweep, the security matrix,
// density). --jobs N > 1: the matrix, the security matrix and density all queued at once in one
// pool (no wave waits for the one before it; the pool hands out the longest first and density's
// search chains before everything else), then the worker sweep alone, after all of it.
let macro: ResultsDocument["macro"] = { runs: [], skipped: [] };
let calibration: ResultsDocument["calibration"] = null;
let shardInfo: ResultsDocument["shard"];
let security: ResultsDocument["security"];
let density: ResultsDocument["density"];
if (shard) shardInfo = { ...shard, listLength: 0, runPositions: [], skippedPositions: [], wallClock: wallClockHere };
// security and density are deterministic, but one block each: made in shard 1 only (merge-results takes them from there)
const wantSecurity = values.only !== "micro" && wallClockHere && (values.filter === undefined || /security/.test(values.filter));
const densityWorkloads = ["web-server", "kernel-build"].filter((w) => workloads.includes(w));
const wantDensity = values.only !== "micro" && wallClockHere && (values.filter === undefined || /density/.test(values.filter)) && densityWorkloads.length > 0;
const densityGrid = values.quick
  ? { guestMemBytes: 4 * MiB, hostMemBytes: 5 * MiB, maxGuests: 7, durationSec: 20 }
  : { guestMemBytes: 8 * MiB, hostMemBytes: 16 * MiB, maxGuests: 14, durationSec: 40 };
const securityPart = (pool: JobPool) => {
  say(`\nsecurity matrix (attack + covert channel per policy x mitigation)`);
  return runSecurityMatrix({
    workloads: values.quick ? ["web-server"] : ["web-server", "idle"], catalog: CANNED, policies: [...DEDUP_POLICIES], trials: values.quick ? 64 : 200,
    seed, guests: values.quick ? 2 : 4, guestMemBytes: (values.quick ? 16 : 32) * MiB, durationSec: 40,
  }, undefined, pool);
};
const densityPart = (pool: JobPool) => {
  const g = densityGrid;
  say(`\ndensity (${densityWorkloads.join(", ")}: guests x ${g.guestMemBytes / MiB} MiB on a ${g.hostMemBytes / MiB} MiB host, loss < 5%)`);
  return densitySection(densityWorkloads.map((w) => CANNED.get(w)), { ...g, maxLossPct: 5, seed }, POLICIES, pool);
};
await withJobPool(jobs, async (pool) => {
  const overlap = jobs > 1;
  let securityP: Promise<NonNullable<typeof security>> | undefined;
  let densityP: Promise<NonNullable<typeof density>> | undefined;
  if (overlap) {
    securityP = wantSecurity ? securityPart(pool) : undefined;
    densityP = wantDensity ? densityPart(pool) : undefined;
    for (const p of [securityP, densityP]) p?.catch(() => {}); // awaited below
  }
  if (values.only !== "micro") {
    say(`\nmacro runs (${workloads.length} workloads x ${policies.length} policies, ${size.guests} guests x ${size.guestMemBytes / MiB} MiB each, seed ${seed}, ${jobs} at once${shard ? `, shard ${shardLabel(shard)}` : ""})`);
    const outcome = await runMacroSuite(
      { workloads, catalog: CANNED, policies, sweepWorkers: workers, seed, durationSec: size.durationSec, guests: size.guests, guestMemBytes: size.guestMemBytes, filter, ...mitigation },
      jobProgress(process.stdout, process.env.CI === "true"),
      { pool, shard, ...(overlap ? { alongside: Promise.all([securityP, densityP]) } : {}) },
    );
    macro = { runs: outcome.runs, skipped: outcome.skipped };
    calibration = outcome.calibration;
    if (shard) shardInfo = { ...shard, listLength: outcome.listLength, runPositions: outcome.runPositions, skippedPositions: outcome.skippedPositions, wallClock: wallClockHere };
  }
  security = await (securityP ?? (wantSecurity ? securityPart(pool) : undefined));
  density = await (densityP ?? (wantDensity ? densityPart(pool) : undefined));
}).catch((e: unknown) => {
  // a simulation failed (JobError names the run); the pool's workers are already terminated
  if (!(e instanceof JobError)) throw e;
  console.error(`\nbenchmarks: a simulation failed: ${e.message}`);
  process.exit(1);
});

// ---- the document -----------------------------------------------------------------------------
const git = $({ nothrow: true, quiet: true });
const commit = (await git`git rev-parse --short HEAD`).stdout.trim() || "nocommit";
const dirty = (await git`git status --porcelain --untracked-files=no`).stdout.trim().length > 0;
const doc: ResultsDocument = validateResults({
  schema: RESULTS_SCHEMA,
  commit,
  dirty,
  date,
  wallSec: Math.round((performance.now() - started) / 100) / 10,
  machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, memoryBytes: os.totalmem(), bun: Bun.version, platform: process.platform, arch: process.arch },
  options: {
    quick: values.quick!,
    full: values.full!,
    filter: values.filter ?? null,
    workloads,
    policies,
    workers,
    seed,
    durationSec: size.durationSec ?? 0,
    guests: size.guests,
    guestMemBytes: size.guestMemBytes,
    ...(mitigation.mitigation !== undefined ? { mitigation: { kind: mitigation.mitigation, saltGroups: mitigation.saltGroups ?? null } } : {}),
  },
  calibration,
  micro,
  macro,
  ...(security ? { security } : {}),
  ...(density ? { density } : {}),
  ...(shardInfo ? { shard: shardInfo } : {}),
} satisfies ResultsDocument);

const out = values.out!;
mkdirSync(out, { recursive: true });
const json = JSON.stringify(doc, null, 1) + "\n";
const dated = join(out, `${date.slice(0, 10)}-${commit}.json`);
writeFileSync(dated, json);
writeFileSync(join(out, "latest.json"), json);
if (shard) {
  console.log(`shard ${shardLabel(shard)}: ${macro.runs.length} runs, ${macro.skipped.length} skipped${wallClockHere ? ", micro-benchmarks and the worker sweep" : ""} -> ${join(out, "latest.json")} (${doc.wallSec} s); join the shards with \`bun run merge-results\``);
  process.exit(0);
}
const report = writeReport(doc, dated, join(out, "charts"), join(out, "summary.md"));

// ---- headline ---------------------------------------------------------------------------------
if (micro.ratios.length > 0) {
  console.log("\nratios (p50, per page):");
  for (const r of micro.ratios)
    console.log(`  ${r.name.padEnd(52)} ${r.ratio.toFixed(2).padStart(6)}x  (${r.subjectNs.toFixed(0)} ns vs ${r.referenceNs.toFixed(0)} ns)${r.target !== null ? `  target <= ${r.target}x: ${r.meetsTarget ? "met" : "MISSED"}` : ""}`);
}
if (micro.machineRatio)
  console.log(`\nscanner at ${(micro.machineRatio.fraction * 100).toFixed(1)}% of the sequential read bandwidth (${micro.machineRatio.scanPagesPerSec} vs ${micro.machineRatio.readPagesPerSec} pages/s; gate floor ${micro.machineRatio.floor * 100}%)`);
if (macro.runs.length > 0) {
  console.log("\nmacro (steady state): saved % | excl. zero | oracle % | CoW/s | throughput loss %");
  for (const r of macro.runs)
    console.log(`  ${r.id.padEnd(28)} ${r.summary.steadySavingsPct.toFixed(1).padStart(6)} ${r.summary.steadySavingsExclZeroPct.toFixed(1).padStart(6)} ${r.summary.oracleSavablePct.toFixed(1).padStart(6)} ${r.summary.steadyCowBreaksPerSec.toFixed(1).padStart(8)} ${r.summary.throughputLossPct === null ? "     –" : r.summary.throughputLossPct.toFixed(2).padStart(6)}`);
}
for (const s of [...micro.skipped.map((x) => x.name + ": " + x.reason), ...macro.skipped.map((x) => x.id + ": " + x.reason)]) console.log(`  skipped ${s}`);
console.log(`\nwrote ${dated}, ${join(out, "latest.json")}, ${report.charts.length} charts in ${join(out, "charts")}/, ${join(out, "summary.md")} (${doc.wallSec} s)`);
