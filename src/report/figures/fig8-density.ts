/**
 * Figure 8: guests per host by policy, the density an overcommitted host reaches with each
 * de-duplication policy and without (none, the floor), one bar per workload. A count fits when
 * it and every smaller count keep steady guest throughput within the loss limit of the same run
 * on an uncommitted host (overcommitLossPct, src/experiments/overcommit.ts); stalls (swap-ins,
 * decompressions) displace operations as in a closed loop (src/sim/reclaim.ts).
 */
import type { DensitySection, DensityWorkloadRow } from "../../experiments/index.ts";
import { densityChart } from "../overcommit-charts.ts";
import { COLUMN_TALL, FIGURE_RECORD_SCHEMA, mib, round, WORKLOAD_COLORS, type FigureContext, type FigureRecord } from "./figure.ts";

/** Guests that fit per workload and policy, as the chart takes them. */
const fitBy = (rows: readonly DensityWorkloadRow[]) => Object.fromEntries(rows.map((w) => [w.workload, Object.fromEntries(Object.entries(w.policies).map(([p, x]) => [p, x.maxGuests]))]));

/** The table's rows of `rows` (host: its memory), policies in the chart's order. */
function tableRows(rows: readonly DensityWorkloadRow[], host: string, policies: readonly string[]) {
  return rows.flatMap((w) =>
    policies.filter((p) => w.policies[p]).map((p) => {
      const x = w.policies[p]!;
      return [w.workload, host, p, `${x.maxGuests}${x.capped ? "+" : ""}`, x.overcommitLossPct === null ? null : round(x.overcommitLossPct, 2), x.steadySavingsPct === null ? null : round(x.steadySavingsPct, 1),
        x.lossPctByGuests.map((l) => round(l, 1)).join(" ")];
    }),
  );
}

export function figure8(ctx: FigureContext, d: DensitySection): FigureRecord {
  const chart = densityChart("", fitBy(d.workloads));
  const t = d.traces;
  const traceChart = t ? densityChart("", fitBy(t.workloads)) : null;
  const rows = [...tableRows(d.workloads, mib(d.hostMemBytes), chart.categories!), ...(t && traceChart ? tableRows(t.workloads, mib(t.hostMemBytes), traceChart.categories!) : [])];
  const traceText = t
    ? ` The trace rows replay the captured guests (${t.workloads.map((w) => w.workload).join(", ")}: each trace's own guests, up to its count) on a ${mib(t.hostMemBytes)} host; a replay never drops a write, so its loss is how much longer its trace's work took (stalls delay the rest of the trace), a different measure from the canned rows' (operation time displaced): compare within a panel.`
    : "";
  const tracePanel = t && traceChart
    ? [{
        file: "fig8-density-traces",
        caption: `Trace replays on a ${mib(t.hostMemBytes)} host: guests that fit per policy (at most each trace's own guest count), one bar per trace; none is the floor.`,
        spec: { ...COLUMN_TALL, ...traceChart, title: undefined },
      }]
    : [];
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 8,
    title: "Guests per host by policy on an overcommitted host",
    caption:
      `The most identical guests (${mib(d.guestMemBytes)} each) that fit on a ${mib(d.hostMemBytes)} host with every smaller count keeping steady guest throughput ` +
      `within ${d.maxLossPct}% of the same run on an uncommitted host; none (no de-duplication) is the floor. ` +
      "Beyond what fits, balloons, the compression cache and swap hold the working set and every access to a taken page stalls the guest; shared pages hold one frame for all guests, so the de-duplication policies fit more. " +
      `A "+" in the table: the search reached ${d.maxGuests} guests, the largest count tried (for a trace, its guest count).` + traceText,
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 8${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: "fresh simulation runs",
    setup: `1-${d.maxGuests} HVM guests x ${mib(d.guestMemBytes)} per policy on a ${mib(d.hostMemBytes)} host (default reclamation: ESX states, balloon 256 MiB/s, compression cache 10%, NVMe swap 20 us, random victims) and on an uncommitted host, ${d.durationSec} s simulated; the same as \`bun run vmdedup density --workload W --guest-mem ${mib(d.guestMemBytes).replace(" ", "")} --host-mem ${mib(d.hostMemBytes).replace(" ", "")} --max-loss ${d.maxLossPct}% --max-guests ${d.maxGuests} --duration ${d.durationSec}s --seed ${d.seed}\`` +
      (t ? `; traces: \`bun run vmdedup density --workload trace:NAME --host-mem ${mib(t.hostMemBytes).replace(" ", "")} --max-loss ${t.maxLossPct}% --seed ${t.seed}\` (their default duration: the trace plus 6 full scans)` : ""),
    deterministic: true,
    panels: [{
      file: "fig8-density",
      caption: "Guests that fit per policy, one bar per workload; none is the floor.",
      spec: { ...COLUMN_TALL, ...chart, title: undefined, series: chart.series.map((s) => ({ ...s, color: WORKLOAD_COLORS[s.label] })) },
    }, ...tracePanel],
    table: { columns: ["workload", "host", "policy", "max guests", "loss % at max", "saved % at max", "loss % by guest count (1, 2, ...)"], rows },
    measured: null,
  };
}
