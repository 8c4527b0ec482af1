import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pageOf } from "../trace/test-dumps.ts";
import { main } from "./main.ts";
import { quiet } from "./quiet.test-util.ts";


const dir = mkdtempSync(join(tmpdir(), "vmdedup-cli-trace-"));
const dump = (name: string, ids: number[]) => {
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat(ids.map(pageOf)));
  return p;
};
const a = dump("a.raw", [1, 2, 0, 1]), b = dump("b.raw", [1, 3, 0, 0]);
const a2 = dump("a2.raw", [1, 2, 5, 1]), b2 = dump("b2.raw", [1, 3, 0, 4]);

describe("vmdedup import / analyze", () => {
  test("import then analyze --json: the figures at the top level, equal to analysing the dumps", async () => {
    const out = join(dir, "t.vmtrace");
    const imp = await quiet(() => main(["import", "--out", out, a, b]));
    expect(imp.code).toBe(0);
    expect(imp.out).toContain("2 guests (a: 4 pages, b: 4 pages), 1 snapshot");
    const fromTrace = await quiet(() => main(["analyze", out, "--json"]));
    const fromDumps = await quiet(() => main(["analyze", "--json", a, b]));
    expect(fromTrace.code).toBe(0);
    const j = JSON.parse(fromTrace.out);
    expect(fromTrace.out).toBe(fromDumps.out);
    // 8 pages: zero 3; content 1,2,1,1,3 -> 3 distinct; within a: 1 (page 1 twice)
    expect(j).toMatchObject({ guests: 2, pagesPerGuest: 4, snapshots: 1, zeroPct: 37.5, unpopulatedPct: 0, savablePct: 62.5,
      savableExclZeroPct: 25, withinGuestExclZeroPct: 12.5, acrossGuestsExclZeroPct: 12.5, copiesHistogram: [[1, 2], [3, 1]], churn: [] });
    expect(j.byGuestCount).toEqual([{ guests: 1, savableExclZeroPct: 25 }, { guests: 2, savableExclZeroPct: 25 }]);
    const human = await quiet(() => main(["analyze", a, b]));
    expect(human.out).toContain("savable excl. zero");
    expect(human.out).toContain("25.0");
  });

  test("a time series with --guest and --every, analysed per snapshot", async () => {
    const out = join(dir, "s.vmtrace");
    expect((await quiet(() => main(["import", "-o", out, "--guest", `x=${a},${a2}`, "--guest", `y=${b},${b2}`, "--every", "5", "--meta", "workload=unit"]))).code).toBe(0);
    const r = await quiet(() => main(["analyze", out, "--json", "--per-snapshot"]));
    const j = JSON.parse(r.out);
    expect(j.snapshots.map((s: { timeSec: number }) => s.timeSec)).toEqual([0, 5]);
    expect(j.churn).toEqual([{ fromSec: 0, toSec: 5, changedPctPerSec: (2 * 100) / 8 / 5 }]);
    expect((await quiet(() => main(["analyze", out, "--per-snapshot"]))).out).toContain("per snapshot");
  });

  test("bad input exits 2 with a message and writes nothing", async () => {
    const bad = join(dir, "bad.raw");
    writeFileSync(bad, Buffer.alloc(4097));
    const out = join(dir, "never.vmtrace");
    const cases = [
      ["import", "--out", out, a, bad],
      ["import", "--out", out, join(dir, "missing.raw")],
      ["import", a],
      ["import", "--out", out],
      ["import", "--out", out, "--guest", `x=${a},${a2}`],
      ["import", "--out", out, "--guest", `x=${a}`, b],
      ["import", "--out", out, "--guest", "noequals"],
      ["import", "--out", out, a, "--format", "vmdk"],
      ["import", "--out", out, a, "--meta", "colour=red"],
      ["import", "--out", out, a, join(dir, "sub", "a.raw")],
      ["import", "--out", join(dir, "no", "such", "dir.vmtrace"), a],
      ["analyze"],
      ["analyze", bad],
      ["analyze", a, "--format", "elf"],
      ["analyze", a, "--bogus"],
    ];
    for (const argv of cases) {
      const r = await quiet(() => main(argv));
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toContain("vmdedup:");
      expect(r.err).not.toContain("    at ");
    }
    expect(existsSync(out)).toBe(false);
    const t = join(dir, "t2.vmtrace");
    await quiet(() => main(["import", "--out", t, a]));
    expect((await quiet(() => main(["analyze", t, a]))).code).toBe(2);
  });

  test("--help lists the commands", async () => {
    const r = await quiet(() => main(["--help"]));
    expect(r.out).toContain("vmdedup import --out");
    expect(r.out).toContain("vmdedup analyze");
  });
});
