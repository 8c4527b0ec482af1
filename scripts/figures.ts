#!/usr/bin/env bun
/**
 * `bun run figures`: the figures of a paper on hypervisor memory de-duplication, as PDF, SVG and
 * PNG in results/figures/, with results/figures/README.md (each figure's command, seed, setup and
 * the numbers behind it). What each figure shows: src/report/figures/; the runs behind them:
 * src/experiments/figures/.
 * The deterministic jobs run --jobs at once (src/experiments/job-pool.ts), figure 9's attacks and
 * host runs (the security matrix) in the same pool; figure 6 (wall-clock) is made after them,
 * alone, in this thread. `--shard i/N` makes every N-th job (figures 6 and 9 in shard 1) and
 * writes <out>/figure-data.json instead of figures; `bun run merge-results` joins the shards and
 * `--data merged.json` renders them: the same files as one unsharded run.
 * Progress on a terminal (stderr); quiet in CI or when stderr is not a terminal.
 */
import { parseArgs } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { $ } from "zx";
import { generateFigures, FIGURE_IDS } from "../src/report/figures/generate.ts";
import { writeFigures } from "../src/report/figures/write-figures.ts";
import { validateResults } from "../src/report/results-validate.ts";
import { CANNED, shippedTraceSpecs } from "../src/cli/workloads.ts";
import { mitigationFrom } from "../src/cli/args.ts";
import { mitigationFlags } from "../src/report/figures/generate.ts";
import { JOBS_HELP, PARALLEL_FLAGS, parseJobs, parseShardFlag, SHARD_HELP, parseParallelFlags } from "../src/cli/parallel-flags.ts";
import { checkFigureSaltGroups, figureShardDocument, FULL, QUICK, shardLabel, validateFigureData, withJobPool, type FigureDataDocument } from "../src/experiments/index.ts";

const USAGE = `usage: bun run figures [options]
  Makes the paper figures (1-9) into <out>/ as .pdf, .svg and .png, plus <out>/README.md.
  --from <results.json>  take figures 2, 4 and 7 from a results document's matrix runs
                         (bun run benchmarks); figures 1, 3 and 5 still run their own sweeps
  --out <dir>            output folder (default results/figures)
  --seed <n>             simulation seed (default 1)
  --quick                tiny sizes (a few seconds; for tests), not for a paper
  --only 1,3             make only these figures (others' files and README entries are kept)
  --mitigation <m>       side-channel mitigation of the simulation runs of figures 1-5 and 7
                         (off, salted, zero-only, vusion, fixed-latency; default off); figure 9
                         compares every mitigation whatever this says
  --salt-groups <g>      with --mitigation salted: N groups round-robin, or one group per guest
                         ("0,0,1,...", must cover every host the figures run)
${JOBS_HELP}
${SHARD_HELP.replace("partial document", "partial <out>/figure-data.json (no figures)")}
  --data <merged.json>   render from merged shards' figure data (seed, --quick, --only and --mitigation as recorded in it)
  -h, --help             this text
  Default sizes: 32 MiB guests; figure 1: 1-16 guests, 60 s; figures 2, 4, 5, 7: 16 guests, 90 s at
  pagesToScan 100 every 20 ms; figure 3: 4 guests, 60 s, pagesToScan 25-6400; figure 6: a 256 MiB
  image, 5 rounds. About 4-5 minutes on a 2-core machine. Figure 6 is wall-clock (machine-dependent);
  all others are deterministic for a seed: same command, byte-identical files.`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      from: { type: "string" },
      out: { type: "string", default: "results/figures" },
      seed: { type: "string", default: "1" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      mitigation: { type: "string" },
      "salt-groups": { type: "string" },
      data: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      ...PARALLEL_FLAGS,
    },
  }));
} catch (e) {
  console.error(`figures: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
const usage = (msg: string): never => {
  console.error(`figures: ${msg}\n${USAGE}`);
  process.exit(2);
};
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seed = Number(values.seed);
if (!/^\d+$/.test(values.seed!) || !Number.isSafeInteger(seed) || seed > 2 ** 31 - 1) usage(`--seed must be an integer from 0 to 2147483647, got "${values.seed}"`);
let only: number[] | undefined;
if (values.only !== undefined) {
  only = values.only.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const bad = only.filter((n) => !(FIGURE_IDS as readonly number[]).includes(n));
  if (only.length === 0 || bad.length > 0) usage(`--only takes figure numbers from 1 to ${FIGURE_IDS.length}, comma-separated, got "${values.only}"`);
}
let mitigation: ReturnType<typeof mitigationFrom> = {};
try {
  mitigation = mitigationFrom(values);
  checkFigureSaltGroups(values.quick ? QUICK : FULL, CANNED, new Set(only ?? FIGURE_IDS), mitigation, values.from !== undefined);
} catch (e) {
  usage((e as Error).message);
}
const { jobs, shard } = parseParallelFlags(values, usage);
if (shard && values.from !== undefined) usage(`--shard does not combine with --from (shard the benchmarks run instead, merge it, and give the merged document to --from)`);
if (values.data !== undefined && (shard || values.from !== undefined || values.only !== undefined || values.quick || values.seed !== "1" || values.mitigation !== undefined || values["salt-groups"] !== undefined))
  usage(`--data renders what the shards recorded (seed, --quick, --only, --mitigation): it does not combine with --shard, --from, --only, --quick, --seed, --mitigation or --salt-groups`);
let data: { doc: FigureDataDocument; file: string } | undefined;
if (values.data !== undefined) {
  try {
    data = { doc: validateFigureData(JSON.parse(readFileSync(values.data, "utf8")), values.data), file: values.data };
  } catch (e) {
    usage(`--data ${values.data}: ${(e as Error).message}`);
  }
}
let from: { doc: ReturnType<typeof validateResults>; file: string } | undefined;
if (values.from !== undefined) {
  try {
    from = { doc: validateResults(JSON.parse(readFileSync(values.from, "utf8"))), file: relative(process.cwd(), values.from) || values.from };
  } catch (e) {
    usage(`--from ${values.from}: ${(e as Error).message}`);
  }
}

// the command as recorded in the README: seed always explicit; --jobs and --shard change no figure, so they are left out
const command = data
  ? data.doc.command
  : ["bun run figures", `--seed ${seed}`, values.quick ? "--quick" : "", from ? `--from ${from.file}` : "", only ? `--only ${only.join(",")}` : "", mitigationFlags(mitigation).trim(),
      values.out !== "results/figures" && !shard ? `--out ${values.out}` : ""].filter(Boolean).join(" ");

const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
const progress = tty ? (line: string) => process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`) : () => {};
const started = performance.now();
if (shard) {
  const commit = (await $({ nothrow: true, quiet: true })`git rev-parse --short HEAD`).stdout.trim() || "nocommit";
  const cfg = values.quick ? QUICK : FULL;
  const doc = await withJobPool(jobs, (pool) =>
    figureShardDocument({ cfg, catalog: CANNED, traces: shippedTraceSpecs(), seed, only: new Set(only ?? FIGURE_IDS), progress, mitigation }, { shard: shard!, pool, commit, command }),
  );
  mkdirSync(values.out!, { recursive: true });
  const file = join(values.out!, "figure-data.json");
  writeFileSync(file, `${JSON.stringify(doc)}\n`);
  if (tty) process.stderr.write("\r\x1b[2K");
  console.log(`figures: shard ${shardLabel(shard)}: ${doc.jobs.length} of ${doc.listLength} jobs${doc.fig6 ? " and figure 6" : ""}${doc.fig9 ? " and figure 9's security matrix" : ""} -> ${file} (${((performance.now() - started) / 1000).toFixed(1)} s); join the shards with \`bun run merge-results\`, render with --data`);
  process.exit(0);
}
const gen = { seed: data?.doc.seed ?? seed, quick: data ? data.doc.config === "quick" : values.quick!, catalog: CANNED, traces: shippedTraceSpecs(), only: data?.doc.only ?? only, from, data, command, progress, mitigation: data ? (data.doc.mitigation ?? {}) : mitigation };
let result: Awaited<ReturnType<typeof generateFigures>>;
try {
  result = await withJobPool(jobs, (pool) => generateFigures({ ...gen, pool }));
} catch (e) {
  if (tty) process.stderr.write("\r\x1b[2K");
  console.error(`figures: ${(e as Error).message}`);
  process.exit(data ? 2 : 1);
}
const { records, simulations } = result;
progress("rendering figures");
const files = writeFigures(records, values.out!);
if (tty) process.stderr.write("\r\x1b[2K");
const wall = ((performance.now() - started) / 1000).toFixed(1);
console.log(`figures: ${records.map((r) => r.id).join(", ")} -> ${values.out}/ (${files.length} files, ${simulations} simulations, ${wall} s)`);
