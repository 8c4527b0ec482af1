/**
 * The workload x policy matrix behind figures 2, 4 and 7: fresh runs (HVM guests at the figure
 * config's size and Linux's default scan rate) or a results document's matrix runs (`--from`).
 * A MatrixSource makes (or finds) runs on demand; collectMatrix gathers the runs the figures
 * need into a MatrixView, which the figures read without running anything.
 */
import type { Policy } from "../../dedup/index.ts";
import type { WorkloadCatalog } from "../catalog.ts";
import type { MacroRun } from "../macro-suite.ts";
import type { RunRequest } from "../run.ts";
import type { RunResult } from "../../sim/index.ts";
import type { FigureConfig } from "./config.ts";
import { describeRun, figureRunOf, macroToFigureRun, type FigureMitigation, type FigureRun, type FigureRunRequest } from "./runs.ts";

export interface MatrixSource {
  /** "fresh simulation runs" or "results document <file> (commit c), its matrix runs". */
  source: string;
  /** Workloads available, in figure order. */
  workloads: string[];
  /** The run of `workload` under `policy`, or null when the source has none. */
  get(workload: string, policy: Policy): Promise<FigureRun | null>;
  /** Setup of the runs, for the README. */
  setup(): Promise<string>;
}

/** The runs of a source the figures asked for, read synchronously. */
export interface MatrixView {
  source: string;
  workloads: string[];
  setup: string;
  /** The run of `workload` under `policy`, or null when the source has none (or it was not collected). */
  get(workload: string, policy: Policy): FigureRun | null;
}

/** A fresh matrix run of `workload` under `policy` (with its none baseline). */
export const matrixRunRequest = (catalog: WorkloadCatalog, cfg: FigureConfig, seed: number, workload: string, policy: Policy, mitigation: FigureMitigation = {}): FigureRunRequest => ({
  workload: catalog.get(workload), policy, guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.matrixDurationSec,
  pagesToScan: cfg.matrixPagesToScan, sleepMillisecs: cfg.sleepMillisecs, oracleEverySec: cfg.oracleEverySec, seed, ...mitigation,
});

/** The run whose setup line the README shows. */
export const SETUP_RUN = { workload: "web-server", policy: "none" } as const;

/** Fresh matrix runs, read from simulations already made (`made`: a request's result). */
export function freshMatrix(made: (req: RunRequest) => RunResult, catalog: WorkloadCatalog, cfg: FigureConfig, seed: number, mitigation: FigureMitigation = {}): MatrixSource {
  const get = async (workload: string, policy: Policy) => figureRunOf(made, matrixRunRequest(catalog, cfg, seed, workload, policy, mitigation));
  return {
    source: "fresh simulation runs",
    workloads: catalog.names(),
    get,
    async setup() {
      return `${describeRun(await get(SETUP_RUN.workload, SETUP_RUN.policy))} (Linux's default ksmd rate); mixed: 4 families of ${cfg.matrixGuests / 4} guests; oracle sampled every ${cfg.oracleEverySec} s`;
    },
  };
}

/** A results document's matrix runs; `order` (the catalog's names) orders the workloads it holds, others follow. */
export function documentMatrix(doc: { commit: string; macro: { runs: readonly MacroRun[] } }, file: string, order: readonly string[]): MatrixSource {
  const runs = new Map<string, FigureRun>();
  for (const r of doc.macro.runs) if (r.group === "matrix") runs.set(`${r.workload}/${r.policy}`, macroToFigureRun(r));
  const present = new Set([...runs.values()].map((r) => r.workload));
  const workloads = [...order.filter((w) => present.has(w)), ...[...present].filter((w) => !order.includes(w))];
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

/** Makes (or finds) the runs of `workloads` x `policies` the source has, then its setup line. */
export async function collectMatrix(m: MatrixSource, workloads: readonly string[], policies: readonly Policy[]): Promise<MatrixView> {
  const runs = new Map<string, FigureRun>();
  for (const w of workloads.filter((x) => m.workloads.includes(x))) {
    for (const p of policies) {
      const r = await m.get(w, p);
      if (r) runs.set(`${w}/${p}`, r);
    }
  }
  const setup = await m.setup();
  return { source: m.source, workloads: m.workloads, setup, get: (w, p) => runs.get(`${w}/${p}`) ?? null };
}
