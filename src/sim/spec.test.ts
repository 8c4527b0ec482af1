import { describe, expect, test } from "bun:test";
import { WorkloadSpecError } from "./errors.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";
import { parseDuration, parseSize } from "./units.ts";
import { isWorkloadPath, loadWorkloadFile } from "./workloads.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function base(): WorkloadSpec {
  return {
    name: "t", description: "test", sources: ["none"],
    families: [{
      name: "f", guests: 2, memory: "1MiB",
      regions: [
        { name: "a", fraction: 0.5, fill: "shared" },
        { name: "b", fraction: 0.5, fill: "zero" },
      ],
      phases: [{ name: "steady", activities: [{ region: "a", writesPerSec: 10, writeSize: 64, produces: { unique: 1 } }] }],
    }],
  };
}

function field(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadSpecError);
    return (e as WorkloadSpecError).field;
  }
  throw new Error("did not throw");
}

describe("spec validation", () => {
  test("a good spec resolves to pages laid out in order", () => {
    const w = resolveSpec(base());
    expect(w.totalGuests).toBe(2);
    expect(w.totalPages).toBe(512);
    expect(w.families[0]!.regions.map((r) => [r.firstPage, r.pages, r.populatedPages])).toEqual([[0, 128, 128], [128, 128, 128]]);
  });
  test("an unknown field is named", () => {
    const s = base() as unknown as { families: Record<string, unknown>[] };
    s.families[0]!.colour = "red";
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].colour");
  });
  test("a negative size is named", () => {
    const s = base();
    s.families[0]!.memory = -4096;
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].memory");
    s.families[0]!.memory = "-1MiB";
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].memory");
  });
  test("a negative fraction and a negative rate are named", () => {
    const s = base();
    s.families[0]!.regions[0]!.fraction = -0.5;
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].regions[0].fraction");
    const t = base();
    t.families[0]!.phases[0]!.activities[0]!.writesPerSec = -1;
    expect(field(() => resolveSpec(t))).toBe("spec.families[0].phases[0].activities[0].writesPerSec");
  });
  test("fractions that do not add up", () => {
    const s = base();
    s.families[0]!.regions[1]!.fraction = 0.4;
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].regions");
    const t = base();
    t.families[0]!.phases[0]!.activities[0]!.produces = { unique: 0.5, zero: 0.4 };
    expect(field(() => resolveSpec(t))).toBe("spec.families[0].phases[0].activities[0].produces");
  });
  test("an activity on an unknown region, a bad fill, a bad write size, a duration on the last phase", () => {
    const s = base();
    s.families[0]!.phases[0]!.activities[0]!.region = "nope";
    expect(field(() => resolveSpec(s))).toBe("spec.families[0].phases[0].activities[0].region");
    const t = base() as unknown as { families: { regions: { fill: string }[] }[] };
    t.families[0]!.regions[0]!.fill = "random";
    expect(field(() => resolveSpec(t))).toBe("spec.families[0].regions[0].fill");
    const u = base();
    u.families[0]!.phases[0]!.activities[0]!.writeSize = 8;
    expect(field(() => resolveSpec(u))).toBe("spec.families[0].phases[0].activities[0].writeSize");
    const v = base();
    v.families[0]!.phases[0]!.duration = "5s";
    expect(field(() => resolveSpec(v))).toBe("spec.families[0].phases[0].duration");
  });
  test("overrides: guests and memory, with rates scaled to memory", () => {
    const w = resolveSpec(base(), { guests: 5, guestMem: 2 * 1024 * 1024 });
    expect(w.totalGuests).toBe(5);
    expect(w.families[0]!.pages).toBe(512);
    expect(w.families[0]!.phases[0]!.activities[0]!.writesPerSec).toBe(20);
    expect(field(() => resolveSpec(base(), { guests: 0 }))).toBe("--guests");
    expect(field(() => resolveSpec(base(), { guestMem: 1000 }))).toBe("--guest-mem");
  });
  test("four families of 2 (as mixed) scale proportionally, at least one guest each", () => {
    const mixed = base();
    mixed.families = ["a", "b", "c", "d"].map((name) => ({ ...base().families[0]!, name }));
    const w = resolveSpec(mixed, { guests: 4 });
    expect(w.families.map((f) => f.guests)).toEqual([1, 1, 1, 1]);
    // the families add up to exactly the total asked for (largest remainder), not a rounded multiple
    const six = resolveSpec(mixed, { guests: 6 });
    expect(six.families.map((f) => f.guests)).toEqual([2, 2, 1, 1]);
    expect(six.totalGuests).toBe(6);
    expect(resolveSpec(mixed, { guests: 7 }).totalGuests).toBe(7);
    expect(resolveSpec(mixed, { guests: 16 }).families.map((f) => f.guests)).toEqual([4, 4, 4, 4]);
    expect(resolveSpec(mixed, { guests: 2 }).families.map((f) => f.guests)).toEqual([1, 1, 1, 1]);
    // unequal families: 3:1 over 8 guests is 6:2; a family whose share rounds to 0 still gets one guest
    const uneven = base();
    uneven.families.push({ ...uneven.families[0]!, name: "g", guests: 1 });
    uneven.families[0]!.guests = 3;
    expect(resolveSpec(uneven, { guests: 8 }).families.map((f) => f.guests)).toEqual([6, 2]);
    uneven.families[0]!.guests = 20;
    expect(resolveSpec(uneven, { guests: 5 }).families.map((f) => f.guests)).toEqual([4, 1]);
  });
  test("user spec files: .json and .ts load, broken ones fail naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmdedup-spec-"));
    writeFileSync(join(dir, "ok.json"), JSON.stringify(base()));
    expect((await loadWorkloadFile(join(dir, "ok.json"))).name).toBe("t");
    const bad = base();
    bad.families[0]!.guests = 0;
    writeFileSync(join(dir, "bad.json"), JSON.stringify(bad));
    await expect(loadWorkloadFile(join(dir, "bad.json"))).rejects.toThrow("spec.families[0].guests");
    writeFileSync(join(dir, "ok.ts"), `export default ${JSON.stringify(base())};`);
    expect((await loadWorkloadFile(join(dir, "ok.ts"))).families[0]!.guests).toBe(2);
    await expect(loadWorkloadFile(join(dir, "missing.json"))).rejects.toThrow(WorkloadSpecError);
  });
  test("a workload argument names a spec file when it holds a / or ends in .ts/.json", () => {
    expect([isWorkloadPath("idle"), isWorkloadPath("x.json"), isWorkloadPath("a/b"), isWorkloadPath("spec.ts")]).toEqual([false, true, true, true]);
  });
});

describe("units", () => {
  test("sizes and durations", () => {
    expect(parseSize("256MiB")).toBe(256 * 2 ** 20);
    expect(parseSize("1GiB")).toBe(2 ** 30);
    expect(parseSize("4096")).toBe(4096);
    expect(parseDuration("120s")).toBe(120);
    expect(parseDuration("20ms")).toBeCloseTo(0.02);
    expect(parseDuration("2min")).toBe(120);
    expect(parseDuration("50us")).toBeCloseTo(50e-6);
    expect(() => parseSize("12XB")).toThrow(InvalidArgumentError);
    expect(() => parseDuration("soon")).toThrow(InvalidArgumentError);
  });
});
