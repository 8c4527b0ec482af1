/**
 * What a simulation run is asked for (SimOptions), its defaults, and their checking into the
 * numbers the Simulation runs on (SimConfig). Every option is checked before anything is
 * built, so a bad one fails with an InvalidArgumentError naming it and changes nothing.
 */
import { totalmem } from "node:os";
import { checkSaltCoverage, resolveMitigation, type MitigationKind, type ResolvedMitigation, type ScannerOptions } from "../dedup/index.ts";
import { InvalidArgumentError, MAX_FRAMES } from "../hypervisor/index.ts";
import { estimateProcessBytes, hostOptions, METADATA_BYTES_PER_GUEST_PAGE, resolveHost, type HostConfig, type HostRequest } from "./host-memory.ts";
import { DEFAULT_CALIBRATION_PATH, niceWeight } from "./cost-model.ts";
import { round } from "./metrics.ts";
import type { RunOptions } from "./result.ts";
import { resolveSpec, type ResolvedWorkload, type WorkloadSpec } from "./spec.ts";
import { parseSize } from "./units.ts";
import { loadReplayTrace, traceLengthSec, type ReplayTrace } from "./trace-replay.ts";

export interface SimOptions extends HostRequest {
  /** The workload; canned ones come as specs from a catalog handed down by cli/ (src/cli/workloads.ts), files from loadWorkloadFile. */
  workload: WorkloadSpec;
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
  /** Side-channel mitigation (src/dedup/mitigation.ts), default "off" (today's behaviour). */
  mitigation?: MitigationKind;
  /** salted only: a group count (guests round-robin) or one group per guest, in guest order. */
  saltGroups?: number | readonly number[];
  sampleEverySec?: number;
  oracleEverySec?: number;
  calibrationPath?: string;
  onProgress?: (tSec: number, durationSec: number) => void;
  /** Tests: run hv.audit() at every sample and at the end (throws AuditError). */
  audit?: boolean;
  /** Tests: run hv.audit() after every tick (host runs; slow). */
  auditEveryTick?: boolean;
  /** At the end, check every guest page's bytes against the content the run says it holds (VerifyError on a mismatch). */
  verify?: boolean;
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

/**
 * The resolved workload, and the decoded trace of a replay. A trace's guests are its own: --guests N
 * takes the first N (at most the trace's count), --guest-mem is refused.
 */
function resolveWorkload(spec: WorkloadSpec, opts: SimOptions): { w: ResolvedWorkload; replay: ReplayTrace | null } {
  if (spec.trace === undefined) return { w: resolveSpec(spec, { guests: opts.guests, guestMem: opts.guestMem }), replay: null };
  resolveSpec(spec);
  const t = spec.trace;
  if (opts.guestMem !== undefined)
    throw new InvalidArgumentError(`--guest-mem cannot be used with a trace (${t.path}): a replayed guest has the size it was dumped at`);
  const replay = loadReplayTrace(t.path, t.fileXxh3);
  const count = replay.guests.length;
  if (spec.families.length !== count || spec.families.some((f, i) => f.guests !== 1 || parseSize(f.memory) !== replay.guests[i]!.pageCount * 4096))
    throw new InvalidArgumentError(`workload "${spec.name}" does not describe trace ${t.path} (${count} guests): make it with traceWorkloadSpec`);
  const n = opts.guests ?? count;
  if (!Number.isInteger(n) || n < 1 || n > count)
    throw new InvalidArgumentError(`--guests ${n}: trace ${t.path} has ${count} guest${count > 1 ? "s" : ""}; a replay takes the first N, N from 1 to ${count}`);
  return { w: resolveSpec({ ...spec, families: spec.families.slice(0, n) }), replay };
}

/** A replay's default duration: the trace's length plus minFullPasses passes over the replayed guests at the scan rate. */
export function replayDuration(t: ReplayTrace, w: ResolvedWorkload, pagesToScan: number, sleepMillisecs: number, tickMs: number): number {
  const rate = sleepMillisecs > 0 ? pagesToScan / (sleepMillisecs / 1000) : Infinity;
  return Math.max(tickMs / 1000, Math.ceil(traceLengthSec(t, w.totalGuests) + (SIM_DEFAULTS.minFullPasses * w.totalPages) / rate));
}

/** SimOptions checked and defaulted: what the Simulation runs on. */
export interface SimConfig {
  spec: WorkloadSpec;
  workload: ResolvedWorkload;
  policy: RunOptions["policy"];
  seed: number;
  tickMs: number;
  hostCpus: number;
  scannerNice: number;
  /** CFS weight of the scanner against one guest vCPU (weight 1). */
  scannerWeight: number;
  pagesToScan: number;
  sleepMillisecs: number;
  durationSec: number;
  sampleEverySec: number;
  oracleEverySec: number;
  calibrationPath: string;
  scanner: ScannerOptions;
  /** The decoded trace when the workload replays one (spec.trace), else null. */
  replay: ReplayTrace | null;
  mitigation: ResolvedMitigation;
  audit: boolean;
  auditEveryTick: boolean;
  verify: boolean;
  /** The overcommitted host (host-memory.ts), null without a host size: nothing is reclaimed. */
  host: HostConfig | null;
  onProgress?: (tSec: number, durationSec: number) => void;
}

/** Checks and defaults `opts` (throws InvalidArgumentError or WorkloadSpecError naming the bad option). */
export function resolveSimOptions(opts: SimOptions): SimConfig {
  if (typeof opts.workload !== "object" || opts.workload === null)
    throw new InvalidArgumentError(`workload must be a WorkloadSpec (look canned workloads up by name in the caller, e.g. src/cli/workloads.ts CANNED), got ${JSON.stringify(opts.workload)}`);
  const spec = opts.workload;
  const { w, replay } = resolveWorkload(spec, opts);
  const d = SIM_DEFAULTS;
  const seed = check("seed", opts.seed ?? d.seed, 0, 2 ** 31 - 1, true);
  const tickMs = check("tickMs", opts.tickMs ?? d.tickMs, 1, 1000);
  const hostCpus = check("hostCpus", opts.hostCpus ?? d.hostCpus, 1, 256, true);
  const scannerNice = check("scannerNice", opts.scannerNice ?? d.scannerNice, -20, 19, true);
  const pagesToScan = check("pagesToScan", opts.pagesToScan ?? d.pagesToScan, 1, 1 << 24, true);
  const sleepMillisecs = check("sleepMillisecs", opts.sleepMillisecs ?? d.sleepMillisecs, 0, 60000, true);
  const auto = replay ? replayDuration(replay, w, pagesToScan, sleepMillisecs, tickMs) : defaultDuration(w, pagesToScan, sleepMillisecs);
  const durationSec = check("duration", opts.durationSec ?? auto, tickMs / 1000, 1e6);
  const sampleEverySec = check("sampleEvery", opts.sampleEverySec ?? d.sampleEverySec, tickMs / 1000, durationSec);
  const oracleEverySec = check("oracleEvery", opts.oracleEverySec ?? d.oracleEverySec, sampleEverySec, 1e6);
  const scannerWeight = opts.scannerWeight === undefined ? niceWeight(scannerNice) : check("scannerWeight", opts.scannerWeight, 1e-9, 1e6);
  const mitigation = resolveMitigation(opts.saltGroups === undefined ? opts.mitigation : { kind: opts.mitigation ?? "off", saltGroups: opts.saltGroups });
  checkSaltCoverage(mitigation, w.totalGuests);
  const scanner: ScannerOptions = {
    policy: opts.policy, pagesToScan, sleepMillisecs, smartScan: opts.smartScan ?? d.smartScan,
    useZeroPages: opts.useZeroPages, maxPageSharing: opts.maxPageSharing ?? d.maxPageSharing, workers: opts.workers ?? d.workers, seed,
    ...(mitigation.kind !== "off" ? { mitigation } : {}),
  };
  const host = resolveHost(opts, w, MAX_FRAMES);
  if (host) {
    const need = estimateProcessBytes(w, host);
    if (need > totalmem())
      throw new InvalidArgumentError(
        `this run needs about ${(need / 2 ** 30).toFixed(1)} GiB of this machine's memory (${(host.frames * 4096 / 2 ** 30).toFixed(2)} GiB of host frames + ${((w.totalPages * METADATA_BYTES_PER_GUEST_PAGE) / 2 ** 30).toFixed(2)} GiB of metadata for ${w.totalPages} guest pages + runtime); it has ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      );
  }
  return {
    host, verify: opts.verify === true, auditEveryTick: opts.auditEveryTick === true,
    spec, workload: w, policy: opts.policy, seed, tickMs, hostCpus, scannerNice, scannerWeight, pagesToScan, sleepMillisecs, durationSec,
    sampleEverySec, oracleEverySec, calibrationPath: opts.calibrationPath ?? DEFAULT_CALIBRATION_PATH, scanner, replay, mitigation, audit: opts.audit === true,
    onProgress: opts.onProgress,
  };
}

/** The run document's `options`: the config as run, with the scanner's own resolved knobs (key order is part of the document). */
export function runOptions(c: SimConfig, so: { smartScan: boolean; useZeroPages: boolean; maxPageSharing: number; workers: number }): RunOptions {
  const w = c.workload;
  return {
    workload: w.name, policy: c.policy, guests: w.totalGuests, guestMemBytes: w.families[0]!.pages * 4096, seed: c.seed, durationSec: c.durationSec,
    tickMs: c.tickMs, hostCpus: c.hostCpus, scannerNice: c.scannerNice, scannerWeight: round(c.scannerWeight, 6), pagesToScan: c.pagesToScan,
    sleepMillisecs: c.sleepMillisecs, smartScan: so.smartScan, useZeroPages: so.useZeroPages, maxPageSharing: so.maxPageSharing, workers: so.workers,
    sampleEverySec: c.sampleEverySec, oracleEverySec: c.oracleEverySec,
    steadyFromSec: round(Math.min(c.durationSec, Math.max(steadyPhaseStart(w), 0.75 * c.durationSec)), 3),
    // only when not off: documents of off runs stay byte-identical to those before mitigations
    ...(c.mitigation.kind !== "off" ? { mitigation: c.mitigation.kind, saltGroups: c.mitigation.saltGroups === null ? null : c.mitigation.saltGroups } : {}),
    ...(c.host ? { host: hostOptions(c.host) } : {}),
  };
}
