/**
 * The side-channel charts of a results document (its security section, the table in
 * summary.md): per workload, four bar charts over the same categories (the mitigations, in
 * MITIGATIONS order) with one bar per policy, so that what a mitigation buys (attack accuracy,
 * covert-channel rate) reads beside what it costs (memory saved, guest throughput lost):
 *   security-accuracy-<workload>         attack accuracy (0.5 = guessing)
 *   security-covert-<workload>           covert-channel capacity, bits per simulated second: the raw rate x
 *                                        (1 - H(bit error rate)), so that a channel of coin flips shows as 0
 *   security-savings-<workload>          steady memory saved, % of guest memory
 *   security-throughput-loss-<workload>  steady guest throughput lost against the same policy with off, %
 *   security-extra-faults-<workload>     extra faults per simulated second against off (CoW breaks + the
 *                                        mitigation's access faults): the cost where guests are not CPU-bound
 * Data to pictures only.
 */
import { MITIGATIONS } from "../dedup/index.ts";
import { paperFigureSize, SINGLE_COLUMN_WIDTH_IN, type ChartSpec, type PolicyName } from "./chart-spec.ts";
import type { NamedChart } from "./charts-from-results.ts";
import type { ResultsDocument, SecurityRow } from "./results-schema.ts";

const COLUMN = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.78);

interface Metric {
  name: string;
  title: string;
  yLabel: string;
  caption: string;
  value: (r: SecurityRow) => number | null;
  yMax?: number;
  /** The values may be negative (no y floor at 0). */
  noFloor?: boolean;
}

const METRICS: Metric[] = [
  { name: "accuracy", title: "Attack accuracy", yLabel: "Accuracy (0.5 = guessing)", value: (r) => r.accuracy, yMax: 1,
    caption: "the attacker's accuracy at telling whether the victim holds a page (0.5 = guessing)" },
  { name: "covert", title: "Covert channel", yLabel: "Capacity (bit/s)", value: (r) => r.capacityBitsPerSecond,
    caption: "covert-channel capacity in bits per simulated second (raw rate x (1 - H(bit error rate)); the raw rate and BER are in the table)" },
  { name: "savings", title: "Memory saved", yLabel: "Saved (% of guest memory)", value: (r) => r.steadySavingsPct,
    caption: "the host's steady memory saved under that policy and mitigation" },
  { name: "throughput-loss", title: "Throughput loss", yLabel: "Loss vs. off (%)", value: (r) => r.throughputLossPct,
    caption: "guest throughput lost in steady state against the same policy with mitigation off (no bar: no loss; guests that are not CPU-bound lose none)" },
  { name: "extra-faults", title: "Extra faults", yLabel: "Faults/s vs. off", value: (r) => r.extraFaultsPerSec, noFloor: true,
    caption: "faults per simulated second beyond the same policy with off: CoW breaks plus the mitigation's first-access faults (negative: fewer merged pages to break)" },
];

export function securityCharts(doc: ResultsDocument): NamedChart[] {
  const rows = doc.security?.rows ?? [];
  const charts: NamedChart[] = [];
  for (const w of [...new Set(rows.map((r) => r.workload))]) {
    const mine = rows.filter((r) => r.workload === w);
    const mitigations = MITIGATIONS.filter((m) => mine.some((r) => r.mitigation === m));
    const policies = [...new Set(mine.map((r) => r.policy))];
    for (const m of METRICS) {
      const spec: ChartSpec = {
        ...COLUMN, kind: "bar", title: `${m.title}: ${w}`, xLabel: "Mitigation", yLabel: m.yLabel, categories: [...mitigations], ...(m.noFloor ? {} : { yMin: 0 }),
        ...(m.yMax !== undefined ? { yMax: m.yMax } : {}),
        series: policies.map((p) => ({
          label: p, policy: p as PolicyName,
          points: mitigations.map((mit, x) => ({ x, y: m.value(mine.find((r) => r.policy === p && r.mitigation === mit)!) ?? Number.NaN })),
        })),
      };
      charts.push({ name: `security-${m.name}-${w}`, caption: `Side channel, ${w}: ${m.caption}; one bar per policy, per mitigation (security table in the summary).`, spec });
    }
  }
  return charts;
}
