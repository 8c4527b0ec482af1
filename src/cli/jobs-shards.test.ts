/**
 * End to end, through the scripts as a user runs them (small: --quick, two workloads): --jobs 2
 * gives the deterministic outputs of --jobs 1 byte for byte, two shards merged give the
 * unsharded run's, and bad --jobs/--shard values exit 2 with a clear message.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "jobs-shards-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, CI: "true" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}:\n${r.out}\n${r.err}`);
  return r.out;
}

/** The deterministic parts of a results document: options, calibration, runs without `measured`, skipped, the security matrix and density. */
function deterministic(file: string): string {
  const d = JSON.parse(readFileSync(file, "utf8"));
  return JSON.stringify({
    options: d.options, calibration: d.calibration, runs: d.macro.runs.map((r: { measured: unknown }) => ({ ...r, measured: null })), skipped: d.macro.skipped,
    security: d.security, density: d.density,
  });
}

describe("benchmarks --jobs and --shard (--quick --only macro, idle and web-server x vmdedup, sweep 0,1)", () => {
  const suite = ["scripts/benchmarks.ts", "--quick", "--only", "macro", "--workloads", "idle,web-server", "--policies", "vmdedup", "--workers", "0,1"];
  test("--jobs 2 = --jobs 1 (document and deterministic charts); shards 1/2 + 2/2 merged = unsharded", async () => {
    await ok([...suite, "--jobs", "1", "--out", join(dir, "b1")]);
    await ok([...suite, "--jobs", "2", "--out", join(dir, "b2")]);
    await Promise.all([1, 2].map((i) => ok([...suite, "--jobs", "1", "--shard", `${i}/2`, "--out", join(dir, `bs${i}`)])));
    const shard2 = JSON.parse(readFileSync(join(dir, "bs2/latest.json"), "utf8"));
    expect(shard2.shard).toEqual({ index: 2, count: 2, listLength: 5, runPositions: [1, 3], skippedPositions: [], wallClock: false });
    expect(readdirSync(join(dir, "bs2")).includes("charts")).toBe(false);
    const merged = join(dir, "merged.json");
    expect(await ok(["scripts/merge-results.ts", join(dir, "bs2/latest.json"), join(dir, "bs1/latest.json"), "--out", merged])).toContain("2 shards");
    const one = deterministic(join(dir, "b1/latest.json"));
    // --jobs 2 runs the security matrix and density in the pool beside the matrix: the same sections
    expect(JSON.parse(one).security.rows.length).toBe(15);
    expect(JSON.parse(one).density.workloads.map((w: { workload: string }) => w.workload)).toEqual(["web-server"]);
    expect(deterministic(join(dir, "b2/latest.json"))).toBe(one);
    expect(deterministic(merged)).toBe(one);
    expect(JSON.parse(readFileSync(merged, "utf8")).shard).toBeUndefined();
    // every chart but the sweep's scanner pages/s (wall-clock) is drawn from deterministic data
    const charts = readdirSync(join(dir, "b1/charts")).filter((f) => !f.startsWith("scanner-workers"));
    expect(charts.length).toBeGreaterThan(4);
    for (const f of charts) expect(readFileSync(join(dir, "b2/charts", f)).equals(readFileSync(join(dir, "b1/charts", f)))).toBe(true);
    const jobs2 = JSON.parse(readFileSync(join(dir, "b2/latest.json"), "utf8"));
    expect(jobs2.macro.runs.filter((r: { group: string }) => r.group === "worker-sweep").map((r: { measured: { concurrentJobs: number } }) => r.measured.concurrentJobs)).toEqual([1]);
    // a missing shard names itself
    const missing = await run(["scripts/merge-results.ts", join(dir, "bs1/latest.json"), "--out", join(dir, "x.json")]);
    expect([missing.code, missing.err.trim()]).toEqual([2, "merge-results: shard 2/2 missing"]);
  }, 60_000);
});

describe("figures --jobs and --shard (--quick --only 5,6,9: merge costs, runs with baselines, figures 6 and 9 in shard 1)", () => {
  const figs = ["scripts/figures.ts", "--quick", "--seed", "3", "--only", "5,6,9"];
  /** Files that must be byte-identical: every panel but figure 6's; records with the command (it names --out) left out. */
  function same(a: string, b: string) {
    const files = readdirSync(join(dir, a)).filter((f) => !f.startsWith("fig6") && f !== "README.md");
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      if (f.endsWith(".json")) {
        const strip = (d: string) => JSON.stringify({ ...JSON.parse(readFileSync(join(dir, d, f), "utf8")), command: null });
        expect(strip(b)).toBe(strip(a));
      } else expect(readFileSync(join(dir, b, f)).equals(readFileSync(join(dir, a, f)))).toBe(true);
    }
  }
  test("--jobs 2 = --jobs 1; shards merged and rendered with --data = unsharded", async () => {
    await ok([...figs, "--jobs", "1", "--out", join(dir, "f1")]);
    await ok([...figs, "--jobs", "2", "--out", join(dir, "f2")]);
    const outs = await Promise.all([1, 2].map((i) => ok([...figs, "--jobs", "1", "--shard", `${i}/2`, "--out", join(dir, `fs${i}`)])));
    expect(outs[0]).toContain("and figure 6");
    expect(outs[0]).toContain("and figure 9's security matrix");
    expect(outs[1]).not.toContain("figure 6");
    expect(outs[1]).not.toContain("figure 9");
    const data = join(dir, "figure-data.json");
    await ok(["scripts/merge-results.ts", join(dir, "fs1/figure-data.json"), join(dir, "fs2/figure-data.json"), "--out", data]);
    expect(await ok(["scripts/figures.ts", "--data", data, "--out", join(dir, "fm")])).toContain("0 simulations");
    same("f1", "f2");
    same("f1", "fm");
    expect(readdirSync(join(dir, "fm")).filter((f) => f.startsWith("fig9-security-")).length).toBe(3); // pdf, svg, png of web-server
    const shardOnly = await run(["scripts/figures.ts", "--data", join(dir, "fs1/figure-data.json"), "--out", join(dir, "fx")]);
    expect(shardOnly.code).toBe(2);
    expect(shardOnly.err).toContain("is shard 1/2 only: merge every shard first");
  }, 60_000);
});

describe("bad --jobs and --shard values", () => {
  test("exit 2 with the rule, for benchmarks, figures and gate", async () => {
    const cases: [string, string][] = [["--shard=0/2", "i must be from 1 to N (2)"], ["--shard=3/2", "i must be from 1 to N (2)"], ["--shard=x", 'must be i/N (e.g. 1/4), got "x"'], ["--jobs=0", '--jobs must be an integer from 1 to 1024, got "0"']];
    const scripts = ["benchmarks", "figures", "gate"];
    const results = await Promise.all(scripts.flatMap((s) => cases.map(([flag]) => run([`scripts/${s}.ts`, flag, "--tiers=1"].slice(0, s === "gate" ? 3 : 2)))));
    results.forEach((r, k) => {
      const [flag, msg] = cases[k % cases.length]!;
      const script = scripts[Math.floor(k / cases.length)]!;
      expect([script, flag, r.code]).toEqual([script, flag, 2]);
      expect(r.err.split("\n")[0]).toContain(`${script}: `);
      expect(r.err.split("\n")[0]).toContain(msg);
    });
  }, 30_000);
});
