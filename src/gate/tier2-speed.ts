/**
 * Gate tier 2, relative speed: the hot paths of one source tree ("head", normally the working
 * tree) against the same paths of another ("base", normally HEAD~1 in a temporary worktree).
 *
 * Algorithm.
 *  1. The harness hot-paths.ts (this folder) is copied into both trees at the same path, unless
 *     the tree already holds this exact file, so both codes are measured by the same harness.
 *  2. One untimed warm-up round (Bun's transpiler cache, page cache), then `rounds` rounds. A
 *     round spawns the two trees' harnesses one after the other as child processes, alternating
 *     which goes first (base-head, head-base, ...), so a slow-down that drifts over the run or
 *     favours the first/second slot hits both sides equally. Each child prints the fastest of its
 *     repetitions per path, in ns per page (see hot-paths.ts).
 *  3. Per path and round, the paired ratio head / base (> 1: head is slower), each side first
 *     divided by its own process's reference time (the harness times xxHash3 of L2-resident
 *     pages with no product code: processes on this shared host run tens of percent faster or
 *     slower than each other, and that would otherwise swamp a 10 % threshold). Per path, the
 *     median of the ratios and its order-statistic confidence interval (stats.ts).
 *  4. A path regresses only when the whole interval lies above 1 + threshold (default 1.10):
 *     noise widens the interval and cannot fail the gate by itself. Absolute ns are reported
 *     (median over rounds), never judged.
 * Outcomes: the base harness cannot run (the base lacks an API the harness needs): skipped, with
 * the harness's reason. The head harness cannot run: fail, could not run. Paths measured in only
 * one tree are listed and not judged.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { medianInterval, median } from "./stats.ts";
import type { TierVerdict } from "./verdict.ts";
import { table } from "./verdict.ts";
import { addWorktree, resolveBase } from "./worktree.ts";

export const HARNESS_PATH = "src/gate/hot-paths.ts";
const HARNESS_SOURCE = join(import.meta.dir, "hot-paths.ts");

export interface HarnessOutput {
  ok: boolean;
  reason?: string;
  nsPerPage?: Record<string, number>;
  medianNsPerPage?: Record<string, number>;
  /** The harness's product-independent reference (xxHash3 of L2-resident pages), ns per page. */
  referenceNsPerPage?: number;
  missing?: Record<string, string>;
  wallMs?: number;
}

export interface CompareOptions {
  baseDir: string;
  headDir: string;
  rounds?: number; // default 8
  reps?: number; // harness repetitions per path per process (default: the harness's)
  threshold?: number; // fractional slow-down tolerated, default 0.10
  level?: number; // confidence of the interval, default 0.9
  bun?: string; // default process.execPath
  labels?: { base: string; head: string };
  onRound?: (round: number, rounds: number) => void;
}

export interface PathResult {
  path: string;
  baseNs: number; // median over rounds of the per-process ns/page
  headNs: number;
  ratios: number[];
  median: number;
  lo: number;
  hi: number;
  coverage: number;
  regressed: boolean;
}

/** Copies the harness into `treeDir` (same relative path) unless it is this very file's content. */
export function installHarness(treeDir: string): string {
  const dest = join(treeDir, HARNESS_PATH);
  const src = readFileSync(HARNESS_SOURCE);
  if (!existsSync(dest) || !readFileSync(dest).equals(src)) {
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(HARNESS_SOURCE, dest);
  }
  return dest;
}

/** Runs one tree's harness as a child process; returns its JSON (or a failure with stderr). */
export async function runHarness(bun: string, treeDir: string, reps?: number, timeoutMs = 120_000): Promise<HarnessOutput> {
  const args = [bun, join(treeDir, HARNESS_PATH), ...(reps ? ["--reps", String(reps)] : [])];
  const p = Bun.spawn(args, { cwd: treeDir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const last = out.trim().split("\n").pop() ?? "";
  try {
    const j = JSON.parse(last) as HarnessOutput;
    if (typeof j.ok === "boolean") return j;
  } catch {
    /* fall through */
  }
  return { ok: false, reason: `harness exited ${code}${p.signalCode ? ` (${p.signalCode})` : ""}: ${(err.trim() || last).split("\n").slice(-3).join(" / ")}` };
}

const fmtNs = (ns: number) => (ns >= 100 ? ns.toFixed(0) : ns.toFixed(1));
const fmtR = (r: number) => r.toFixed(3);

/** head/base speed of the two processes of a round by the harness's reference (1 without one). */
function processSpeedRatio(x: { base: HarnessOutput; head: HarnessOutput }): number {
  const b = x.base.referenceNsPerPage;
  const h = x.head.referenceNsPerPage;
  return b !== undefined && h !== undefined && b > 0 && h > 0 ? h / b : 1;
}

/** Tier 2 over two given trees (the test drives this directly with a patched tree). */
export async function compareTrees(o: CompareOptions): Promise<TierVerdict> {
  const t0 = performance.now();
  const rounds = o.rounds ?? 8;
  const threshold = o.threshold ?? 0.1;
  const level = o.level ?? 0.9;
  const bun = o.bun ?? process.execPath;
  const labels = o.labels ?? { base: o.baseDir, head: o.headDir };
  const name = "tier 2: relative speed";
  const done = (v: Omit<TierVerdict, "name" | "wallSec">): TierVerdict => ({ name, wallSec: (performance.now() - t0) / 1000, ...v });
  installHarness(o.baseDir);
  installHarness(o.headDir);

  const runs: { base: HarnessOutput; head: HarnessOutput }[] = [];
  for (let r = -1; r < rounds; r++) {
    const headFirst = r >= 0 && r % 2 === 1;
    const first = await runHarness(bun, headFirst ? o.headDir : o.baseDir, o.reps);
    const second = await runHarness(bun, headFirst ? o.baseDir : o.headDir, o.reps);
    const pair = headFirst ? { head: first, base: second } : { base: first, head: second };
    if (!pair.head.ok)
      return done({ status: "fail", couldNotRun: true, summary: `the harness cannot run in ${labels.head}: ${pair.head.reason}`, report: [] });
    if (!pair.base.ok)
      return done({ status: "skipped", summary: `the harness cannot run in the base ${labels.base}: ${pair.base.reason}`, report: [] });
    if (r >= 0) runs.push(pair);
    o.onRound?.(r + 1, rounds);
  }

  const basePaths = Object.keys(runs[0]!.base.nsPerPage ?? {});
  const headPaths = Object.keys(runs[0]!.head.nsPerPage ?? {});
  const common = headPaths.filter((p) => basePaths.includes(p));
  const notJudged = [...new Set([...basePaths, ...headPaths])].filter((p) => !common.includes(p));
  const missingWhy = (p: string) => runs[0]!.base.missing?.[p] ?? runs[0]!.head.missing?.[p] ?? "not measured";
  if (common.length === 0)
    return done({ status: "skipped", summary: `no hot path can be measured in both trees (${notJudged.map((p) => `${p}: ${missingWhy(p)}`).join("; ") || "none"})`, report: [] });

  const results: PathResult[] = common.map((path) => {
    // Each process's times are divided by its own reference (how fast that process ran), so
    // the paired ratio compares the product's cost, not two processes' luck on a shared host.
    const ratios = runs.map((x) => x.head.nsPerPage![path]! / x.base.nsPerPage![path]! / processSpeedRatio(x));
    const ci = medianInterval(ratios, level);
    return {
      path,
      baseNs: median(runs.map((x) => x.base.nsPerPage![path]!)),
      headNs: median(runs.map((x) => x.head.nsPerPage![path]!)),
      ratios,
      median: ci.median,
      lo: ci.lo,
      hi: ci.hi,
      coverage: ci.coverage,
      regressed: ci.lo > 1 + threshold,
    };
  });
  const bad = results.filter((r) => r.regressed);
  const cov = Math.round(results[0]!.coverage * 1000) / 10;
  const report = table(
    ["hot path", "base ns/page", "head ns/page", "median head/base", `${cov}% CI`, "verdict"],
    results.map((r) => [r.path, fmtNs(r.baseNs), fmtNs(r.headNs), fmtR(r.median), `[${fmtR(r.lo)}, ${fmtR(r.hi)}]`, r.regressed ? `SLOWER (> ${fmtR(1 + threshold)})` : "ok"]),
  );
  report.push(`${rounds} interleaved rounds; base ${labels.base}, head ${labels.head}; ratios are per round, each side divided by its process's reference speed; fails when the whole CI is above ${fmtR(1 + threshold)}; ns/page are informative only`);
  for (const p of notJudged) report.push(`not judged: ${p} (${missingWhy(p)})`);
  const details = { rounds, threshold, level, base: labels.base, head: labels.head, paths: results, notJudged };
  if (bad.length > 0)
    return done({ status: "fail", summary: `${bad.map((r) => `${r.path} ${fmtR(r.median)}x [${fmtR(r.lo)}, ${fmtR(r.hi)}]`).join(", ")} slower than the base beyond ${Math.round(threshold * 100)}%`, details, report });
  const worst = results.reduce((a, b) => (b.median > a.median ? b : a));
  return done({ status: "pass", summary: `${results.length} hot paths within ${Math.round(threshold * 100)}% of the base (worst median ${worst.path} ${fmtR(worst.median)}x)`, details, report });
}

export interface SpeedTierOptions extends Omit<CompareOptions, "baseDir" | "headDir" | "labels"> {
  repo: string; // the working tree (head)
  base?: string; // revision, default HEAD~1
  /** The base was given explicitly (--base): a revision missing from a full history is then an
   * error ("could not run"), not a skip; no history at all is still a skip. */
  explicitBase?: boolean;
}

/** Tier 2 as the gate runs it: the working tree against `base` checked out in a temporary worktree. */
export async function runSpeedTier(o: SpeedTierOptions): Promise<TierVerdict> {
  const t0 = performance.now();
  const rev = o.base ?? "HEAD~1";
  const repo = resolve(o.repo);
  const b = resolveBase(repo, rev);
  if ("skip" in b) {
    const error = o.explicitBase && !b.noHistory;
    return { name: "tier 2: relative speed", status: error ? "fail" : "skipped", ...(error ? { couldNotRun: true } : {}), summary: b.skip, wallSec: (performance.now() - t0) / 1000, report: [] };
  }
  let wt;
  try {
    wt = addWorktree(repo, b.commit);
  } catch (e) {
    return { name: "tier 2: relative speed", status: "skipped", summary: (e as Error).message, wallSec: (performance.now() - t0) / 1000, report: [] };
  }
  try {
    const v = await compareTrees({ ...o, baseDir: wt.dir, headDir: repo, labels: { base: `${rev} (${b.commit.slice(0, 10)})`, head: "working tree" } });
    v.wallSec = (performance.now() - t0) / 1000;
    return v;
  } finally {
    wt.remove();
  }
}
