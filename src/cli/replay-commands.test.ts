/**
 * `vmdedup run --workload trace:NAME|PATH`: the three commands of the README (dumps the test
 * writes -> import -> run), the errors (exit 2, one line naming the problem, nothing written),
 * and `trace:NAME` resolution in workloads/traces/.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, validateRunResult } from "../sim/index.ts";
import { pageOf } from "../trace/test-dumps.ts";
import { main } from "./main.ts";
import { quiet } from "./quiet.test-util.ts";
import { traceWorkloadFromArg } from "./workloads.ts";


const dir = mkdtempSync(join(tmpdir(), "vmdedup-cli-replay-"));
/** A 64-page raw dump: content ids (0 = zero page), pages shared between dumps by id. */
const dump = (name: string, seed: number) => {
  const ids = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 + (i % 7) : 1000 * seed + i));
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat(ids.map(pageOf)));
  return p;
};
const trace = join(dir, "vms.vmtrace");

describe("vmdedup run --workload trace:PATH", () => {
  test("dump -> import -> run: a valid document that names the trace and replays its guests", async () => {
    const imp = await quiet(() => main(["import", "--out", trace, dump("a.raw", 1), dump("b.raw", 2), dump("c.raw", 3)]));
    expect(imp.code).toBe(0);
    const out = join(dir, "r.json");
    const r = await quiet(() => main(["run", "--workload", `trace:${trace}`, "--policy", "ksm", "--smart-scan", "off", "--pages-to-scan", "100", "--out", out]));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const doc = validateRunResult(JSON.parse(readFileSync(out, "utf8")));
    expect(doc.workload.name).toBe("trace-vms");
    expect(doc.workload.spec.trace!.path).toBe(trace);
    expect(doc.options.guests).toBe(3);
    expect(doc.options.smartScan).toBe(false);
    expect(doc.options.durationSec).toBe(Math.ceil((6 * 3 * 64) / 5000)); // one snapshot: 6 passes at 100 pages / 20 ms
    expect(doc.series.guestPages.at(-1)).toBe(3 * 64);
    // 3 x 64 pages: 22 zero pages each, 21 pages of 7 contents shared by all, 21 own: zero 66 + content 126 - distinct (7 + 63) = 122
    expect(doc.summary.oracleSavablePct).toBe(Math.round((100 * 122 * 1e4) / 192) / 1e4);
    // ksm (use_zero_pages off) merges all of it: 8 KSM pages (the zero page, 7 shared contents), 65 + 7 x 8 = 121 mappings onto them
    expect(doc.series.pagesSharing.at(-1)).toBe(121);
    expect(doc.series.pagesShared.at(-1)).toBe(8);
  });

  test("--guests above the trace's count, --guest-mem, and unknown traces exit 2 with one clear line; nothing is written", async () => {
    const cases: [string[], RegExp][] = [
      [["--guests", "4"], /--guests 4: trace .*vms\.vmtrace has 3 guests/],
      [["--guest-mem", "1MiB"], /--guest-mem cannot be used with a trace/],
    ];
    for (const [flags, msg] of cases) {
      const out = join(dir, `never-${flags[0]}.json`);
      const r = await quiet(() => main(["run", "--workload", `trace:${trace}`, ...flags, "--out", out]));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toContain("    at ");
      expect(existsSync(out)).toBe(false);
    }
    for (const w of ["trace:no-such-trace", `trace:${join(dir, "missing.vmtrace")}`]) {
      const r = await quiet(() => main(["run", "--workload", w]));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/no trace "no-such-trace" in workloads\/traces\/|no such trace file/);
    }
    const bad = join(dir, "bad.vmtrace");
    writeFileSync(bad, Buffer.alloc(64, 7));
    const r = await quiet(() => main(["run", "--workload", `trace:${bad}`]));
    expect(r.code).toBe(2);
    expect(r.err).toContain("magic");
  });

  test("trace:NAME is workloads/traces/NAME.vmtrace, recorded relative to the repository root; list shows it", async () => {
    expect(() => traceWorkloadFromArg("surely-not-shipped")).toThrow(/no trace "surely-not-shipped" in workloads\/traces\//);
    const name = `zz-test-${process.pid}`;
    const shipped = join(REPO_ROOT, "workloads/traces", `${name}.vmtrace`);
    copyFileSync(trace, shipped);
    try {
      const spec = traceWorkloadFromArg(name);
      expect(spec.trace!.path).toBe(`workloads/traces/${name}.vmtrace`);
      expect(spec.name).toBe(`trace-${name}`);
      const list = await quiet(() => main(["list"]));
      expect(list.out).toMatch(new RegExp(`trace:${name} +captured trace, replayed: 3 guests x 64 pages \\(0.25 MiB\\); 1 snapshot over 0.0 s`));
    } finally {
      rmSync(shipped, { force: true });
    }
  });
});
