#!/usr/bin/env bun
/**
 * `bun run benchmarks`: the micro-benchmark suite (mitata, throw: true so a failing benchmark
 * fails the command). Each suite registers its benchmarks beside the reference it is judged
 * against, and names the subject/reference pairs whose ratio is the result (measured side by
 * side in one run, because this shared 2-core host is noisy).
 * Writes results/<date>-<short-commit>-micro.json and results/micro-latest.json.
 */
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { run } from "mitata";
import { $ } from "zx";
import { registerHypervisorBenchmarks, type RatioPair } from "../src/hypervisor/hypervisor.bench.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    filter: { type: "string" },
    out: { type: "string", default: "results" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`usage: bun run benchmarks [--quick] [--filter <regex>] [--out <dir>]
  --quick   smaller memory regions (for CI)
  --filter  run only benchmarks whose name matches
  --out     output directory (default results/)`);
  process.exit(0);
}

const scale = values.quick ? 0.25 : 1;
const pairs: RatioPair[] = [...registerHypervisorBenchmarks(scale)];
const quiet = !process.stdout.isTTY || process.env.CI === "true";
const result = await run({
  throw: true,
  filter: values.filter ? new RegExp(values.filter) : undefined,
  format: quiet ? "quiet" : "mitata",
});

const micro: Record<string, { avgNs: number; p50Ns: number; p99Ns: number; minNs: number; maxNs: number; samples: number }> = {};
for (const trial of result.benchmarks)
  for (const r of trial.runs)
    if (r.stats) micro[r.name] = { avgNs: r.stats.avg, p50Ns: r.stats.p50, p99Ns: r.stats.p99, minNs: r.stats.min, maxNs: r.stats.max, samples: r.stats.samples.length };

const ratios = pairs
  .filter((p) => micro[p.subject] && micro[p.reference])
  .map((p) => {
    const subjectNs = micro[p.subject]!.p50Ns / p.perPageDivisor;
    const referenceNs = micro[p.reference]!.p50Ns / p.perPageDivisor;
    const ratio = subjectNs / referenceNs;
    return { name: p.name, subjectNs, referenceNs, ratio, target: p.target ?? null, meetsTarget: p.target === undefined ? null : ratio <= p.target };
  });

const commit = (await $({ nothrow: true, quiet: true })`git rev-parse --short HEAD`).stdout.trim() || "nocommit";
const doc = {
  schema: "vmdedup-micro/1",
  date: new Date().toISOString(),
  commit,
  machine: { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, memoryBytes: os.totalmem(), bun: Bun.version },
  options: { quick: values.quick, filter: values.filter ?? null },
  micro,
  ratios,
};
mkdirSync(values.out!, { recursive: true });
const day = doc.date.slice(0, 10);
writeFileSync(`${values.out}/${day}-${commit}-micro.json`, JSON.stringify(doc, null, 2) + "\n");
writeFileSync(`${values.out}/micro-latest.json`, JSON.stringify(doc, null, 2) + "\n");
console.log("\nratios (p50, per page):");
for (const r of ratios)
  console.log(`  ${r.name.padEnd(44)} ${r.ratio.toFixed(2)}x  (${r.subjectNs.toFixed(0)} ns vs ${r.referenceNs.toFixed(0)} ns)${r.target ? `  target <= ${r.target}x: ${r.meetsTarget ? "met" : "MISSED"}` : ""}`);
console.log(`wrote ${values.out}/micro-latest.json`);
