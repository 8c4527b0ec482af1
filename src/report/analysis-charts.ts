/**
 * Charts of a sharing analysis (`vmdedup analyze ... --charts DIR`, src/trace/analyze.ts), data
 * to pictures only:
 *   sharing-vs-guests  savable excl. zero (% of the first k guests' pages) against k = 1..N, from
 *                      byGuestCount: how much more there is to share as identical guests are
 *                      added (k = 1 is what a guest shares with itself);
 *   churn              pages whose state or digest changed per second (% of all guest pages), a
 *                      staircase over each interval between snapshots; only for traces with
 *                      more than one snapshot.
 * Plus, with --per-snapshot figures, sharing-over-time: savable (with and without zero pages),
 * zero and unpopulated shares at each snapshot.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Analysis } from "../trace/index.ts";
import type { NamedChart } from "./charts-from-results.ts";
import { renderPng, renderSvg, type ChartSpec } from "./render.ts";

const SIZE = { widthPx: 1000, heightPx: 620 } as const;

function sharingVsGuests(a: Analysis): ChartSpec {
  return {
    ...SIZE,
    kind: "line",
    title: `Sharing potential vs guests: ${a.guests} guest(s), ${typeof a.pagesPerGuest === "number" ? `${a.pagesPerGuest} pages each` : "pages vary"}`,
    xLabel: "Guests analysed together (the first k)",
    yLabel: "Savable excl. zero pages (% of their pages)",
    xMin: 1,
    xMax: Math.max(2, a.guests),
    yMin: 0,
    series: [{ label: "savable excl. zero", points: a.byGuestCount.map((b) => ({ x: b.guests, y: b.savableExclZeroPct })) }],
  };
}

function churn(a: Analysis): ChartSpec {
  // The staircase drawn point by point (each interval's value from its start to its end), not with
  // the renderer's step option, which holds each value over the segment *before* its point.
  const pts = a.churn.flatMap((c) => [{ x: c.fromSec, y: c.changedPctPerSec }, { x: c.toSec, y: c.changedPctPerSec }]);
  return {
    ...SIZE,
    kind: "line",
    title: `Churn over time: pages changed between snapshots (${a.guests} guest(s))`,
    xLabel: "Time (s)",
    yLabel: "Pages changed (% of all guest pages per s)",
    yMin: 0,
    series: [{ label: "changed pages", points: pts }],
  };
}

function sharingOverTime(a: Analysis): ChartSpec | null {
  if (!Array.isArray(a.snapshots) || a.snapshots.length < 2) return null;
  const s = a.snapshots;
  const line = (label: string, f: (x: (typeof s)[number]) => number, dashed = false) => ({ label, dashed, points: s.map((x) => ({ x: x.timeSec, y: f(x) })) });
  return {
    ...SIZE,
    kind: "line",
    title: "Sharing potential over time (every snapshot)",
    xLabel: "Time (s)",
    yLabel: "% of all guest pages",
    yMin: 0,
    series: [
      line("savable (zero pages merged)", (x) => x.savablePct),
      line("savable excl. zero", (x) => x.savableExclZeroPct),
      line("zero pages", (x) => x.zeroPct, true),
      line("unpopulated", (x) => x.unpopulatedPct, true),
    ],
  };
}

/** The charts of an analysis (churn only with several snapshots; over time only with --per-snapshot). */
export function analysisCharts(a: Analysis): NamedChart[] {
  const out: NamedChart[] = [
    { name: "sharing-vs-guests", caption: "Savable excl. zero pages against the number of guests analysed together.", spec: sharingVsGuests(a) },
  ];
  if (a.churn.length > 0) out.push({ name: "churn", caption: "Pages changed per second between snapshots, all guests.", spec: churn(a) });
  const t = sharingOverTime(a);
  if (t) out.push({ name: "sharing-over-time", caption: "Savable, zero and unpopulated shares at every snapshot.", spec: t });
  return out;
}

/** Writes <dir>/<name>.png and .svg for every chart of the analysis; returns the PNG paths. */
export function writeAnalysisCharts(a: Analysis, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return analysisCharts(a).map((c) => {
    const png = join(dir, `${c.name}.png`);
    writeFileSync(png, renderPng(c.spec));
    writeFileSync(join(dir, `${c.name}.svg`), renderSvg(c.spec));
    return png;
  });
}
