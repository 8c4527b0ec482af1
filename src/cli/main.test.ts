import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateRunResult } from "../sim/index.ts";
import { main } from "./main.ts";
import { quiet } from "./quiet.test-util.ts";


describe("cli", () => {
  test("--help states the defaults", async () => {
    const r = await quiet(() => main(["--help"]));
    expect(r.code).toBe(0);
    expect(r.out).toContain("--pages-to-scan N");
    expect(r.out).toContain("[2000]");
    expect(r.out).toContain("full passes");
  });
  test("list shows every canned workload", async () => {
    const r = await quiet(() => main(["list"]));
    expect(r.code).toBe(0);
    for (const w of ["idle", "kernel-build", "web-server", "database", "mixed"]) expect(r.out).toContain(w);
  });
  test("wrong flags and bad specs exit 2 with a message", async () => {
    for (const argv of [["run", "--workload", "idle", "--bogus"], ["run", "--workload", "nope"], ["run"], ["frobnicate"],
      ["run", "--workload", "idle", "--guest-mem", "12XB"], ["run", "--workload", "idle", "--policy", "magic"],
      ["run", "--workload", "idle", "--duration", "soon"], ["run", "--workload", "./no/such/spec.json"]]) {
      const r = await quiet(() => main(argv));
      expect(r.code).toBe(2);
      expect(r.err).toContain("vmdedup:");
    }
  });
  test("run writes a valid result document", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "vmdedup-cli-")), "r.json");
    const r = await quiet(() => main(["run", "--workload", "web-server", "--guests", "2", "--guest-mem", "4MiB", "--policy", "vmdedup",
      "--seed", "2", "--duration", "10s", "--out", out]));
    expect(r.code).toBe(0);
    const doc = validateRunResult(JSON.parse(readFileSync(out, "utf8")));
    expect(doc.options.guests).toBe(2);
    expect(doc.options.guestMemBytes).toBe(4 * 2 ** 20);
    expect(doc.summary.throughputLossPct).not.toBeNull();
    expect(doc.summary.savingsPct).toBeGreaterThan(0);
  });
});
