/**
 * Figure 1: memory saved against the number of identical guests, one line per canned workload
 * (policy vmdedup at the simulator's default scan rate, fast enough to keep up, so the line shows
 * what the workload offers). Steady-state savings, % of all guest memory, zero pages included.
 */
import { getWorkload } from "../../../workloads/index.ts";
import type { FigureConfig } from "./config.ts";
import { COLUMN_TALL, mib, round, WORKLOAD_COLORS, WORKLOAD_ORDER, type FigureContext, type FigureRecord, type FigureRun } from "./figure.ts";
import { FIGURE_RECORD_SCHEMA } from "./figure.ts";
import type { RunCache } from "./runs.ts";

/** Guest counts a workload can run at: a mixed host needs one guest per family at least. */
export function guestCountsFor(workload: string, counts: number[]): number[] {
  const families = getWorkload(workload).families.length;
  return counts.filter((n) => n >= families && n % families === 0);
}

export async function figure1(ctx: FigureContext, cfg: FigureConfig, cache: RunCache): Promise<FigureRecord> {
  const runs: FigureRun[] = [];
  for (const workload of WORKLOAD_ORDER) {
    for (const guests of guestCountsFor(workload, cfg.guestCounts)) {
      runs.push(await cache.run({
        workload, policy: "vmdedup", guests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.guestsDurationSec,
        pagesToScan: null, sleepMillisecs: null, seed: ctx.seed, baseline: false,
      }));
    }
  }
  const maxGuests = Math.max(...cfg.guestCounts);
  return {
    schema: FIGURE_RECORD_SCHEMA,
    id: 1,
    title: "Memory saved vs. number of identical guests",
    caption:
      "Steady-state memory saved by vmdedup (% of all guest memory, zero pages included) as identical guests are added, one line per canned workload. " +
      "A single guest saves only its own duplicates (zero pages, repeated kernel structures); every further guest adds its shared content once more. " +
      "mixed runs its 4 families with equally many guests each, so it starts at 4 guests.",
    command: ctx.command,
    reproduce: `bun run figures --seed ${ctx.seed} --only 1${ctx.reproduceFlags}`,
    seed: ctx.seed,
    source: "fresh simulation runs",
    setup: `policy vmdedup, ${cfg.guestCounts.join(", ")} HVM guests x ${mib(cfg.guestMemBytes)}, ${cfg.guestsDurationSec} s simulated, simulator default scan rate (pagesToScan 2000 every 20 ms); steady state = the last 25% of the run, after every guest finished warming up`,
    deterministic: true,
    panels: [{
      file: "fig1-savings-vs-guests",
      caption: "Memory saved vs. identical guests, per workload (vmdedup).",
      spec: {
        ...COLUMN_TALL,
        kind: "line",
        xLabel: "Identical guests",
        yLabel: "Memory saved (% of guest memory)",
        xMin: 0,
        xMax: maxGuests,
        yMin: 0,
        series: WORKLOAD_ORDER.map((w) => ({
          label: w,
          color: WORKLOAD_COLORS[w],
          points: runs.filter((r) => r.workload === w).map((r) => ({ x: r.guests, y: r.summary.steadySavingsPct })),
        })).filter((s) => s.points.length > 0),
      },
    }],
    table: {
      columns: ["workload", "guests", "saved %", "saved excl. zero %", "oracle %", "oracle excl. zero %"],
      rows: runs.map((r) => [r.workload, r.guests, round(r.summary.steadySavingsPct, 1), round(r.summary.steadySavingsExclZeroPct, 1), round(r.summary.oracleSavablePct, 1), round(r.summary.oracleSavableExclZeroPct, 1)]),
    },
    measured: null,
  };
}
