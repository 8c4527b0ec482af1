/**
 * The runs and measurements behind each paper figure, made (or read) in figure order and shared
 * between figures through one RunCache:
 *   figure 1  vmdedup on every canned workload at each guest count (simulator default scan rate);
 *   2, 4, 7   the workload x policy matrix (matrix.ts), fresh or from a results document (`from`);
 *   figure 3  each de-duplication policy on the sweep workload at each pagesToScan;
 *   figure 5  the merge cost (merge-cost.ts) and a full run of each policy, HVM and PV guests;
 *   figure 6  scanner throughput against worker threads (worker-throughput.ts, wall-clock);
 *   figure 8  the security matrix (attack/security-matrix.ts: every dedup policy x mitigation),
 *             fresh or from a results document's security section (`from`).
 * Figures 1, 3 and 5 always run their own sweeps (no results document holds them). report/
 * turns this data into the figures without running anything.
 */
import os from "node:os";
import { resolveSpec, type WorkloadSpec } from "../../sim/index.ts";
import { checkSaltCoverage, resolveMitigation } from "../../dedup/index.ts";
import type { WorkloadCatalog } from "../catalog.ts";
import type { MacroRun } from "../macro-suite.ts";
import { RunCache } from "../run-cache.ts";
import { DEDUP_POLICIES } from "../run.ts";
import { runSecurityMatrix, type SecuritySection } from "../attack/index.ts";
import type { FigureConfig } from "./config.ts";
import { collectMatrix, documentMatrix, freshMatrix, type MatrixView } from "./matrix.ts";
import { measureMergeCost, type MergeCost } from "./merge-cost.ts";
import { figureRun, figureRunLabel, type FigureMitigation, type FigureRun } from "./runs.ts";
import { measureWorkers, type WorkerSample } from "./worker-throughput.ts";

export interface FigureData {
  fig1?: FigureRun[];
  /** Figures 2, 4 and 7; `timeline`: the workloads of figures 2 and 7. */
  matrix?: MatrixView;
  timeline: string[];
  fig3?: FigureRun[];
  fig5?: { costs: MergeCost[]; runs: FigureRun[] };
  fig6?: { samples: WorkerSample[]; cpu: string; cores: number };
  /** Figure 8: the security matrix and where it came from. */
  fig8?: { section: SecuritySection; source: string };
}

export interface CollectOptions {
  cfg: FigureConfig;
  catalog: WorkloadCatalog;
  seed: number;
  /** The figures to collect for. */
  only: ReadonlySet<number>;
  from?: { doc: { commit: string; macro: { runs: readonly MacroRun[] }; security?: SecuritySection }; file: string };
  progress: (line: string) => void;
  /** The mitigation of every fresh simulation run (absent: off). Figure 6 times the scanner without one. */
  mitigation?: FigureMitigation;
}

/** Guest counts a workload can run at: a mixed host needs one guest per family at least, and as many of each. */
export function guestCountsFor(spec: WorkloadSpec, counts: readonly number[]): number[] {
  const families = spec.families.length;
  return counts.filter((n) => n >= families && n % families === 0);
}

/**
 * Checks a salt-group list against every host the selected figures run fresh (as `vmdedup run`
 * checks one: InvalidArgumentError with the same message), before anything runs. Figure 6 runs
 * no workload; figure 8 runs every mitigation with its own salts (one per guest).
 */
export function checkFigureSaltGroups(cfg: FigureConfig, catalog: WorkloadCatalog, only: ReadonlySet<number>, m: FigureMitigation | undefined, fromDoc: boolean): void {
  if (!m?.mitigation) return;
  const resolved = resolveMitigation({ kind: m.mitigation, saltGroups: m.saltGroups });
  if (!Array.isArray(resolved.saltGroups)) return;
  const hosts: [WorkloadSpec, number][] = [];
  if (only.has(1)) for (const w of catalog.names()) for (const n of guestCountsFor(catalog.get(w), cfg.guestCounts)) hosts.push([catalog.get(w), n]);
  if ((only.has(2) || only.has(4) || only.has(7)) && !fromDoc) for (const w of catalog.names()) hosts.push([catalog.get(w), cfg.matrixGuests]);
  if (only.has(3)) hosts.push([catalog.get(cfg.sweepWorkload), cfg.sweepGuests]);
  if (only.has(5)) hosts.push([catalog.get(cfg.pvWorkload), cfg.matrixGuests]);
  for (const [spec, guests] of hosts) checkSaltCoverage(resolved, resolveSpec(spec, { guests }).totalGuests);
}

async function figure1Runs(o: CollectOptions, cache: RunCache): Promise<FigureRun[]> {
  const runs: FigureRun[] = [];
  for (const workload of o.catalog.names()) {
    const spec = o.catalog.get(workload);
    for (const guests of guestCountsFor(spec, o.cfg.guestCounts)) {
      runs.push(await figureRun(cache, {
        workload: spec, policy: "vmdedup", guests, guestMemBytes: o.cfg.guestMemBytes, durationSec: o.cfg.guestsDurationSec,
        pagesToScan: null, sleepMillisecs: null, seed: o.seed, baseline: false, ...o.mitigation,
      }));
    }
  }
  return runs;
}

async function figure3Runs(o: CollectOptions, cache: RunCache): Promise<FigureRun[]> {
  const runs: FigureRun[] = [];
  for (const policy of DEDUP_POLICIES) {
    for (const pagesToScan of o.cfg.sweepPagesToScan) {
      runs.push(await figureRun(cache, {
        workload: o.catalog.get(o.cfg.sweepWorkload), policy, guests: o.cfg.sweepGuests, guestMemBytes: o.cfg.guestMemBytes, durationSec: o.cfg.sweepDurationSec,
        pagesToScan, sleepMillisecs: o.cfg.sleepMillisecs, seed: o.seed, baseline: false, ...o.mitigation,
      }));
    }
  }
  return runs;
}

async function figure5Data(o: CollectOptions, cache: RunCache): Promise<NonNullable<FigureData["fig5"]>> {
  const { cfg } = o;
  const spec = o.catalog.get(cfg.pvWorkload);
  const costs: MergeCost[] = [];
  const runs: FigureRun[] = [];
  for (const mode of ["hvm", "pv"] as const) {
    for (const policy of DEDUP_POLICIES) {
      o.progress(`merge cost: ${cfg.pvWorkload} ${mode.toUpperCase()} / ${policy}`);
      costs.push(await measureMergeCost(spec, mode, policy, cfg.matrixGuests, cfg.guestMemBytes, o.seed));
      Bun.gc(true);
      runs.push(await figureRun(cache, {
        workload: spec, policy, mode, guests: cfg.matrixGuests, guestMemBytes: cfg.guestMemBytes, durationSec: cfg.matrixDurationSec,
        pagesToScan: cfg.matrixPagesToScan, sleepMillisecs: cfg.sleepMillisecs, oracleEverySec: cfg.oracleEverySec, seed: o.seed, ...o.mitigation,
      }));
    }
  }
  return { costs, runs };
}

/** Figure 8: the results document's security section when it has one, else the matrix run fresh (its own host runs, not counted in `simulations`). */
async function figure8Data(o: CollectOptions): Promise<NonNullable<FigureData["fig8"]>> {
  const doc = o.from?.doc.security;
  if (o.from && doc && doc.rows.length > 0) return { section: doc, source: `results document ${o.from.file} (commit ${o.from.doc.commit}), its security section` };
  const { cfg } = o;
  const section = await runSecurityMatrix({
    workloads: cfg.securityWorkloads, catalog: o.catalog, policies: [...DEDUP_POLICIES], trials: cfg.securityTrials, seed: o.seed,
    guests: cfg.securityGuests, guestMemBytes: cfg.securityGuestMemBytes, durationSec: cfg.securityDurationSec,
  }, (line) => o.progress(line));
  return { section, source: "fresh attack and host runs (src/experiments/attack/security-matrix.ts)" };
}

/** Everything the figures in `o.only` need; `simulations`: the fresh simulations made. */
export async function collectFigureData(o: CollectOptions): Promise<{ data: FigureData; simulations: number }> {
  const cache = new RunCache({ progress: (req) => (t, total) => o.progress(`${figureRunLabel(req)}: ${Math.round((100 * t) / total)}%`) });
  const data: FigureData = { timeline: [] };
  const want = (id: number) => o.only.has(id);
  if (want(1)) data.fig1 = await figure1Runs(o, cache);
  if (want(2) || want(4) || want(7)) {
    const source = o.from ? documentMatrix(o.from.doc, o.from.file, o.catalog.names()) : freshMatrix(cache, o.catalog, o.cfg, o.seed, o.mitigation);
    // figures 2 and 7: the config's workloads the source has, else its first two
    const present = o.cfg.timelineWorkloads.filter((w) => source.workloads.includes(w));
    data.timeline = present.length > 0 ? present : source.workloads.slice(0, 2);
    data.matrix = await collectMatrix(source, want(4) ? source.workloads : data.timeline, [...DEDUP_POLICIES, "none"]);
  }
  if (want(3)) data.fig3 = await figure3Runs(o, cache);
  if (want(5)) data.fig5 = await figure5Data(o, cache);
  if (want(6)) data.fig6 = { samples: await measureWorkers(o.cfg, o.progress), cpu: os.cpus()[0]?.model ?? "unknown CPU", cores: os.cpus().length };
  if (want(8)) data.fig8 = await figure8Data(o);
  return { data, simulations: cache.count };
}
