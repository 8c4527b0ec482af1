#!/usr/bin/env bun
/**
 * The project's test command (`npm test`, which .ci/run calls unchanged):
 *   1. the unit and property tests (`bun test`), counted from bun's JUnit report;
 *   2. the CI performance gates, when scripts/gate.ts exists (each tier counts as one test).
 * Ends with the line `N passed, N failed` that CI reads. Exit code 1 when anything failed.
 */
import { $ } from "zx";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

$.verbose = true;
$.nothrow = true;

const dir = mkdtempSync(join(tmpdir(), "vmdedup-test-"));
const junit = join(dir, "junit.xml");
const bun = process.execPath; // the bun that runs this script (node_modules/.bin/bun under npm)

let passed = 0;
let failed = 0;
let skipped = 0;

// Bun 1.4.5 ignores a [test] timeout in bunfig.toml (checked: a 6 s test fails at the 5 s default), so the
// per-test bound goes on the command line: property tests and scanner passes stay far below it even on a busy host.
const TEST_TIMEOUT_MS = 60_000;
const unit = await $`${bun} test --timeout ${TEST_TIMEOUT_MS} --reporter=junit --reporter-outfile=${junit} ${process.argv.slice(2)}`;
if (existsSync(junit)) {
  const xml = readFileSync(junit, "utf8");
  // The root <testsuites> element carries the totals.
  const root = /<testsuites[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
  const tests = attr("tests");
  const failures = attr("failures") + attr("errors");
  const skips = attr("skipped");
  passed += tests - failures - skips;
  failed += failures;
  skipped += skips;
  if (unit.exitCode !== 0 && failures === 0) failed++; // the runner itself failed (e.g. a file did not load)
} else {
  console.error("bun test wrote no report");
  failed++;
}
rmSync(dir, { recursive: true, force: true });

if (existsSync("scripts/gate.ts") && !process.argv.includes("--unit-only")) {
  const verdictFile = join(tmpdir(), `vmdedup-gate-${process.pid}.json`);
  const gate = await $`${bun} scripts/gate.ts --ci --verdict ${verdictFile}`;
  if (existsSync(verdictFile)) {
    const verdict = JSON.parse(readFileSync(verdictFile, "utf8")) as { tiers: { name: string; status: string }[] };
    for (const t of verdict.tiers) {
      if (t.status === "pass") passed++;
      else if (t.status === "skipped") skipped++;
      else failed++;
    }
    rmSync(verdictFile, { force: true });
  } else {
    console.error(`gate produced no verdict (exit ${gate.exitCode})`);
    failed++;
  }
}

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
