#!/usr/bin/env bun
/**
 * `bun run charts [file]`: the charts (PNG and SVG in results/charts/) and results/summary.md of
 * a results document (default results/latest.json). The document is validated first; a broken
 * one is reported with the field at fault and exit code 2.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { validateResults } from "../src/report/results-validate.ts";
import { writeReport } from "../src/report/write-report.ts";

const USAGE = `usage: bun run charts [file] [--out <dir>]
  file   a results document (default results/latest.json)
  --out  directory for charts/ and summary.md (default: the document's directory)`;
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (e) {
  console.error(`charts: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length > 1) {
  console.error(`charts: one results document at most, got ${positionals.length}\n${USAGE}`);
  process.exit(2);
}
const file = positionals[0] ?? "results/latest.json";
if (!existsSync(file)) {
  console.error(`charts: no such file: ${file} (run \`bun run benchmarks\` first)`);
  process.exit(2);
}
let doc;
try {
  doc = validateResults(JSON.parse(readFileSync(file, "utf8")));
} catch (e) {
  console.error(`charts: ${file} is not a valid results document: ${(e as Error).message}`);
  process.exit(2);
}
const outDir = values.out ?? dirname(file);
const { charts } = writeReport(doc, file, join(outDir, "charts"), join(outDir, "summary.md"));
console.log(`wrote ${charts.length} charts (PNG + SVG) to ${join(outDir, "charts")}/ and ${join(outDir, "summary.md")}`);
