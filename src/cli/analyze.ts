/**
 * `vmdedup analyze DUMP...|TRACE [--json] [--per-snapshot] [--format F] [--charts DIR]`: the sharing figures of
 * the last snapshot (every snapshot with --per-snapshot) as % of all guest pages; --json prints
 * them under the names of issue 11 at the top level, otherwise a small table. --charts DIR also
 * draws sharing potential vs guest count and churn over time (src/report/analysis-charts.ts).
 */
import { parseArgs } from "node:util";
import { analyzeDumps, analyzeTrace, detectFormat, type Analysis } from "../trace/index.ts";
import { UsageError } from "./args.ts";
import { parseFormat } from "./import.ts";

export const ANALYZE_FLAGS = {
  json: { type: "boolean" },
  "per-snapshot": { type: "boolean" },
  format: { type: "string" },
  charts: { type: "string" },
} as const;

const f1 = (x: number) => x.toFixed(1);

export function analysisTable(a: Analysis): string {
  const last = typeof a.snapshots === "number" ? a.snapshots : a.snapshots.length;
  const ppg = typeof a.pagesPerGuest === "number" ? `${a.pagesPerGuest} pages each` : `${a.pagesPerGuest.join("/")} pages`;
  const rows: [string, number][] = [
    ["zero (populated, all-zero)", a.zeroPct],
    ["unpopulated", a.unpopulatedPct],
    ["savable, zero pages merged", a.savablePct],
    ["savable excl. zero", a.savableExclZeroPct],
    ["  within each guest", a.withinGuestExclZeroPct],
    ["  across guests", a.acrossGuestsExclZeroPct],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    `${a.guests} guest${a.guests > 1 ? "s" : ""} (${a.guestNames.join(", ")}), ${ppg}; snapshot ${last} of ${last} at ${a.timeSec} s`,
    `${"".padEnd(w)}  % of all guest pages`,
    ...rows.map(([k, v]) => `${k.padEnd(w)}  ${f1(v).padStart(6)}`),
    `savable excl. zero by guest count: ${a.byGuestCount.map((b) => `${b.guests}: ${f1(b.savableExclZeroPct)}`).join("  ")}`,
    `non-zero contents by copies: ${a.copiesHistogram.slice(0, 8).map(([k, n]) => `${k}x ${n}`).join(", ")}${a.copiesHistogram.length > 8 ? `, ... up to ${a.copiesHistogram[a.copiesHistogram.length - 1]![0]}x` : ""}`,
  ];
  if (a.churn.length) lines.push(`churn, % of pages changed per s: ${a.churn.map((c) => `${c.fromSec}-${c.toSec} s: ${c.changedPctPerSec.toFixed(3)}`).join(", ")}`);
  if (Array.isArray(a.snapshots)) {
    lines.push("per snapshot:  t (s)   zero  unpop.  savable  excl. zero  within  across");
    for (const s of a.snapshots) lines.push(`${String(s.timeSec).padStart(20)}  ${[s.zeroPct, s.unpopulatedPct, s.savablePct, s.savableExclZeroPct, s.withinGuestExclZeroPct, s.acrossGuestsExclZeroPct].map((x, i) => f1(x).padStart([5, 6, 7, 10, 6, 6][i]!)).join("  ")}`);
  }
  return lines.join("\n");
}

export async function cmdAnalyze(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: ANALYZE_FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.charts === "") throw new UsageError("--charts needs a directory");
  if (positionals.length === 0) throw new UsageError("analyze needs dumps or one .vmtrace file: vmdedup analyze DUMP...|TRACE [--json]");
  const format = parseFormat(v.format);
  const perSnapshot = !!v["per-snapshot"];
  let a: Analysis;
  if (format === undefined && detectFormat(positionals[0]!) === "vmtrace") {
    if (positionals.length > 1) throw new UsageError("analyze takes one .vmtrace file, or dumps only");
    const { header: _h, ...rest } = analyzeTrace(positionals[0]!, { perSnapshot });
    a = rest;
  } else {
    a = analyzeDumps(positionals, { format, perSnapshot });
  }
  console.log(v.json ? JSON.stringify(a, null, 1) : analysisTable(a));
  if (v.charts !== undefined) {
    const { writeAnalysisCharts } = await import("../report/analysis-charts.ts"); // the native canvas only when asked for
    const files = writeAnalysisCharts(a, v.charts);
    (v.json ? console.error : console.log)(`charts: ${files.join(", ")} (and .svg)`);
  }
}
