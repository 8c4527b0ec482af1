/**
 * The side-channel charts of a results document (security-charts.ts): four bar charts per
 * workload of the security section, categories = mitigations, one bar per policy, each bar the
 * row's value; rendered from the data alone, byte-identical for the same seed.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf, runSecurityMatrix } from "../experiments/index.ts";
import { chartsFromResults } from "./charts-from-results.ts";
import { renderPng, renderSvg } from "./render.ts";
import type { ResultsDocument, SecuritySection } from "./results-schema.ts";
import { validateResults } from "./results-validate.ts";

const base = validateResults(JSON.parse(readFileSync(join(import.meta.dir, "fixtures/results-small.json"), "utf8")));
const plan = {
  workloads: ["web-server"], catalog: catalogOf(CANNED_WORKLOADS), policies: ["vmdedup", "ksm"] as ("vmdedup" | "ksm")[], mitigations: ["off", "salted", "vusion"] as const,
  trials: 64, seed: 2, guests: 2, guestMemBytes: 4 * 2 ** 20, durationSec: 40,
};
let section: SecuritySection;
const docWith = (s: SecuritySection): ResultsDocument => validateResults({ ...base, security: s });

beforeAll(async () => {
  section = await runSecurityMatrix(plan);
}, 60_000);

describe("security charts", () => {
  test("accuracy, covert rate, savings and throughput loss per policy x mitigation, from the rows", () => {
    const charts = chartsFromResults(docWith(section)).filter((c) => c.name.startsWith("security-"));
    expect(charts.map((c) => c.name)).toEqual(["accuracy", "covert", "savings", "throughput-loss", "extra-faults"].map((m) => `security-${m}-web-server`));
    const value = { accuracy: "accuracy", covert: "capacityBitsPerSecond", savings: "steadySavingsPct", "throughput-loss": "throughputLossPct", "extra-faults": "extraFaultsPerSec" } as const;
    for (const c of charts) {
      expect(c.spec.kind).toBe("bar");
      expect(c.spec.categories).toEqual(["off", "salted", "vusion"]);
      expect(c.spec.series.map((s) => s.label)).toEqual(["vmdedup", "ksm"]);
      const key = value[c.name.slice("security-".length, -"-web-server".length) as keyof typeof value];
      for (const s of c.spec.series)
        s.points.forEach((p, i) => {
          const row = section.rows.find((r) => r.policy === s.label && r.mitigation === c.spec.categories![i])!;
          expect(p.y).toBe((row[key] as number | null) ?? Number.NaN);
        });
    }
    // what the model guarantees shows in the bars: off leaks, salted and vusion do not; vusion keeps off's savings
    const acc = charts[0]!.spec.series[0]!.points.map((p) => p.y);
    expect(acc[0]).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(acc[1]! - 0.5)).toBeLessThan(0.25);
    const saved = charts[2]!.spec.series[0]!.points.map((p) => p.y);
    expect(saved[2]).toBe(saved[0]!);
    expect(saved[1]).toBeLessThan(saved[0]!);
    // vusion pays in faults what off does not
    expect(charts[4]!.spec.series[0]!.points[2]!.y).toBeGreaterThan(0);
  });

  test("no security section: no security charts", () => {
    expect(chartsFromResults(base).some((c) => c.name.startsWith("security-"))).toBe(false);
  });

  test("rendered from the data: byte-identical again, and for a rerun with the same seed", async () => {
    const again = await runSecurityMatrix(plan);
    expect(again).toEqual(section);
    const a = chartsFromResults(docWith(section)).filter((c) => c.name.startsWith("security-"));
    const b = chartsFromResults(docWith(again)).filter((c) => c.name.startsWith("security-"));
    for (let i = 0; i < a.length; i++) {
      const png = renderPng(a[i]!.spec);
      expect(png.equals(renderPng(b[i]!.spec))).toBe(true);
      expect(renderSvg(a[i]!.spec)).toBe(renderSvg(b[i]!.spec));
    }
  }, 60_000);
});
