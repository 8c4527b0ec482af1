/**
 * Charts of overcommitted hosts (data to pictures only): a run's host time series (the CoW
 * storm: sharing, free memory and reclamation in one chart, the host state, stall and
 * throughput in another) and density (guests per host by policy, none as the floor).
 */
import type { RunResult } from "../sim/index.ts";
import type { ChartSpec, Series } from "./chart-spec.ts";

const pts = (t: number[], y: number[], f: (v: number) => number = (v) => v) => t.map((x, i) => ({ x, y: f(y[i]!) }));

/** Two charts of a run on a host with a size; throws when the run has no host columns. */
export function hostTimeSeriesCharts(r: RunResult, title: string): [ChartSpec, ChartSpec] {
  const s = r.series;
  if (!s.hostFreePages) throw new Error(`${r.workload.name}/${r.options.policy} ran without a host size: no host columns to chart`);
  const t = s.tSec;
  const guestPages = Math.max(...s.guestPages);
  const hostPages = Number(r.options.host?.memoryBytes ?? 0) / 4096;
  const ofGuests = (v: number) => (100 * v) / guestPages;
  const memory: Series[] = [
    { label: "saved by sharing (% of guest memory)", points: pts(t, s.savingsPct), color: "#1f77b4" },
    { label: "host free (% of host memory)", points: pts(t, s.hostFreePages, (v) => (100 * v) / hostPages), color: "#2ca02c" },
    { label: "in balloons (% of guest memory)", points: pts(t, s.balloonPages!, ofGuests), color: "#9467bd" },
    { label: "compressed (% of guest memory)", points: pts(t, s.compressedPages!, ofGuests), color: "#ff7f0e" },
    { label: "swapped (% of guest memory)", points: pts(t, s.swappedPages!, ofGuests), color: "#d62728" },
  ];
  const opsMax = Math.max(1, ...s.guestOpsPerSec);
  const pressure: Series[] = [
    { label: "host state (0 high .. 4 low)", points: pts(t, s.hostState!), color: "#7f7f7f", step: true },
    { label: "stall (guest s per s)", points: pts(t, s.stallSecPerSec!), color: "#d62728" },
    { label: "guest ops/s (/ run max)", points: pts(t, s.guestOpsPerSec, (v) => v / opsMax), color: "#1f77b4" },
    { label: "swap-ins/s (/ 1000)", points: pts(t, s.swapInsPerSec!, (v) => v / 1000), color: "#ff7f0e" },
  ];
  return [
    { kind: "line", title: `${title}: memory`, xLabel: "simulated time (s)", yLabel: "%", series: memory, yMin: 0 },
    { kind: "line", title: `${title}: state, stall, throughput`, xLabel: "simulated time (s)", yLabel: "state / ratio", series: pressure, yMin: 0 },
  ];
}

/** Guests per host by policy (bars), none first: the floor without de-duplication. */
export function densityChart(title: string, maxGuests: Record<string, number>): ChartSpec {
  const cats = Object.keys(maxGuests).sort((a, b) => (a === "none" ? -1 : b === "none" ? 1 : 0));
  return { kind: "bar", title, xLabel: "policy", yLabel: "guests that fit", categories: cats, series: [{ label: "max guests", points: cats.map((c, i) => ({ x: i, y: maxGuests[c]! })) }], yMin: 0 };
}
