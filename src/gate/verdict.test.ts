import { expect, test } from "bun:test";
import { exitCodeOf, formatVerdict, table, type TierVerdict, type Verdict } from "./verdict.ts";

const tier = (status: TierVerdict["status"], couldNotRun?: boolean): TierVerdict => ({ name: `t-${status}`, status, summary: "s", wallSec: 1, report: [], ...(couldNotRun ? { couldNotRun } : {}) });

test("exit code: 0 pass or skipped, 1 regression, 2 could not run (wins over a regression)", () => {
  expect(exitCodeOf([tier("pass"), tier("skipped")])).toBe(0);
  expect(exitCodeOf([tier("pass"), tier("fail")])).toBe(1);
  expect(exitCodeOf([tier("fail"), tier("fail", true)])).toBe(2);
  expect(exitCodeOf([])).toBe(0);
});

test("table pads columns and right-aligns numeric ones", () => {
  expect(table(["name", "ns"], [["hash", "12.5"], ["compare", "3"]])).toEqual(["name       ns", "-------  ----", "hash     12.5", "compare     3"]);
});

test("formatVerdict names each tier's status and the overall outcome", () => {
  const v: Verdict = { schema: "vmdedup/gate@1", date: "d", commit: null, machine: { cpu: "c", cores: 2, bun: "b" }, options: {}, tiers: [tier("pass"), tier("fail")], exitCode: 1, wallSec: 2 };
  const s = formatVerdict(v);
  expect(s).toContain("PASS  t-pass (1.0 s): s");
  expect(s).toContain("FAIL  t-fail (1.0 s): s");
  expect(s.split("\n").at(-1)).toBe("gate REGRESSION in 2.0 s (exit 1)");
});
