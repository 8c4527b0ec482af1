#!/usr/bin/env bun
/**
 * `bun scripts/fit-table.ts`: the fit table of workloads/README.md ("Fitted to the captured
 * traces"): for kernel-build, web-server and database, each figure of its trace (guest view) beside
 * the model's at the trace's 3 x 256 MiB (src/sim/trace-fit.ts). Markdown on stdout; exit 1 when a
 * figure is outside its tolerance (workloads/fit.test.ts asserts the same).
 */
import { REPO_ROOT } from "../src/sim/index.ts";
import { fitRows } from "../src/sim/trace-fit.ts";
import { CANNED_WORKLOADS, FITTED_TRACES } from "../workloads/index.ts";

const f = (x: number) => x.toFixed(2);
let bad = 0;
console.log("| workload (trace) | figure | trace | model | allowed |");
console.log("|---|---|---|---|---|");
for (const { workload, trace, steadyFromSec } of FITTED_TRACES) {
  const { target, rows } = fitRows(CANNED_WORKLOADS.find((w) => w.name === workload)!, `${REPO_ROOT}/workloads/traces/${trace}.vmtrace`, { steadyFromSec });
  for (const r of rows) {
    if (!r.ok) bad++;
    const allowed = r.relative ? `±${r.tolerance * 100}%` : `±${r.tolerance} points`;
    const what = r.relative ? `${r.figure} (host ${f(target.churnHostPctPerSec)} x ${target.tcgSlowdown})` : r.figure;
    console.log(`| ${workload} (${trace}) | ${what} | ${f(r.trace)} | ${f(r.model)}${r.ok ? "" : " **MISS**"} | ${allowed} |`);
  }
}
process.exit(bad ? 1 : 0);
