#!/usr/bin/env bun
/**
 * `bun run merge-results A.json B.json ... --out merged.json`: joins the partial documents of a
 * sharded run (`--shard i/N`, one per shard, any order) into the document the unsharded run
 * writes. Two kinds, told apart by their schema:
 *   - results documents (`bun run benchmarks --shard`): src/report/results-merge.ts; draw the
 *     charts from the merged one with `bun run charts merged.json`;
 *   - figure data (`bun run figures --shard`): src/experiments/figures/data-doc.ts; render it
 *     with `bun run figures --data merged.json`.
 * Exit 0 merged, 2 bad input (a missing or duplicated shard, mixed runs, an unreadable file).
 */
import { parseArgs } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { FIGURE_DATA_SCHEMA, mergeFigureData, validateFigureData } from "../src/experiments/index.ts";
import { mergeResults } from "../src/report/results-merge.ts";
import { validateResults } from "../src/report/results-validate.ts";
import { RESULTS_SCHEMA } from "../src/report/results-schema.ts";

const USAGE = `usage: bun run merge-results <shard.json>... --out <merged.json>
  Joins the partial documents of \`bun run benchmarks --shard i/N\` (results) or of
  \`bun run figures --shard i/N\` (figure data), one per shard, into what the unsharded run writes.
  --out <file>   where to write the merged document (required)
  -h, --help     this text
exit code: 0 merged, 2 bad input (missing or duplicated shard, shards of different runs)`;

function usage(msg: string): never {
  console.error(`merge-results: ${msg}\n${USAGE}`);
  process.exit(2);
}
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { out: { type: "string" }, help: { type: "boolean", short: "h", default: false } } });
} catch (e) {
  usage((e as Error).message);
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const files = parsed.positionals;
if (files.length === 0) usage("no shard documents given");
if (!parsed.values.out) usage("--out <merged.json> is required");

try {
  const raw = files.map((name) => {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(name, "utf8"));
    } catch (e) {
      throw new Error(`${name}: cannot read it: ${(e as Error).message}`);
    }
    return { name, doc: doc as { schema?: unknown } };
  });
  const schemas = new Set(raw.map((r) => r.doc?.schema));
  if (schemas.size > 1) throw new Error(`the documents are of different kinds (${[...schemas].join(", ")}): merge results and figure data separately`);
  let merged: unknown;
  let what: string;
  if (raw[0]!.doc?.schema === RESULTS_SCHEMA) {
    const docs = raw.map(({ name, doc }) => {
      try {
        return { name, doc: validateResults(doc) };
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    });
    const m = mergeResults(docs);
    merged = m;
    what = `${m.macro.runs.length} runs, ${m.macro.skipped.length} skipped`;
  } else if (raw[0]!.doc?.schema === FIGURE_DATA_SCHEMA) {
    const m = mergeFigureData(raw.map(({ name, doc }) => ({ name, doc: validateFigureData(doc, name) })));
    merged = m;
    what = `${m.jobs.length} figure jobs`;
  } else throw new Error(`${raw[0]!.name}: neither a results document (${RESULTS_SCHEMA}) nor figure data (${FIGURE_DATA_SCHEMA})`);
  mkdirSync(dirname(parsed.values.out!), { recursive: true });
  writeFileSync(parsed.values.out!, `${JSON.stringify(merged, null, 1)}\n`);
  console.log(`merge-results: ${files.length} shards -> ${parsed.values.out} (${what})`);
} catch (e) {
  console.error(`merge-results: ${(e as Error).message}`);
  process.exit(2);
}
