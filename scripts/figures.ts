#!/usr/bin/env bun
/**
 * `bun run figures`: the figures of a paper on hypervisor memory de-duplication, as PDF, SVG and
 * PNG in results/figures/, with results/figures/README.md (each figure's command, seed, setup and
 * the numbers behind it). What each figure shows: src/report/figures/; the runs behind them:
 * src/experiments/figures/.
 * Progress on a terminal (stderr); quiet in CI or when stderr is not a terminal.
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { generateFigures, FIGURE_IDS } from "../src/report/figures/generate.ts";
import { writeFigures } from "../src/report/figures/write-figures.ts";
import { validateResults } from "../src/report/results-validate.ts";
import { CANNED } from "../src/cli/workloads.ts";
import { mitigationFrom } from "../src/cli/args.ts";
import { checkFigureSaltGroups, FULL, QUICK } from "../src/experiments/index.ts";
import { mitigationFlags } from "../src/report/figures/generate.ts";

const USAGE = `usage: bun run figures [options]
  Makes the paper figures (1-8) into <out>/ as .pdf, .svg and .png, plus <out>/README.md.
  --from <results.json>  take figures 2, 4 and 7 from a results document's matrix runs
                         (bun run benchmarks); figures 1, 3 and 5 still run their own sweeps
  --out <dir>            output folder (default results/figures)
  --seed <n>             simulation seed (default 1)
  --quick                tiny sizes (a few seconds; for tests), not for a paper
  --only 1,3             make only these figures (others' files and README entries are kept)
  --mitigation <m>       side-channel mitigation of the simulation runs of figures 1-5 and 7
                         (off, salted, zero-only, vusion, fixed-latency; default off); figure 8
                         compares every mitigation whatever this says
  --salt-groups <g>      with --mitigation salted: N groups round-robin, or one group per guest
                         ("0,0,1,...", must cover every host the figures run)
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
      help: { type: "boolean", short: "h", default: false },
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
  if (only.length === 0 || bad.length > 0) usage(`--only takes figure numbers from 1 to 8, comma-separated, got "${values.only}"`);
}
let mitigation: ReturnType<typeof mitigationFrom> = {};
try {
  mitigation = mitigationFrom(values);
  checkFigureSaltGroups(values.quick ? QUICK : FULL, CANNED, new Set(only ?? FIGURE_IDS), mitigation, values.from !== undefined);
} catch (e) {
  usage((e as Error).message);
}
let from: { doc: ReturnType<typeof validateResults>; file: string } | undefined;
if (values.from !== undefined) {
  try {
    from = { doc: validateResults(JSON.parse(readFileSync(values.from, "utf8"))), file: relative(process.cwd(), values.from) || values.from };
  } catch (e) {
    usage(`--from ${values.from}: ${(e as Error).message}`);
  }
}

// the command as recorded in the README: seed always explicit
const command = ["bun run figures", `--seed ${seed}`, values.quick ? "--quick" : "", from ? `--from ${from.file}` : "", only ? `--only ${only.join(",")}` : "", mitigationFlags(mitigation).trim(),
  values.out !== "results/figures" ? `--out ${values.out}` : ""].filter(Boolean).join(" ");

const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
const progress = tty ? (line: string) => process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`) : () => {};
const started = performance.now();
const { records, simulations } = await generateFigures({ seed, quick: values.quick!, catalog: CANNED, only, from, command, progress, mitigation });
progress("rendering figures");
const files = writeFigures(records, values.out!);
if (tty) process.stderr.write("\r\x1b[2K");
const wall = ((performance.now() - started) / 1000).toFixed(1);
console.log(`figures: ${records.map((r) => r.id).join(", ")} -> ${values.out}/ (${files.length} files, ${simulations} simulations, ${wall} s)`);
