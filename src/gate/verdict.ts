/**
 * The gate's verdict: one entry per tier, the JSON written by `--verdict <file>` / `--json`, and
 * the readable table. scripts/test.ts counts each tier as one test: "pass" and "skipped" do not
 * fail, anything else does. `couldNotRun` marks a tier that failed because it could not measure
 * or compare at all (no baseline, a crash): the gate then exits 2 instead of 1.
 */

export type TierStatus = "pass" | "fail" | "skipped";

export interface TierVerdict {
  name: string;
  status: TierStatus;
  /** One line: why it passed, failed or was skipped. */
  summary: string;
  couldNotRun?: boolean;
  wallSec: number;
  /** Tier-specific figures (see each tier's module). */
  details?: unknown;
  /** Readable lines (tables) printed under the tier's line. */
  report: string[];
}

export interface Verdict {
  schema: "vmdedup/gate@1";
  date: string;
  commit: string | null;
  machine: { cpu: string; cores: number; bun: string };
  options: Record<string, unknown>;
  tiers: TierVerdict[];
  /** 0 pass, 1 regression, 2 could not run. */
  exitCode: 0 | 1 | 2;
  wallSec: number;
}

export function exitCodeOf(tiers: readonly TierVerdict[]): 0 | 1 | 2 {
  if (tiers.some((t) => t.status === "fail" && t.couldNotRun)) return 2;
  if (tiers.some((t) => t.status === "fail")) return 1;
  return 0;
}

/** A plain-text table: columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const cells = [header.map(String), ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+(e[-+]?\d+)?[%x]?$|^[[(]/.test(String(r[c] ?? ""))));
  const line = (r: readonly string[]) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join("  ").trimEnd();
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
}

export function formatVerdict(v: Verdict): string {
  const out: string[] = [];
  const mark = { pass: "PASS", fail: "FAIL", skipped: "SKIP" } as const;
  for (const t of v.tiers) {
    out.push(`${mark[t.status]}  ${t.name} (${t.wallSec.toFixed(1)} s): ${t.summary}`);
    for (const l of t.report) out.push(`      ${l}`);
    out.push("");
  }
  const word = v.exitCode === 0 ? "passed" : v.exitCode === 1 ? "REGRESSION" : "COULD NOT RUN";
  out.push(`gate ${word} in ${v.wallSec.toFixed(1)} s (exit ${v.exitCode})`);
  return out.join("\n");
}
