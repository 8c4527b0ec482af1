import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { catalogOf } from "../experiments/index.ts";
import { WorkloadSpecError, type WorkloadSpec } from "../sim/index.ts";
import { CANNED, workloadFromArg } from "./workloads.ts";

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
