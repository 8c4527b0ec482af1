/**
 * Where figures get their simulation runs: fresh runs through the driver (memoised, so the
 * figures sharing the workload x policy matrix run it once), or a results document's macro runs
 * (`--from results.json`). Both become FigureRuns. Fresh runs of a policy are compared with the
 * same run under policy none (throughput loss), which is run first.
 */
import { compareWithBaseline, runSimulation, type SimOptions } from "../../sim/driver.ts";
import type { RunResult } from "../../sim/result.ts";
import type { WorkloadSpec } from "../../sim/spec.ts";
import { getWorkload } from "../../../workloads/index.ts";
import type { MacroRun, ResultsDocument } from "../results-schema.ts";
import type { FigureRun } from "./figure.ts";

export interface RunRequest {
  workload: string;
  policy: "vmdedup" | "ksm" | "esx" | "none";
  mode?: "hvm" | "pv";
  guests: number;
  guestMemBytes: number;
  durationSec: number;
  /** null: the simulator's default scan rate. */
  pagesToScan: number | null;
  sleepMillisecs: number | null;
  oracleEverySec?: number;
  seed: number;
  /** Also run policy none with the same options and fill in the throughput loss (default true). */
  baseline?: boolean;
}

/** The canned workload `name` with every family's guests in `mode`. */
export function workloadInMode(name: string, mode: "hvm" | "pv"): WorkloadSpec {
  const spec = structuredClone(getWorkload(name));
  for (const f of spec.families) f.mode = mode;
  return spec;
}

function toFigureRun(r: RunResult, req: RunRequest): FigureRun {
  return {
    workload: req.workload,
    policy: r.options.policy,
    mode: req.mode ?? "hvm",
    guests: r.options.guests,
    guestMemBytes: r.options.guestMemBytes,
    durationSec: r.options.durationSec,
    pagesToScan: req.pagesToScan,
    sleepMillisecs: req.sleepMillisecs,
    seed: r.seed,
    summary: r.summary,
    series: r.series,
    oracle: r.oracle,
  };
}

/** Runs simulations once per distinct request; policy runs get their throughput loss against none. */
export class RunCache {
  private readonly done = new Map<string, Promise<{ result: RunResult; run: FigureRun }>>();
  /** Fresh simulations made so far. */
  count = 0;

  constructor(private readonly progress: (line: string) => void = () => {}) {}

  private key(req: RunRequest): string {
    return JSON.stringify([req.workload, req.policy, req.mode ?? "hvm", req.guests, req.guestMemBytes, req.durationSec, req.pagesToScan, req.sleepMillisecs, req.oracleEverySec ?? null, req.seed, req.baseline !== false]);
  }

  private simulate(req: RunRequest): Promise<{ result: RunResult; run: FigureRun }> {
    const key = this.key(req);
    let p = this.done.get(key);
    if (p) return p;
    p = (async () => {
      const baseline = req.policy === "none" || req.baseline === false ? null : (await this.simulate({ ...req, policy: "none" })).result;
      const label = `${req.workload}${req.mode === "pv" ? " (PV)" : ""} / ${req.policy}, ${req.guests} guests${req.pagesToScan === null ? "" : `, pagesToScan ${req.pagesToScan}`}`;
      const opts: SimOptions = {
        workload: req.mode === "pv" ? workloadInMode(req.workload, "pv") : getWorkload(req.workload),
        policy: req.policy,
        guests: req.guests,
        guestMem: req.guestMemBytes,
        durationSec: req.durationSec,
        seed: req.seed,
        ...(req.pagesToScan === null ? {} : { pagesToScan: req.pagesToScan }),
        ...(req.sleepMillisecs === null ? {} : { sleepMillisecs: req.sleepMillisecs }),
        ...(req.oracleEverySec === undefined ? {} : { oracleEverySec: req.oracleEverySec }),
        onProgress: (t, total) => this.progress(`${label}: ${Math.round((100 * t) / total)}%`),
      };
      const result = await runSimulation(opts);
      this.count++;
      if (baseline) compareWithBaseline(result, baseline);
      Bun.gc(true); // release the run's machine memory before the next one
      return { result, run: toFigureRun(result, req) };
    })();
    this.done.set(key, p);
    return p;
  }

  async run(req: RunRequest): Promise<FigureRun> {
    return (await this.simulate(req)).run;
  }
}

/** A results document's matrix run as a FigureRun (the suite ran HVM guests at the simulator's default scan rate). */
export function macroToFigureRun(r: MacroRun): FigureRun {
  return {
    workload: r.workload,
    policy: r.policy,
    mode: "hvm",
    guests: r.guests,
    guestMemBytes: r.guestMemBytes,
    durationSec: r.durationSec,
    pagesToScan: null,
    sleepMillisecs: null,
    seed: r.seed,
    summary: r.summary,
    series: r.series,
    oracle: r.oracle,
  };
}

/** The matrix runs (0 workers) of a results document, by "workload/policy". */
export function matrixRuns(doc: ResultsDocument): Map<string, FigureRun> {
  const out = new Map<string, FigureRun>();
  for (const r of doc.macro.runs) if (r.group === "matrix") out.set(`${r.workload}/${r.policy}`, macroToFigureRun(r));
  return out;
}
