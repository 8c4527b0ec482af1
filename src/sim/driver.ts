/**
 * The simulation driver: a simulated clock in fixed ticks (tickMs, default 20 ms).
 *
 * Each tick [t, t+dt):
 *  1. guests whose start time has come are created and booted (contents written at once);
 *  2. CPU demand: the scanner wants its outstanding batch cost (debt) plus the expected cost of
 *     the batches due in this tick (one every sleepMillisecs; all of dt when sleep is 0), capped
 *     at one CPU (the simulated scanner is one thread like ksmd; hashing workers change only the
 *     wall-clock `measured` figures, so results are identical for every worker count); each guest wants its planned operations' cost plus its debt,
 *     capped at one vCPU. hostCpus x dt is shared CFS-like by weight (guest = 1, scanner =
 *     1.25^-nice, ksmd's nice 5 by default), nobody getting more than it wants;
 *  3. the scanner pays its debt, then runs batches (scanner.scan(pagesToScan)) while budget
 *     remains and a wake-up falls inside the tick; each batch's cost comes from the cost model
 *     over work()/hv.stats() deltas; an overrun becomes debt (it is starved, not sped up);
 *  4. guests perform the share of their planned operations their CPU covers; CoW breaks,
 *     copies and PV page-table updates found in hv counters are charged, overruns become debt;
 *  5. if the scanner merged anything, pending duplicate pages are checked (time-to-merge);
 *  6. every sampleEverySec: a sample of savings and counters; every oracleEverySec: the oracle.
 * Batches change memory at the start of their tick; their CPU time is charged over the
 * following ticks. Nothing here reads the wall clock except the `measured` figures.
 */
import { createScanner, maxSharing, type Scanner, type ScannerWork } from "../dedup/index.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { allocateCpu, CostModel, DEFAULT_CALIBRATION_PATH, loadCalibration, niceWeight } from "./cost-model.ts";
import { MergeTimes, percentile, round, SAVINGS_DEFINITIONS, SavingsMeter } from "./metrics.ts";
import { RESULT_SCHEMA, type OracleSeries, type RunOptions, type RunResult, type TimeSeries } from "./result.ts";
import { resolveSpec, type ResolvedWorkload, type WorkloadSpec } from "./spec.ts";
import { WorkloadRunner, type OpTally } from "./workload-runner.ts";
import { getWorkload } from "./workloads.ts";

export interface SimOptions {
  workload: string | WorkloadSpec;
  policy: RunOptions["policy"];
  guests?: number;
  guestMem?: number; // bytes
  seed?: number;
  durationSec?: number; // default: auto (see defaultDuration)
  tickMs?: number;
  hostCpus?: number;
  scannerNice?: number;
  /** CFS weight of the scanner relative to one guest vCPU; overrides scannerNice (e.g. 0.001 to starve it). */
  scannerWeight?: number;
  pagesToScan?: number;
  sleepMillisecs?: number;
  smartScan?: boolean;
  useZeroPages?: boolean; // default: the policy's default
  maxPageSharing?: number;
  workers?: number;
  sampleEverySec?: number;
  oracleEverySec?: number;
  calibrationPath?: string;
  onProgress?: (tSec: number, durationSec: number) => void;
  /** Tests: run hv.audit() at every sample and at the end (throws AuditError). */
  audit?: boolean;
}

export const SIM_DEFAULTS = {
  seed: 1, tickMs: 20, hostCpus: 2, scannerNice: 5, pagesToScan: 2000, sleepMillisecs: 20, smartScan: true,
  maxPageSharing: 256, workers: 0, sampleEverySec: 1, oracleEverySec: 10, minDurationSec: 60, minFullPasses: 6,
} as const;

/** When the last guest reaches its last (steady) phase. */
export function steadyPhaseStart(w: ResolvedWorkload): number {
  let t = 0;
  for (const f of w.families) {
    const lastStart = f.startSec + (f.guests - 1) * f.staggerSec;
    const warm = f.phases.slice(0, -1).reduce((a, p) => a + p.durationSec, 0);
    t = Math.max(t, lastStart + warm);
  }
  return t;
}

/** Default duration: at least 60 s, 20 s of steady state, and minFullPasses passes over all guest memory at the scan rate. */
export function defaultDuration(w: ResolvedWorkload, pagesToScan: number, sleepMillisecs: number): number {
  const rate = sleepMillisecs > 0 ? pagesToScan / (sleepMillisecs / 1000) : Infinity;
  const lastStart = Math.max(...w.families.map((f) => f.startSec + (f.guests - 1) * f.staggerSec));
  const passes = lastStart + (SIM_DEFAULTS.minFullPasses * w.totalPages) / rate;
  return Math.ceil(Math.max(SIM_DEFAULTS.minDurationSec, steadyPhaseStart(w) + 20, passes));
}

function check(name: string, v: number, min: number, max: number, int = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
    throw new InvalidArgumentError(`${name} must be ${int ? "an integer" : "a number"} from ${min} to ${max}, got ${v}`);
  return v;
}

export async function runSimulation(opts: SimOptions): Promise<RunResult> {
  const wallStart = performance.now();
  const startedAt = new Date().toISOString();
  const spec = typeof opts.workload === "string" ? getWorkload(opts.workload) : opts.workload;
  const w = resolveSpec(spec, { guests: opts.guests, guestMem: opts.guestMem });
  const d = SIM_DEFAULTS;
  const seed = check("seed", opts.seed ?? d.seed, 0, 2 ** 31 - 1, true);
  const tickMs = check("tickMs", opts.tickMs ?? d.tickMs, 1, 1000);
  const hostCpus = check("hostCpus", opts.hostCpus ?? d.hostCpus, 1, 256, true);
  const scannerNice = check("scannerNice", opts.scannerNice ?? d.scannerNice, -20, 19, true);
  const pagesToScan = check("pagesToScan", opts.pagesToScan ?? d.pagesToScan, 1, 1 << 24, true);
  const sleepMs = check("sleepMillisecs", opts.sleepMillisecs ?? d.sleepMillisecs, 0, 60000, true);
  const durationSec = check("duration", opts.durationSec ?? defaultDuration(w, pagesToScan, sleepMs), tickMs / 1000, 1e6);
  const sampleEverySec = check("sampleEvery", opts.sampleEverySec ?? d.sampleEverySec, tickMs / 1000, durationSec);
  const oracleEverySec = check("oracleEvery", opts.oracleEverySec ?? d.oracleEverySec, sampleEverySec, 1e6);
  const calibrationPath = opts.calibrationPath ?? DEFAULT_CALIBRATION_PATH;
  const calibration = loadCalibration(calibrationPath);
  const cost = new CostModel(calibration);

  const runner = new WorkloadRunner(w, seed);
  const hv = runner.hv;
  const scanner: Scanner = createScanner(hv, {
    policy: opts.policy, pagesToScan, sleepMillisecs: sleepMs, smartScan: opts.smartScan ?? d.smartScan,
    useZeroPages: opts.useZeroPages, maxPageSharing: opts.maxPageSharing ?? d.maxPageSharing, workers: opts.workers ?? d.workers, seed,
  });
  const so = scanner.options;
  const options: RunOptions = {
    workload: w.name, policy: opts.policy, guests: w.totalGuests, guestMemBytes: w.families[0]!.pages * 4096, seed, durationSec, tickMs, hostCpus,
    scannerNice, scannerWeight: round(weight0(opts, scannerNice), 6), pagesToScan, sleepMillisecs: sleepMs, smartScan: so.smartScan, useZeroPages: so.useZeroPages, maxPageSharing: so.maxPageSharing,
    workers: so.workers, sampleEverySec, oracleEverySec, steadyFromSec: 0,
  };
  options.steadyFromSec = round(Math.min(durationSec, Math.max(steadyPhaseStart(w), 0.75 * durationSec)), 3);

  const dt = tickMs / 1000;
  const ticks = Math.round(durationSec / dt);
  const ticksPerSample = Math.max(1, Math.round(sampleEverySec / dt));
  const samplesPerOracle = Math.max(1, Math.round(oracleEverySec / (ticksPerSample * dt)));
  const sleepSec = sleepMs / 1000;
  const scanCap = dt; // one CPU, whatever the worker count (see the header)
  const guests = runner.guests;
  const demand = new Float64Array(guests.length + 1);
  const weight = new Float64Array(guests.length + 1).fill(1);
  weight[0] = opts.scannerWeight === undefined ? niceWeight(scannerNice) : check("scannerWeight", opts.scannerWeight, 1e-9, 1e6);
  const alloc = new Float64Array(guests.length + 1);
  const meter = new SavingsMeter(runner);
  const ttm = new MergeTimes();
  const series: TimeSeries = {
    tSec: [], guestPages: [], populatedPages: [], framesUsed: [], savingsPct: [], savingsExclZeroPct: [], pagesShared: [], pagesSharing: [],
    cowBreaks: [], cowBreaksPerSec: [], pagesScanned: [], fullScans: [], scannerCpuShare: [], guestOpsPerSec: [],
  };
  const oracle: OracleSeries = { tSec: [], savablePct: [], savableExclZeroPct: [], efficiency: [], efficiencyExclZero: [] };
  const batchUs: number[] = [];
  let scannerWall = 0;
  let oracleWall = 0;
  let scannerDebt = 0;
  let nextWake = 0;
  let lastBatchCost = pagesToScan * (cost.s.visitPage + cost.s.hashPage);
  let scannerCpu = 0;
  let intervalScannerCpu = 0;
  let intervalOps = 0;
  let totalPagesScanned = 0;
  let lastCow = 0;
  let work: ScannerWork = scanner.work();
  const tally: OpTally = { ops: 0, bytes: 0, cowBreaks: 0, cowCopies: 0, ptUpdates: 0 };
  let finalOracle = { savable: 0, savableExcl: 0 };
  let sampleIndex = 0;

  for (let k = 0; k < ticks; k++) {
    const t = k * dt;
    runner.startDue(t);
    // 2. demand
    const due = sleepSec > 0 ? Math.max(0, Math.ceil((t + dt - Math.max(nextWake, t)) / sleepSec - 1e-9)) : Infinity;
    demand[0] = nextWake < t + dt ? Math.min(scanCap, scannerDebt + lastBatchCost * due) : Math.min(scanCap, scannerDebt);
    for (let i = 0; i < guests.length; i++) {
      const g = guests[i]!;
      demand[i + 1] = g.guest ? Math.min(dt, g.debt + runner.plan(g, t, dt, cost.s.writeByte * 1e9)) : 0;
    }
    allocateCpu(hostCpus * dt, demand, weight, alloc);
    // 3. scanner
    let budget = alloc[0]! - scannerDebt;
    scannerDebt = Math.max(0, -budget);
    let merged = false;
    while (budget >= 0 && nextWake < t + dt) {
      const pt0 = hv.ptUpdates;
      const w0 = performance.now();
      const visited = await scanner.scan(pagesToScan);
      const us = (performance.now() - w0) * 1000;
      scannerWall += us / 1e6;
      batchUs.push(us);
      const w1 = scanner.work();
      const c = cost.scannerBatch(visited, w1, work, hv.ptUpdates - pt0);
      if (w1.merges !== work.merges) merged = true;
      work = w1;
      totalPagesScanned += visited;
      lastBatchCost = c;
      budget -= c;
      const used = alloc[0]! - Math.max(0, budget);
      nextWake = t + (alloc[0]! > 0 ? (used / alloc[0]!) * dt : 0) + sleepSec;
      if (sleepSec === 0 && (visited === 0 || c === 0)) break; // nothing to scan, or free: do not spin
    }
    if (budget < 0) scannerDebt = -budget;
    const scanUsed = alloc[0]! - Math.max(0, budget);
    scannerCpu += scanUsed;
    intervalScannerCpu += scanUsed;
    // 4. guests
    for (let i = 0; i < guests.length; i++) {
      const g = guests[i]!;
      if (!g.guest) continue;
      const planned = demand[i + 1]! - g.debt;
      const ratio = planned > 0 ? Math.max(0, Math.min(1, (alloc[i + 1]! - g.debt) / planned)) : 0;
      tally.ops = tally.bytes = tally.cowBreaks = tally.cowCopies = tally.ptUpdates = 0;
      runner.runOps(g, t, ratio, tally);
      const c = cost.guestOps(tally.ops, g.family.cpuPerOpSec, tally.bytes, tally.cowBreaks, tally.cowCopies, tally.ptUpdates);
      const cowPart = c - cost.guestOps(tally.ops, g.family.cpuPerOpSec, tally.bytes, 0, 0, 0);
      if (tally.ops > 0) g.cowCostPerOp = cowPart / tally.ops;
      g.debt = Math.max(0, g.debt + c - alloc[i + 1]!);
      intervalOps += tally.ops;
    }
    // 5. time-to-merge
    if (merged) runner.collectMerged(t + dt, ttm.record);
    // 6. samples
    if ((k + 1) % ticksPerSample === 0 || k === ticks - 1) {
      const now = (k + 1) * dt;
      const span = ticksPerSample * dt;
      const s = meter.sample();
      const st = scanner.stats();
      const cow = hv.cowBreaks;
      const pct = (x: number) => (s.guestPages ? round((100 * x) / s.guestPages) : 0);
      series.tSec.push(round(now, 3));
      series.guestPages.push(s.guestPages);
      series.populatedPages.push(s.populated);
      series.framesUsed.push(s.framesUsed);
      series.savingsPct.push(pct(s.savedPages));
      series.savingsExclZeroPct.push(pct(s.savedExclZeroPages));
      series.pagesShared.push(st.pagesShared);
      series.pagesSharing.push(st.pagesSharing);
      series.cowBreaks.push(cow);
      series.cowBreaksPerSec.push(round((cow - lastCow) / span));
      series.pagesScanned.push(totalPagesScanned);
      series.fullScans.push(st.fullScans);
      series.scannerCpuShare.push(round(intervalScannerCpu / (hostCpus * span), 6));
      series.guestOpsPerSec.push(round(intervalOps / span));
      lastCow = cow;
      intervalScannerCpu = 0;
      intervalOps = 0;
      sampleIndex++;
      if (sampleIndex % samplesPerOracle === 0 || k === ticks - 1) {
        const o0 = performance.now();
        const o = maxSharing(hv);
        oracleWall += (performance.now() - o0) / 1000;
        finalOracle = { savable: o.savablePages, savableExcl: o.savablePagesExclZero };
        oracle.tSec.push(round(now, 3));
        oracle.savablePct.push(pct(o.savablePages));
        oracle.savableExclZeroPct.push(pct(o.savablePagesExclZero));
        oracle.efficiency.push(o.savablePages ? round(s.savedPages / o.savablePages) : null);
        oracle.efficiencyExclZero.push(o.savablePagesExclZero ? round(s.savedExclZeroPages / o.savablePagesExclZero) : null);
      }
      if (opts.audit) hv.audit();
      opts.onProgress?.(now, durationSec);
    }
  }
  runner.collectMerged(ticks * dt, ttm.record);
  const st = scanner.stats();
  await scanner.close();
  if (opts.audit) hv.audit();

  const n = series.tSec.length;
  const steady = series.tSec.map((t, i) => (t > options.steadyFromSec + 1e-9 || i === n - 1 ? i : -1)).filter((i) => i >= 0);
  const mean = (a: number[]) => round(steady.reduce((x, i) => x + a[i]!, 0) / steady.length);
  const last = (a: number[]) => a[n - 1] ?? 0;
  const gp = last(series.guestPages);
  const sorted = Float64Array.from(batchUs).sort();
  const savedPages = last(series.populatedPages) - last(series.framesUsed);
  const result: RunResult = {
    schema: RESULT_SCHEMA,
    workload: { name: w.name, spec },
    seed,
    options,
    calibration: { ...calibration, path: calibrationPath === DEFAULT_CALIBRATION_PATH ? "src/sim/calibration/default.json" : calibrationPath },
    series,
    oracle,
    summary: {
      definitions: SAVINGS_DEFINITIONS,
      savingsPct: last(series.savingsPct),
      savingsExclZeroPct: last(series.savingsExclZeroPct),
      steadySavingsPct: mean(series.savingsPct),
      steadySavingsExclZeroPct: mean(series.savingsExclZeroPct),
      oracleSavablePct: gp ? round((100 * finalOracle.savable) / gp) : 0,
      oracleSavableExclZeroPct: gp ? round((100 * finalOracle.savableExcl) / gp) : 0,
      efficiency: finalOracle.savable ? round(savedPages / finalOracle.savable) : null,
      efficiencyExclZero: finalOracle.savableExcl ? round(((last(series.savingsExclZeroPct) / 100) * gp) / finalOracle.savableExcl) : null,
      cowBreaks: hv.cowBreaks,
      steadyCowBreaksPerSec: mean(series.cowBreaksPerSec),
      pagesScanned: totalPagesScanned,
      fullScans: st.fullScans,
      scannerCpuShare: round(scannerCpu / (hostCpus * ticks * dt), 6),
      steadyGuestOpsPerSec: mean(series.guestOpsPerSec),
      baselineGuestOpsPerSec: null,
      throughputLossPct: null,
      timeToMerge: ttm.summary(runner.pendingCount()),
    },
    measured: {
      startedAt,
      wallSec: round((performance.now() - wallStart) / 1000, 3),
      scannerWallSec: round(scannerWall, 4),
      scannerPagesPerSec: scannerWall > 0 && totalPagesScanned > 0 ? Math.round(totalPagesScanned / scannerWall) : null,
      batchLatencyUs: { p50: pr(sorted, 0.5), p90: pr(sorted, 0.9), p99: pr(sorted, 0.99), max: pr(sorted, 1) },
      oracleWallSec: round(oracleWall, 4),
    },
  };
  return result;
}

const weight0 = (o: SimOptions, nice: number) => o.scannerWeight ?? niceWeight(nice);

const pr = (s: Float64Array, p: number) => {
  const v = percentile(s, p);
  return v === null ? null : round(v, 2);
};

/** Fills the throughput comparison of `result` from the same run under policy none. */
export function compareWithBaseline(result: RunResult, baseline: RunResult): RunResult {
  const b = baseline.summary.steadyGuestOpsPerSec;
  result.summary.baselineGuestOpsPerSec = b;
  result.summary.throughputLossPct = b > 0 ? round((1 - result.summary.steadyGuestOpsPerSec / b) * 100) : null;
  return result;
}
