/**
 * Charts of overcommitted hosts (data to pictures only): a run's host time series (the CoW
 * storm: guest data in frames, free host memory and what reclamation holds, in MiB, in one
 * chart; the host state, stall and throughput in another) and density (guests per host by
 * policy, none first as the floor, one bar per workload).
 */
import type { TimeSeries } from "../sim/index.ts";
import type { ChartSpec, Series } from "./chart-spec.ts";

const pts = (t: number[], y: number[], f: (v: number) => number = (v) => v) => t.map((x, i) => ({ x, y: f(y[i]!) }));
const MIB_PER_PAGE = 4096 / 2 ** 20;
const toMib = (v: number) => v * MIB_PER_PAGE;

/** Two charts of a run on a host with a size; throws when the run has no host columns. */
export function hostTimeSeriesCharts(r: { series: TimeSeries }, title: string): [ChartSpec, ChartSpec] {
  const s = r.series;
  if (!s.hostFreePages) throw new Error(`${title}: the run had no host size, so there are no host columns to chart`);
  const t = s.tSec;
  const memory: Series[] = [
    { label: "guest data in frames", points: pts(t, s.framesUsed, toMib), color: "#1f77b4" },
    { label: "host free", points: pts(t, s.hostFreePages, toMib), color: "#2ca02c" },
    { label: "in balloons", points: pts(t, s.balloonPages!, toMib), color: "#9467bd" },
    { label: "compressed", points: pts(t, s.compressedPages!, toMib), color: "#ff7f0e" },
    { label: "swapped", points: pts(t, s.swappedPages!, toMib), color: "#d62728" },
  ];
  const opsMax = Math.max(1, ...s.guestOpsPerSec);
  const pressure: Series[] = [
    { label: "host state (0 high .. 4 low)", points: pts(t, s.hostState!), color: "#7f7f7f", step: "before" as const }, // each sample is the worst state of the interval ending at it
    { label: "stall (guest s per s)", points: pts(t, s.stallSecPerSec!), color: "#d62728" },
    { label: "guest ops/s (/ run max)", points: pts(t, s.guestOpsPerSec, (v) => v / opsMax), color: "#1f77b4" },
    { label: "swap-ins/s (/ 1000)", points: pts(t, s.swapInsPerSec!, (v) => v / 1000), color: "#ff7f0e" },
  ];
  return [
    { kind: "line", title: `${title}: memory`, xLabel: "Simulated time (s)", yLabel: "Memory (MiB)", series: memory, xMin: 0, yMin: 0 },
    { kind: "line", title: `${title}: state, stall, throughput`, xLabel: "Simulated time (s)", yLabel: "State (0-4), ratios (0-1)", series: pressure, xMin: 0, yMin: 0 },
  ];
}

/** Guests per host by policy (bars, none first: the floor without de-duplication), one series per workload. */
export function densityChart(title: string, byWorkload: Record<string, Record<string, number>>): ChartSpec {
  const policies = [...new Set(Object.values(byWorkload).flatMap((m) => Object.keys(m)))];
  const cats = [...policies.filter((p) => p === "none"), ...policies.filter((p) => p !== "none")];
  return {
    kind: "bar", title, xLabel: "Policy", yLabel: "Guests that fit (count)", categories: cats, yMin: 0,
    series: Object.entries(byWorkload).map(([w, m]) => ({ label: w, points: cats.map((c, i) => ({ x: i, y: m[c] ?? Number.NaN })) })),
  };
}
