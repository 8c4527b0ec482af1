/**
 * The runs behind the paper figures (FigureRun: the view of a run record the figures read), made
 * fresh through a RunCache (memoised, so figures sharing the workload x policy matrix run it once;
 * each policy is compared with its none baseline, run first) or taken from a results document's
 * macro runs (`--from results.json`).
 */
import type { MitigationKind, Policy } from "../../dedup/index.ts";
import type { WorkloadSpec } from "../../sim/index.ts";
import { specInMode } from "../catalog.ts";
import type { MacroRun } from "../macro-suite.ts";
import type { RunCache } from "../run-cache.ts";
import type { GuestMode } from "../../hypervisor/index.ts";
import { baselineRequest, recordOf, withBaseline, type RunRecord, type RunRequest } from "../run.ts";
import type { RunResult } from "../../sim/index.ts";

/** A simulation run as the figures read it. */
export type FigureRun = Pick<RunRecord,
  "workload" | "policy" | "mode" | "guests" | "guestMemBytes" | "durationSec" | "pagesToScan" | "sleepMillisecs" | "seed" | "summary" | "series" | "oracle">;

export interface FigureRunRequest {
  workload: WorkloadSpec;
  policy: Policy;
  mode?: GuestMode;
  guests: number;
  guestMemBytes: number;
  durationSec: number;
  /** null: the simulator's default scan rate. */
  pagesToScan: number | null;
  sleepMillisecs: number | null;
  oracleEverySec?: number;
  seed: number;
  /** Compare with policy none on the same options (throughput loss; default true). */
  baseline?: boolean;
  /** The side-channel mitigation (`bun run figures --mitigation`; absent = off). */
  mitigation?: MitigationKind;
  saltGroups?: number | readonly number[];
}

/** The mitigation of the figures' fresh runs (`bun run figures --mitigation M [--salt-groups G]`); {} = off. */
export type FigureMitigation = Pick<FigureRunRequest, "mitigation" | "saltGroups">;

/** The simulation request of `f` (its spec in f.mode, HVM by default). */
export function figureRequest(f: FigureRunRequest): RunRequest {
  return {
    workload: f.mode === "pv" ? specInMode(f.workload, "pv") : f.workload,
    policy: f.policy,
    guests: f.guests,
    guestMem: f.guestMemBytes,
    durationSec: f.durationSec,
    seed: f.seed,
    ...(f.pagesToScan === null ? {} : { pagesToScan: f.pagesToScan }),
    ...(f.sleepMillisecs === null ? {} : { sleepMillisecs: f.sleepMillisecs }),
    ...(f.oracleEverySec === undefined ? {} : { oracleEverySec: f.oracleEverySec }),
    ...(f.mitigation === undefined ? {} : { mitigation: f.mitigation }),
    ...(f.saltGroups === undefined ? {} : { saltGroups: f.saltGroups }),
  };
}

/** The simulations `f` needs, in the order they are made: its none baseline (unless f.baseline is false or f is none), then f. */
export function figureSimulations(f: FigureRunRequest): RunRequest[] {
  const req = figureRequest(f);
  return f.baseline === false || f.policy === "none" ? [req] : [baselineRequest(req), req];
}

/** The run of `f` from simulations already made (`made`: a request's result), compared with its baseline unless f.baseline is false. */
export function figureRunOf(made: (req: RunRequest) => RunResult, f: FigureRunRequest): FigureRun {
  const req = figureRequest(f);
  const r = made(req);
  return recordOf(f.baseline === false || f.policy === "none" ? r : withBaseline(r, made(baselineRequest(req))), req);
}

/** The fresh run of `f` (its spec in f.mode, HVM by default), with its baseline unless f.baseline is false. */
export async function figureRun(cache: RunCache, f: FigureRunRequest): Promise<FigureRun> {
  const req = figureRequest(f);
  return recordOf(await cache.withBaseline(req, f.baseline !== false), req);
}

/** A results document's macro run as a FigureRun (the suite ran HVM guests at the simulator's default scan rate). */
export function macroToFigureRun(r: MacroRun): FigureRun {
  return {
    workload: r.workload, policy: r.policy, mode: "hvm", guests: r.guests, guestMemBytes: r.guestMemBytes, durationSec: r.durationSec,
    pagesToScan: null, sleepMillisecs: null, seed: r.seed, summary: r.summary, series: r.series, oracle: r.oracle,
  };
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

const MiB = 2 ** 20;
export const mib = (bytes: number): string => `${round(bytes / MiB, 1)} MiB`;

/** "4 HVM guests x 32 MiB, 60 s simulated, pagesToScan 100 every 20 ms" for a run. */
export function describeRun(r: FigureRun): string {
  const rate = r.pagesToScan === null ? "scan rate: simulator default" : `pagesToScan ${r.pagesToScan} every ${r.sleepMillisecs} ms`;
  return `${r.guests} ${r.mode.toUpperCase()} guests x ${mib(r.guestMemBytes)}, ${r.durationSec} s simulated, ${rate}`;
}
