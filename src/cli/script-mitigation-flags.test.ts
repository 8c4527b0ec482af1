/**
 * --mitigation / --salt-groups on the benchmark suite and the figures (scripts/benchmarks.ts,
 * scripts/figures.ts): bad values exit 2 with the message `vmdedup run` gives, before anything
 * runs; good values reach the runs (zero-only macro runs save no non-zero page; salted figure
 * runs save less than off) and are recorded (results options, the figures' commands).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
function run(args: string[]): { code: number; out: string; err: string } {
  const p = Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, CI: "true" } });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}
/** The message `vmdedup run` prints for the same flags (first line, after "vmdedup: "). */
function runMessage(flags: string[]): string {
  const r = run(["src/cli/main.ts", "run", "--workload", "web-server", "--policy", "ksm", "--guests", "4", ...flags]);
  expect(r.code).toBe(2);
  return r.err.split("\n")[0]!.replace(/^vmdedup: /, "");
}

describe("--mitigation on the benchmarks and the figures", () => {
  const bad = [["--mitigation", "foo"], ["--salt-groups", "2"], ["--mitigation", "salted", "--salt-groups", "0,1,2"], ["--mitigation", "salted", "--salt-groups", "x"]];
  test("bad values exit 2 with run's message, before anything runs", () => {
    for (const flags of bad) {
      const want = runMessage(flags);
      const b = run(["scripts/benchmarks.ts", "--only", "macro", "--workloads", "web-server", ...flags]);
      expect([b.code, b.err.split("\n")[0]]).toEqual([2, `benchmarks: ${want}`]);
      const out = join(tmpdir(), `fig-bad-${process.pid}`);
      const f = run(["scripts/figures.ts", "--quick", "--only", "3", "--out", out, ...flags]);
      expect(existsSync(out)).toBe(false); // nothing ran, nothing written
      // figure 3's quick sweep runs 2 guests: the list message names 2, run's (4 guests) names 4
      expect([f.code, f.err.split("\n")[0]]).toEqual([2, `figures: ${want.replace("for 4 guests", "for 2 guests")}`]);
    }
  }, 60_000);

  test("benchmarks: the macro runs get the mitigation, the results document records it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-mit-"));
    try {
      const r = run(["scripts/benchmarks.ts", "--quick", "--only", "macro", "--workloads", "web-server", "--policies", "ksm", "--workers", "0", "--filter", "web-server/(none|ksm)/w0", "--mitigation", "zero-only", "--out", dir]);
      expect(r.code).toBe(0);
      const doc = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8"));
      expect(doc.options.mitigation).toEqual({ kind: "zero-only", saltGroups: null });
      const ksm = doc.macro.runs.find((x: { policy: string }) => x.policy === "ksm");
      expect(ksm.summary.steadySavingsExclZeroPct).toBe(0);
      expect(ksm.summary.steadySavingsPct).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("figures: the runs get the mitigation; the command and reproduce lines carry it", () => {
    const dir = mkdtempSync(join(tmpdir(), "fig-mit-"));
    try {
      const saved = (flags: string[]) => {
        expect(run(["scripts/figures.ts", "--quick", "--only", "3", "--out", dir, ...flags]).code).toBe(0);
        return JSON.parse(readFileSync(join(dir, "fig3.json"), "utf8"));
      };
      const off = saved([]);
      const salted = saved(["--mitigation", "salted", "--salt-groups", "0,1"]);
      expect(salted.command).toContain("--mitigation salted --salt-groups 0,1");
      expect(salted.reproduce).toContain("--mitigation salted --salt-groups 0,1");
      const col = off.table.columns.indexOf("steady saved %");
      const total = (rec: { table: { rows: number[][] } }) => rec.table.rows.reduce((a, r) => a + r[col]!, 0);
      expect(total(salted)).toBeLessThan(total(off)); // one salt per guest: no cross-guest sharing
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
