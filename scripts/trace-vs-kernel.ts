#!/usr/bin/env bun
/**
 * `bun scripts/trace-vs-kernel.ts [--out DIR] [TRACE...]`: each shipped trace (default: all) replayed
 * under ksm at the capture's KSM settings and ksmd's nice, beside the host kernel's pages_sharing
 * recorded during the capture (src/experiments/trace-vs-kernel.ts). Writes DIR/trace-vs-kernel-<t>.png
 * and .svg (default results/charts) and DIR/trace-vs-kernel.json (the curves and the gaps), prints
 * one line per trace. About 5 s per trace on this machine class.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { shippedTraces, traceWorkloadFromArg } from "../src/cli/workloads.ts";
import { traceVsKernel } from "../src/experiments/trace-vs-kernel.ts";
import { renderPng, renderSvg } from "../src/report/index.ts";
import { traceVsKernelChart } from "../src/report/trace-vs-kernel-chart.ts";

const { values, positionals } = parseArgs({ options: { out: { type: "string", default: "results/charts" } }, allowPositionals: true });
const dir = resolve(values.out!);
const names = positionals.length ? positionals : shippedTraces();
for (const n of names) if (!shippedTraces().includes(n)) {
  console.error(`trace-vs-kernel: no shipped trace "${n}" (shipped: ${shippedTraces().join(", ")})`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const out: Record<string, unknown> = {};
for (const n of names) {
  const r = await traceVsKernel(traceWorkloadFromArg(n));
  const spec = traceVsKernelChart({ ...r, name: `${n}.vmtrace` });
  writeFileSync(join(dir, `trace-vs-kernel-${n}.png`), renderPng(spec));
  writeFileSync(join(dir, `trace-vs-kernel-${n}.svg`), renderSvg(spec));
  out[n] = r;
  const k = r.kernel[r.kernel.length - 1]!;
  console.log(
    `${n}: kernel pages_sharing ${k.pages} at ${k.tSec.toFixed(1)} s, replay ${k.pages + r.finalGapPages} (gap ${r.finalGapPages >= 0 ? "+" : ""}${r.finalGapPages}, ${r.finalGapPct.toFixed(1)}%), ` +
      `oracle ${r.oracle[r.oracle.length - 1]!.pages}; mean |gap| ${Math.round(r.meanAbsGapPages)} pages, from ${r.steadyFromSec} s ${r.steadyMeanAbsGapPct.toFixed(2)}%; peak +${r.peakGapPages} at ${r.peakGapAtSec.toFixed(1)} s; 90% of the kernel's final at ${r.kernelT90Sec ?? "-"} s (kernel) / ${r.replayT90Sec ?? "-"} s (replay); ` +
      `scanner CPU ${r.kernelCpuSec ?? "?"} s (ksmd, whole capture) / ${r.replayCpuSec.toFixed(2)} s (replay) -> ${join(values.out!, `trace-vs-kernel-${n}.png`)}`,
  );
}
writeFileSync(join(dir, "trace-vs-kernel.json"), `${JSON.stringify({ schema: "vmdedup/trace-vs-kernel@1", traces: out }, null, 1)}\n`);
