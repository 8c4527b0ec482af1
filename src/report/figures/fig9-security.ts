/**
 * Figure 9: what closing the page-sharing side channel costs. One panel per workload of the
 * security matrix (src/experiments/attack/security-matrix.ts): each point is one policy under one
 * mitigation, at the attacker's accuracy (x; 0.5 = guessing, 1 = every probe right) and the
 * host's steady memory saved (y). Colour = policy (the colours of every figure), marker =
 * mitigation. The points of the three policies often coincide (vmdedup and esx merge the same
 * pages), so they are drawn as concentric outlines, vmdedup outermost.
 * Read it as: top right leaks and saves (off); bottom left neither (zero-only); a mitigation is
 * good where it moves left without moving down.
 */
import { MITIGATIONS, type MitigationKind } from "../../dedup/index.ts";
import type { MarkerStyle, Series } from "../chart-spec.ts";
import type { SecurityRow, SecuritySection } from "../results-schema.ts";
import { COLUMN_TALL, DEDUP_POLICIES, FIGURE_RECORD_SCHEMA, mib, round, type FigureContext, type FigureRecord } from "./figure.ts";

/** The marker of each mitigation in figure 9. */
export const MITIGATION_MARKERS: Readonly<Record<MitigationKind, MarkerStyle>> = {
  off: "circle",
  salted: "rect",
  "zero-only": "triangle",
  vusion: "rectRot",
  "fixed-latency": "crossRot",
};
const KEY_COLOR = "#595959";
/** Outline sizes per policy (DEDUP_POLICIES order): concentric, so coincident points stay visible. */
const SCALES = [2.6, 1.85, 1.15];

/** The panel's series for one workload's rows: one per policy (points in MITIGATIONS order), then a legend key per mitigation. */
export function securitySeries(rows: readonly SecurityRow[]): Series[] {
  const series: Series[] = [];
  DEDUP_POLICIES.forEach((policy, i) => {
    const mine = MITIGATIONS.map((m) => rows.find((r) => r.policy === policy && r.mitigation === m)).filter((r): r is SecurityRow => r !== undefined);
    if (mine.length === 0) return;
    series.push({
      label: policy, policy, hollow: true, markerScale: SCALES[i] ?? 1,
      markers: mine.map((r) => MITIGATION_MARKERS[r.mitigation]),
      points: mine.map((r) => ({ x: r.accuracy, y: r.steadySavingsPct })),
    });
  });
  for (const m of MITIGATIONS) {
    if (!rows.some((r) => r.mitigation === m)) continue;
    series.push({ label: m, color: KEY_COLOR, markers: [MITIGATION_MARKERS[m]], markerScale: 1.6, hollow: true, legendOnly: true, points: [] });
  }
  return series;
}

export function figure9(ctx: FigureContext, section: SecuritySection, source: string): FigureRecord {
  const workloads = [...new Set(section.rows.map((r) => r.workload))];
  const size = `${section.guests ?? "the spec's"} guests${section.guestMemBytes ? ` x ${mib(section.guestMemBytes)}` : ""}`;
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 9,
    title: "Memory saved vs. side-channel attack accuracy, per mitigation",
    caption:
      "Each point is one policy (colour) under one side-channel mitigation (marker), on a host of the workload's guests beside a victim and an attacker guest: " +
      `the attacker's accuracy over ${section.trials} trials (x; 0.5 is guessing) against the memory the host saves in steady state (y). ` +
      "off leaks (accuracy near 1); salted (one salt per guest), zero-only, vusion and fixed-latency leave the attacker at chance; " +
      "they differ in what they cost: salting and zero-only give up savings, vusion and fixed-latency keep them and pay in faults instead (not shown: see the table). " +
      "Coincident points of the policies are drawn as concentric outlines, vmdedup outermost.",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 9${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source,
    setup:
      `${workloads.join(", ")}: ${size}, plus a victim and an attacker guest (512 pages each); ${section.trials} trials per point, seed ${section.seed}; ` +
      `host runs of ${section.durationSec ?? "the driver's automatic"} s simulated (savings, faults and throughput against off)`,
    deterministic: true,
    panels: workloads.map((w) => ({
      file: `fig9-security-${w}`,
      caption: `Memory saved vs. attack accuracy, ${w}: colour = policy, marker = mitigation.`,
      spec: {
        ...COLUMN_TALL, kind: "scatter", title: w, xLabel: "Attack accuracy (0.5 = guessing)", yLabel: "Memory saved (% of guest memory)",
        xMin: 0.3, xMax: 1.1, xStep: 0.2, yMin: 0, series: securitySeries(section.rows.filter((r) => r.workload === w)),
      },
    })),
    table: {
      columns: ["workload", "policy", "mitigation", "accuracy", "covert bit/s", "BER", "steady saved %", "excl. zero %", "extra faults/s", "throughput loss %"],
      rows: section.rows.map((r) => [r.workload, r.policy, r.mitigation, round(r.accuracy, 3), round(r.bitsPerSecond, 1), round(r.bitErrorRate, 3),
        round(r.steadySavingsPct, 1), round(r.steadySavingsExclZeroPct, 1), round(r.extraFaultsPerSec, 0), r.throughputLossPct === null ? null : round(r.throughputLossPct, 2)]),
    },
    measured: null,
  };
}
