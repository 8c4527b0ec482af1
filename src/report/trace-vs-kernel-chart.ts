/**
 * The replay-vs-live-kernel chart (src/experiments/trace-vs-kernel.ts), data to picture only: the
 * host kernel's KSM pages_sharing recorded during the capture, the ksm policy's pagesSharing when
 * the trace is replayed at the capture's settings, and the trace's own oracle (savable excl. zero
 * pages at each snapshot, and savable with its populated zero pages merged too; staircases held
 * until the next snapshot), in pages over time.
 */
import type { ChartSpec } from "./render.ts";

export interface TraceVsKernelView {
  name: string;
  guests: number;
  settings: { pagesToScan: number; sleepMillisecs: number; smartScan: boolean; scannerNice: number };
  kernel: { tSec: number; pages: number }[];
  replay: { tSec: number; pages: number }[];
  oracle: { tSec: number; pages: number }[];
  oracleInclZero: { tSec: number; pages: number }[];
}

export function traceVsKernelChart(v: TraceVsKernelView): ChartSpec {
  const s = v.settings;
  const pts = (c: { tSec: number; pages: number }[]) => c.map((p) => ({ x: p.tSec, y: p.pages }));
  // The staircase point by point (each snapshot's value until the next), as analysis-charts.ts draws churn.
  const stairs = (c: { tSec: number; pages: number }[]) => c.flatMap((p, i) => [{ x: p.tSec, y: p.pages }, ...(i + 1 < c.length ? [{ x: c[i + 1]!.tSec, y: p.pages }] : [])]);
  return {
    kind: "line",
    widthPx: 1000,
    heightPx: 620,
    title: `${v.name}: replay vs the host kernel's KSM (${v.guests} guests; pages_to_scan ${s.pagesToScan}, sleep ${s.sleepMillisecs} ms, smart_scan ${s.smartScan ? 1 : 0}, nice ${s.scannerNice})`,
    xLabel: "Time from the first snapshot (s)",
    xMin: 0,
    yLabel: "Pages saved (pages_sharing)",
    yMin: 0,
    series: [
      { label: "host kernel KSM (recorded during the capture)", points: pts(v.kernel), color: "#222222" },
      { label: "replay, ksm policy", points: pts(v.replay), policy: "ksm" },
      { label: "oracle of the snapshots (savable excl. zero)", points: stairs(v.oracle), dashed: true, color: "#888888" },
      { label: "oracle incl. populated zero pages", points: stairs(v.oracleInclZero), dashed: true, color: "#bbbbbb" },
    ],
  };
}
