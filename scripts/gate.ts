#!/usr/bin/env bun
/**
 * `bun run gate`: the CI performance gates, cheapest first (src/gate/):
 *   tier 1  exact: seeded simulations of every workload and shipped trace x policy equal to results/baseline.json;
 *   tier 2  relative speed: hot paths of the working tree vs a base commit (default HEAD~1) in a
 *           temporary git worktree, interleaved A/B rounds, median paired ratio with a CI;
 *   tier 3  ratio to the machine: scanner pages/s over the sequential read bandwidth, floor 25%.
 * Prints a table; `--verdict <file>` writes the JSON verdict, `--json` prints it on stdout (the
 * table then goes to stderr). Exit 0 pass, 1 regression, 2 could not run (or bad flags).
 * scripts/test.ts runs `gate.ts --ci --verdict <file>` and counts each tier as one test.
 * Tier 1's simulations run --jobs at once (src/experiments/job-pool.ts); tiers 2 and 3 measure
 * wall time, so they run after it, alone. `--shard i/N`: tier 1 checks every N-th run against
 * the baseline; tiers 2 and 3 run in shard 1 only (skipped elsewhere).
 */
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { runExactTier } from "../src/gate/tier1-exact.ts";
import { runSpeedTier } from "../src/gate/tier2-speed.ts";
import { runMachineTier } from "../src/gate/tier3-machine.ts";
import { exitCodeOf, formatVerdict, type TierVerdict, type Verdict } from "../src/gate/verdict.ts";
import { git } from "../src/gate/worktree.ts";
import { gateCatalog } from "../src/cli/workloads.ts";
import { runsWallClock, shardLabel, withJobPool } from "../src/experiments/index.ts";
import { JOBS_HELP, PARALLEL_FLAGS, parseJobs, parseShardFlag, SHARD_HELP, parseParallelFlags } from "../src/cli/parallel-flags.ts";

const USAGE = `usage: bun run gate [options]
  --ci                 CI mode: tiers 1, 2 (quick) and 3, no progress output
  --quick              tier 2 in quick mode (12 rounds; default 24)
  --update             rewrite results/baseline.json from this tree (tier 1 only); say why in the commit
  --tiers 1,2,3        tiers to run (default all)
  --base <rev>         tier 2's base commit (default HEAD~1)
  --rounds <n>         tier 2's interleaved rounds (overrides --quick)
  --threshold <pct>    tier 2: fail when the whole CI of head/base is above 1 + pct/100 (default 10)
  --floor <pct>        tier 3: minimum scanner pages/s as % of the read bandwidth (default 25)
  --baseline <file>    tier 1's baseline (default results/baseline.json)
  --verdict <file>     write the JSON verdict to <file>
  --json               print the JSON verdict on stdout (the table goes to stderr)
${JOBS_HELP} (tier 1)
${SHARD_HELP}
                      (tier 1 checks its runs; tiers 2 and 3 run in shard 1 only)
exit code: 0 pass, 1 regression, 2 could not run`;

function parse() {
  try {
    return parseArgs({
      options: {
        ci: { type: "boolean", default: false },
        quick: { type: "boolean", default: false },
        update: { type: "boolean", default: false },
        tiers: { type: "string", default: "1,2,3" },
        base: { type: "string", default: "HEAD~1" },
        rounds: { type: "string" },
        threshold: { type: "string", default: "10" },
        floor: { type: "string", default: "25" },
        baseline: { type: "string", default: "results/baseline.json" },
        verdict: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        ...PARALLEL_FLAGS,
      },
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
}
function usage(msg: string): never {
  console.error(`gate: ${msg}\n${USAGE}`);
  process.exit(2);
}

const values = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const tiers = new Set(values.tiers!.split(",").map((s) => s.trim()).filter(Boolean));
for (const t of tiers) if (!["1", "2", "3"].includes(t)) usage(`--tiers: unknown tier "${t}" (1, 2 or 3)`);
const quick = values.quick || values.ci;
const rounds = values.rounds !== undefined ? Number(values.rounds) : quick ? 12 : 24;
if (!Number.isInteger(rounds) || rounds < 3 || rounds > 500) usage(`--rounds must be an integer from 3 to 500, got "${values.rounds}"`);
const threshold = Number(values.threshold) / 100;
if (!(threshold >= 0 && threshold < 10)) usage(`--threshold must be a percentage from 0 to 1000, got "${values.threshold}"`);
const floor = Number(values.floor) / 100;
if (!(floor >= 0 && floor <= 1)) usage(`--floor must be a percentage from 0 to 100, got "${values.floor}"`);
if (values.update && (values.ci || values.json)) usage(`--update rewrites the baseline; it does not combine with --ci or --json`);
const { jobs, shard } = parseParallelFlags(values, usage);
if (values.update && shard) usage(`--update rewrites the whole baseline; it does not combine with --shard`);

const repo = resolve(import.meta.dir, "..");
const out = values.json ? console.error : console.log;
const tty = process.stderr.isTTY && process.env.CI !== "true" && !values.ci;
const progress = (s: string) => tty && process.stderr.write(`\r\x1b[2K${s}`);
const clear = () => tty && process.stderr.write(`\r\x1b[2K`);
const started = performance.now();
const results: TierVerdict[] = [];

if (values.update) {
  const v = await withJobPool(jobs, (pool) =>
    runExactTier({ baselinePath: resolve(repo, values.baseline!), label: values.baseline, catalog: gateCatalog(), update: true, pool, onRun: (n) => progress(`tier 1: ${n}`) }),
  );
  clear();
  out(`${v.status === "pass" ? "" : "FAILED: "}${v.summary}`);
  process.exit(v.status === "pass" ? 0 : 2);
}

async function guarded(name: string, f: () => Promise<TierVerdict>): Promise<TierVerdict> {
  const t0 = performance.now();
  try {
    return await f();
  } catch (e) {
    return { name, status: "fail", couldNotRun: true, summary: `crashed: ${(e as Error).stack ?? e}`, wallSec: (performance.now() - t0) / 1000, report: [] };
  }
}

if (tiers.has("1"))
  results.push(
    await guarded("tier 1: exact", () =>
      withJobPool(jobs, (pool) =>
        runExactTier({ baselinePath: resolve(repo, values.baseline!), label: values.baseline, catalog: gateCatalog(), pool, shard, onRun: (n) => progress(`tier 1: ${n}`) }),
      ),
    ),
  );
const notHere = (name: string): TierVerdict => ({ name, status: "skipped", summary: `wall-clock: runs in shard 1 only (this is shard ${shardLabel(shard!)})`, wallSec: 0, report: [] });
if (!runsWallClock(shard)) {
  if (tiers.has("2")) results.push(notHere("tier 2: relative speed"));
  if (tiers.has("3")) results.push(notHere("tier 3: ratio to the machine"));
  tiers.delete("2");
  tiers.delete("3");
}
if (tiers.has("2"))
  results.push(
    await guarded("tier 2: relative speed", () =>
      runSpeedTier({ repo, base: values.base, explicitBase: process.argv.some((x) => x === "--base" || x.startsWith("--base=")), rounds, threshold, reps: quick ? undefined : 21, onRound: (r, n) => progress(`tier 2: round ${r}/${n}`) }),
    ),
  );
if (tiers.has("3")) {
  progress("tier 3: measuring");
  results.push(await guarded("tier 3: ratio to the machine", () => runMachineTier({ floor })));
}
clear();

const commit = git(repo, "rev-parse", "--short", "HEAD");
const verdict: Verdict = {
  schema: "vmdedup/gate@1",
  date: new Date().toISOString(),
  commit: commit.ok ? commit.out : null,
  machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, bun: Bun.version },
  options: { ci: values.ci, quick, tiers: [...new Set(values.tiers!.split(",").map((x) => x.trim()).filter(Boolean))], jobs, ...(shard ? { shard } : {}), base: values.base, rounds, threshold, floor, baseline: values.baseline },
  tiers: results,
  exitCode: exitCodeOf(results),
  wallSec: Math.round((performance.now() - started) / 100) / 10,
};
out(formatVerdict(verdict));
const json = JSON.stringify(verdict, null, 2);
if (values.verdict) writeFileSync(values.verdict, `${json}\n`);
if (values.json) console.log(json);
process.exit(verdict.exitCode);
