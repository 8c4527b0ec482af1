/**
 * results/summary.md: the headline numbers of a results document (per workload and policy:
 * savings with and without zero pages, the oracle, efficiency, CoW breaks/s, throughput loss,
 * full-pass time, scanner pages/s; the micro-benchmark ratios) and the charts, embedded.
 * Plain text from the document alone: the same document gives the same file.
 */
import { securityMarkdown } from "./security-md.ts";
import { fullPassSec, matrixByWorkload, type NamedChart } from "./charts-from-results.ts";
import type { ResultsDocument } from "./results-schema.ts";

const f = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits));
const int = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : Math.round(v).toLocaleString("en-US"));
const GiB = 1024 ** 3;

/** A markdown table; columns from `firstNumeric` on are right-aligned. */
function table(head: string[], rows: string[][], firstNumeric = 1): string {
  const right = head.map((_, i) => i >= firstNumeric);
  return [
    `| ${head.join(" | ")} |`,
    `|${right.map((r) => (r ? "---:" : "---")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** `chartDir` is the charts' directory relative to the summary file (e.g. "charts"). */
export function summaryMarkdown(doc: ResultsDocument, charts: NamedChart[], chartDir: string, sourceFile: string): string {
  const m = doc.machine;
  const o = doc.options;
  const out: string[] = [];
  out.push(`# Benchmark summary`);
  out.push("");
  out.push(`From \`${sourceFile}\` (schema ${doc.schema}): commit \`${doc.commit}\`${doc.dirty ? " (with uncommitted changes)" : ""}, ${doc.date}, ` +
    `${m.cpu}, ${m.cores} cores, ${f(m.memoryBytes / GiB, 1)} GiB, Bun ${m.bun}. ` +
    `Options: ${o.quick ? "--quick " : ""}${o.full ? "--full " : ""}seed ${o.seed}, ${o.durationSec} s simulated per run` +
    `${o.guests !== null ? `, ${o.guests} guests` : ""}${o.guestMemBytes !== null ? ` x ${o.guestMemBytes / 2 ** 20} MiB` : ""}` +
    `${o.filter ? `, filter \`${o.filter}\`` : ""}. The whole command took ${f(doc.wallSec, 0)} s.`);
  if (doc.calibration) out.push("", `Cost model: calibration "${doc.calibration.name}" (\`${doc.calibration.path}\`).`);

  const matrix = matrixByWorkload(doc);
  if (matrix.size > 0) {
    out.push("", "## Macro runs (simulated; deterministic for a seed and calibration)", "");
    out.push("Savings are % of all guest memory in steady state (mean over the steady window); \"excl. zero\" leaves zero pages and their savings out. " +
      "Efficiency = savings / oracle at the end of the run. Scanner pages/s is wall-clock, the rest is simulated.");
    out.push("");
    const rows: string[][] = [];
    for (const [w, runs] of matrix) {
      for (const r of runs) {
        const s = r.summary;
        rows.push([w, r.policy, f(s.steadySavingsPct), f(s.steadySavingsExclZeroPct), f(s.oracleSavablePct), f(s.efficiency, 2), f(s.steadyCowBreaksPerSec),
          f(s.throughputLossPct, 2), f(fullPassSec(r), 2), int(r.measured.scannerPagesPerSec)]);
      }
    }
    out.push(table(["workload", "policy", "saved %", "saved % excl. zero", "oracle % (end of run)", "efficiency", "CoW breaks/s", "throughput loss %", "s per full pass", "scanner pages/s"], rows, 2));
  }
  // the sweep runs and the matrix run they extend (same workload and policy, other worker counts)
  const swept = doc.macro.runs.filter((r) => r.group === "worker-sweep");
  const sweep = doc.macro.runs.filter((r) => swept.some((x) => x.workload === r.workload && x.policy === r.policy)).sort((a, b) => a.workers - b.workers);
  if (sweep.length > 0) {
    out.push("", "### Worker sweep (wall-clock)", "");
    out.push(table(["run", "workers", "scanner pages/s", "batch p50 µs", "batch p99 µs", "wall s"],
      sweep.map((r) => [r.id, String(r.workers), int(r.measured.scannerPagesPerSec), f(r.measured.batchLatencyUs.p50), f(r.measured.batchLatencyUs.p99), f(r.measured.wallSec)])));
  }
  if (doc.macro.skipped.length > 0) {
    out.push("", "Runs not made:", "", ...doc.macro.skipped.map((s) => `- ${s.id}: ${s.reason}`));
  }

  out.push(...securityMarkdown(doc.security));

  out.push("", "## Micro-benchmarks (wall-clock, this machine)", "");
  const mr = doc.micro.machineRatio;
  if (mr)
    out.push(
      `Scanner (vmdedup full re-hash pass) at **${(mr.fraction * 100).toFixed(1)}%** of the sequential read bandwidth measured in the same run ` +
        `(${mr.scanPagesPerSec.toLocaleString("en-US")} vs ${mr.readPagesPerSec.toLocaleString("en-US")} pages/s, ${mr.readGBps} GB/s; gate floor ${mr.floor * 100}%).`,
      "",
    );
  if (doc.micro.ratios.length > 0) {
    out.push("Each ratio is a subject over the reference measured beside it in the same run (p50, per 4 KiB page).", "");
    out.push(table(["ratio", "subject ns", "reference ns", "ratio", "target"], doc.micro.ratios.map((r) =>
      [r.name, f(r.subjectNs, 0), f(r.referenceNs, 0), `${f(r.ratio, 2)}x`, r.target === null ? "" : `<= ${r.target}x ${r.meetsTarget ? "met" : "**missed**"}`])));
  } else out.push("No micro-benchmarks in this run.");
  if (doc.micro.skipped.length > 0) out.push("", "Not measured:", "", ...doc.micro.skipped.map((s) => `- ${s.name}: ${s.reason}`));

  if (charts.length > 0) {
    out.push("", "## Charts", "");
    for (const c of charts) out.push(`### ${c.spec.title ?? c.name}`, "", c.caption, "", `![${c.caption}](${chartDir}/${c.name}.png)`, "");
  }
  return out.join("\n").trimEnd() + "\n";
}
