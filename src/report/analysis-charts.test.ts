/**
 * The analysis charts: what they plot (exact points from the analysis), which exist (churn only
 * with several snapshots), and that `vmdedup analyze --charts DIR` writes decodable PNGs of the
 * chart renderer's size.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { seriesGuests, tmpDir, writeTrace } from "../sim/replay-fixtures.test-util.ts";
import { analyzeTrace } from "../trace/index.ts";
import { analysisCharts, writeAnalysisCharts } from "./analysis-charts.ts";
import { pngSize } from "./render.ts";

const dir = tmpDir("vmdedup-analysis-charts-");
const series = writeTrace(join(dir, "s.vmtrace"), seriesGuests(4, 200, 4, 5, 0.1, 3));
const one = writeTrace(join(dir, "one.vmtrace"), seriesGuests(2, 64, 1, 5, 0, 5));

describe("analysis charts", () => {
  test("sharing vs guests plots byGuestCount, churn the churn points as a staircase", () => {
    const { header: _h, ...a } = analyzeTrace(series, { perSnapshot: true });
    const charts = analysisCharts(a);
    expect(charts.map((c) => c.name)).toEqual(["sharing-vs-guests", "churn", "sharing-over-time"]);
    expect(charts[0]!.spec.series[0]!.points).toEqual(a.byGuestCount.map((b) => ({ x: b.guests, y: b.savableExclZeroPct })));
    expect(a.byGuestCount.map((b) => b.guests)).toEqual([1, 2, 3, 4]);
    const churn = charts[1]!.spec.series[0]!;
    expect(churn.points).toEqual(a.churn.flatMap((c) => [{ x: c.fromSec, y: c.changedPctPerSec }, { x: c.toSec, y: c.changedPctPerSec }]));
    expect(a.churn.map((c) => [c.fromSec, c.toSec])).toEqual([[0, 5], [5, 10], [10, 15]]);
    expect(charts[2]!.spec.series[1]!.points.map((p) => p.x)).toEqual([0, 5, 10, 15]);
  });

  test("one snapshot: no churn chart", () => {
    const { header: _h, ...a } = analyzeTrace(one, {});
    expect(analysisCharts(a).map((c) => c.name)).toEqual(["sharing-vs-guests"]);
  });

  test("written as PNG (and SVG) of the spec's size", () => {
    const { header: _h, ...a } = analyzeTrace(series, {});
    const files = writeAnalysisCharts(a, join(dir, "charts"));
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(["charts/sharing-vs-guests.png", "charts/churn.png"]);
    for (const [i, f] of files.entries()) {
      const png = readFileSync(f);
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      const size = pngSize(analysisCharts(a)[i]!.spec);
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size.width, size.height]);
      expect(readFileSync(f.replace(/png$/, "svg"), "utf8")).toStartWith("<?xml");
    }
  });
});
