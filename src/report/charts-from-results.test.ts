import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { loadImage } from "@napi-rs/canvas";
import { chartsFromResults, timeToMergeCdf, type NamedChart } from "./charts-from-results.ts";
import { pngSize, renderPng, renderSvg } from "./render.ts";
import { validateResults } from "./results-validate.ts";
import { summaryMarkdown } from "./summary-md.ts";

const FIXTURE = new URL("./fixtures/results-small.json", import.meta.url).pathname;
const doc = validateResults(JSON.parse(readFileSync(FIXTURE, "utf8")));
const charts = chartsFromResults(doc);

describe("chartsFromResults on the small fixture", () => {
  test("makes exactly the expected charts", () => {
    // idle never breaks CoW, kernel-build does; mixed holds only the worker sweep
    expect(charts.map((c) => c.name)).toEqual([
      "savings-idle",
      "savings-kernel-build",
      "full-pass-time",
      "time-to-merge-idle",
      "time-to-merge-kernel-build",
      "scanner-workers",
      "guest-throughput",
      "throughput-loss",
      "cow-breaks-kernel-build",
    ]);
  });

  test("every chart has axis titles with units and a legend or a single named series", () => {
    for (const c of charts) {
      expect(c.spec.xLabel.length).toBeGreaterThan(0);
      expect(c.spec.yLabel).toMatch(/\(.+\)|per second/);
      expect(c.spec.series.length).toBeGreaterThan(0);
    }
  });

  test("savings: one line per dedup policy plus the oracle, from the run's series", () => {
    const s = charts.find((c) => c.name === "savings-kernel-build")!.spec;
    expect(s.series.map((x) => x.label)).toEqual(["vmdedup", "ksm", "esx", "oracle"]);
    const run = doc.macro.runs.find((r) => r.id === "kernel-build/ksm/w0")!;
    expect(s.series[1]!.points).toEqual(run.series.tSec.map((x, i) => ({ x, y: run.series.savingsPct[i]! })));
  });

  test("worker sweep: the sweep runs and the 0-worker run, in worker order", () => {
    const s = charts.find((c) => c.name === "scanner-workers")!.spec;
    expect(s.categories).toEqual(["0", "1", "2"]);
    expect(s.series).toHaveLength(1);
    const runs = [0, 1, 2].map((w) => doc.macro.runs.find((r) => r.id === `mixed/vmdedup/w${w}`)!);
    expect(s.series[0]!.points.map((p) => p.y)).toEqual(runs.map((r) => r.measured.scannerPagesPerSec! / 1e6));
  });

  test("guest throughput is relative to none, which is 100%", () => {
    const s = charts.find((c) => c.name === "guest-throughput")!.spec;
    expect(s.categories).toEqual(["idle", "kernel-build"]);
    const none = s.series.find((x) => x.label === "none")!;
    expect(none.points.map((p) => p.y)).toEqual([100, 100]);
  });

  test("time-to-merge CDF rises to 100% and stops there", () => {
    const run = doc.macro.runs.find((r) => r.id === "kernel-build/vmdedup/w0")!;
    const cdf = timeToMergeCdf(run);
    expect(cdf.at(-1)!.y).toBe(100);
    expect(cdf.filter((p) => p.y === 100)).toHaveLength(1);
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i]!.x).toBeGreaterThan(cdf[i - 1]!.x);
      expect(cdf[i]!.y).toBeGreaterThanOrEqual(cdf[i - 1]!.y);
    }
    // a CDF holds its value from its point to the next (right-continuous): step "after"
    const chart = charts.find((c) => c.name === "time-to-merge-kernel-build")!.spec;
    expect(chart.series.every((x) => x.step === "after")).toBe(true);
  });
});

describe("rendering every chart of the fixture", () => {
  const render = (c: NamedChart) => renderPng(c.spec);
  for (const c of charts) {
    test(`${c.name}: PNG decodes at the expected size, is byte-identical across renders; SVG too`, async () => {
      const png = render(c);
      const image = await loadImage(png);
      const want = pngSize(c.spec);
      expect({ width: image.width, height: image.height }).toEqual(want);
      // one paper column (3.3 in) or the full width (7 in) at 300 dpi
      expect([990, 2100]).toContain(want.width);
      expect(render(c).equals(png)).toBe(true);
      expect(renderSvg(c.spec)).toBe(renderSvg(c.spec));
    });
  }
});

describe("summaryMarkdown", () => {
  const md = summaryMarkdown(doc, charts, "charts", "fixture.json");
  test("lists every matrix run's headline numbers and embeds every chart", () => {
    for (const r of doc.macro.runs.filter((x) => x.group === "matrix")) {
      expect(md).toContain(`| ${r.workload} | ${r.policy} | ${r.summary.steadySavingsPct.toFixed(1)} |`);
    }
    for (const c of charts) expect(md).toContain(`(charts/${c.name}.png)`);
    expect(md).toContain("| hash xxHash3 / sequential read | 530 | 640 | 0.83x |");
  });
  test("is the same text for the same document", () => {
    expect(summaryMarkdown(doc, chartsFromResults(doc), "charts", "fixture.json")).toBe(md);
  });
});
