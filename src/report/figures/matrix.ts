/**
 * The workload x policy matrix behind figures 2, 4 and 7: fresh runs (HVM guests at the figure
 * config's size and Linux's default scan rate) or a results document's matrix runs (`--from`).
 */
import type { ResultsDocument } from "../results-schema.ts";
import type { FigureConfig } from "./config.ts";
import { describeRun, WORKLOAD_ORDER, type FigureRun } from "./figure.ts";
import { matrixRuns, type RunCache } from "./runs.ts";

export interface MatrixSource {
  /** "fresh simulation runs" or "results document <file>, matrix runs". */
  source: string;
  /** Workloads available, in figure order. */
  workloads: string[];
  /** The run of `workload` under `policy`, or null when the source has none. */
  get(workload: string, policy: string): Promise<FigureRun | null>;
  /** Setup of the runs, for the README. */
  setup(): Promise<string>;
}

export function freshMatrix(cache: RunCache, cfg: FigureConfig, seed: number): MatrixSource {
  const get = (workload: string, policy: string) =>
    cache.run({
      workload, policy: policy as "vmdedup", guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.matrixDurationSec,
      pagesToScan: cfg.matrixPagesToScan, sleepMillisecs: cfg.sleepMillisecs, oracleEverySec: cfg.oracleEverySec, seed,
    });
  return {
    source: "fresh simulation runs",
    workloads: [...WORKLOAD_ORDER],
    get,
    async setup() {
      return `${describeRun(await get("web-server", "none"))} (Linux's default ksmd rate); mixed: 4 families of ${cfg.matrixGuests / 4} guests; oracle sampled every ${cfg.oracleEverySec} s`;
    },
  };
}

export function documentMatrix(doc: ResultsDocument, file: string): MatrixSource {
  const runs = matrixRuns(doc);
  const present = new Set([...runs.values()].map((r) => r.workload));
  const workloads = [...WORKLOAD_ORDER.filter((w) => present.has(w)), ...[...present].filter((w) => !(WORKLOAD_ORDER as readonly string[]).includes(w))];
  return {
    source: `results document ${file} (commit ${doc.commit}), its matrix runs`,
    workloads,
    get: async (workload, policy) => runs.get(`${workload}/${policy}`) ?? null,
    async setup() {
      const any = runs.values().next().value;
      return any ? describeRun(any) : "no matrix runs";
    },
  };
}
