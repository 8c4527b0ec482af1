import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { catalogOf } from "../experiments/index.ts";
import { WorkloadSpecError, type WorkloadSpec } from "../sim/index.ts";
import { CANNED, gateCatalog, shippedTraceLines, shippedTraces, workloadFromArg } from "./workloads.ts";

const spec = (name: string): WorkloadSpec => ({
  name, description: "test", sources: ["test"],
  families: [{ name: "f", guests: 2, memory: "1MiB", regions: [{ name: "r", fraction: 1, fill: "shared" }], phases: [{ name: "p", activities: [] }] }],
});

describe("--workload arguments", () => {
  test("paths load the file, names come from the catalog passed in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmdedup-arg-"));
    writeFileSync(join(dir, "w.json"), JSON.stringify(spec("from-file")));
    const catalog = catalogOf([spec("a"), spec("b")]);
    expect((await workloadFromArg("b", catalog)).name).toBe("b");
    expect((await workloadFromArg(join(dir, "w.json"), catalog)).name).toBe("from-file");
    await expect(workloadFromArg("c", catalog)).rejects.toThrow(WorkloadSpecError);
    await expect(workloadFromArg("c", catalog)).rejects.toThrow("known: a, b");
  });
  test("the default catalog is the canned workloads", async () => {
    expect(CANNED.names()).toContain("web-server");
    expect((await workloadFromArg("idle")).name).toBe("idle");
  });
});

describe("shipped traces", () => {
  test("vmdedup list shows each with its guests, pages, snapshots, length and source", () => {
    expect(shippedTraces()).toEqual(["build", "database", "web"]);
    const lines = shippedTraceLines();
    expect(lines.map((l) => l.name)).toEqual(["trace:build", "trace:database", "trace:web"]);
    for (const l of lines) {
      expect(l.description).toContain("3 guests x 65,536 pages (256 MiB); 13 snapshots over 60.0 s; source: bun run capture, TCG (");
      expect(l.description).toContain("QEMU 7.2.22, guest 6.1.0-57-amd64");
    }
    expect(lines[0]!.description).toContain("(build: gcc -O2 builds Lua 5.4.4");
  });
  test("gate tier 1 runs the canned workloads, then every shipped trace", () => {
    const names = gateCatalog().names();
    expect(names.slice(0, CANNED.names().length)).toEqual(CANNED.names());
    expect(names.slice(CANNED.names().length)).toEqual(["trace-build", "trace-database", "trace-web"]);
    expect(gateCatalog().get("trace-web").trace?.path).toBe("workloads/traces/web.vmtrace");
  });
});
