/**
 * The cost model: nanoseconds per unit of deterministic work, from a calibration file.
 *
 * Scanner batch cost = pages visited x visitPage + pages hashed x hashPage + compares x
 *   compareBase + compared bytes x compareByte + zero checks x zeroCheck + lookups x lookup +
 *   merges x (merge + tlbFlush) + PV page-table updates x ptUpdate   (work() and hv.stats() deltas)
 * Guest operation cost = the family's cpuPerOp + bytes written x writeByte, plus per CoW break
 *   cowTrap + tlbFlush, per CoW copy pageCopy, per PV page-table update ptUpdate.
 * Host reclamation (only on an overcommitted host, reclaim.ts): the file's separate `host`
 *   section: compressPage / decompressPage per page compressed into / out of a compression cache,
 *   guestPageOut per page a guest pages out itself under balloon pressure. Kept apart from
 *   `constants` so that runs without a host size record the calibration exactly as before.
 * Runs are deterministic for a given calibration file; `vmdedup calibrate` writes a new one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import type { ScannerWork } from "../dedup/index.ts";

export const COST_KEYS = [
  "hashPage", "visitPage", "compareBase", "compareByte", "zeroCheck", "lookup", "merge",
  "pageCopy", "cowTrap", "ptUpdate", "tlbFlush", "writeByte",
] as const;
export type CostKey = (typeof COST_KEYS)[number];
export const HOST_COST_KEYS = ["compressPage", "decompressPage", "guestPageOut"] as const;
export type HostCostKey = (typeof HOST_COST_KEYS)[number];

export interface CostConstant {
  ns: number;
  source: string;
}
export interface Calibration {
  name: string;
  description?: string;
  constants: Record<CostKey, CostConstant>;
  /** Host reclamation costs (see the header); required only by runs with a host size. */
  host?: Record<HostCostKey, CostConstant>;
}

export const DEFAULT_CALIBRATION_PATH = join(import.meta.dir, "calibration", "default.json");

/** Reads and checks a calibration file (every constant present, finite, >= 0, with a source). */
export function loadCalibration(path = DEFAULT_CALIBRATION_PATH): Calibration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new InvalidArgumentError(`cannot read calibration ${path}: ${(e as Error).message}`);
  }
  return checkCalibration(raw, path);
}

export function checkCalibration(raw: unknown, where = "calibration"): Calibration {
  const c = raw as Calibration;
  if (!c || typeof c !== "object" || typeof c.name !== "string" || typeof c.constants !== "object" || !c.constants)
    throw new InvalidArgumentError(`${where}: needs "name" and "constants"`);
  for (const k of COST_KEYS) {
    const v = c.constants[k];
    if (!v || typeof v.ns !== "number" || !Number.isFinite(v.ns) || v.ns < 0 || typeof v.source !== "string")
      throw new InvalidArgumentError(`${where}: constants.${k} must be { ns: number >= 0, source: string }`);
  }
  if (c.host !== undefined)
    for (const k of HOST_COST_KEYS) {
      const v = c.host?.[k];
      if (!v || typeof v.ns !== "number" || !Number.isFinite(v.ns) || v.ns < 0 || typeof v.source !== "string")
        throw new InvalidArgumentError(`${where}: host.${k} must be { ns: number >= 0, source: string }`);
    }
  return c;
}

/** Per-unit costs in seconds, flattened for the hot loop. */
export class CostModel {
  readonly s: Record<CostKey, number>;
  constructor(readonly calibration: Calibration) {
    const s = {} as Record<CostKey, number>;
    for (const k of COST_KEYS) s[k] = calibration.constants[k].ns * 1e-9;
    this.s = s;
    const h = {} as Record<HostCostKey, number>;
    for (const k of HOST_COST_KEYS) h[k] = (calibration.host?.[k].ns ?? NaN) * 1e-9;
    this.h = h;
  }

  /** Host reclamation costs in seconds (NaN when the calibration has no host section; a host run checks first). */
  readonly h: Record<HostCostKey, number>;

  scannerBatch(visited: number, w: ScannerWork, w0: ScannerWork, ptUpdates: number): number {
    const s = this.s;
    return (
      visited * s.visitPage +
      (w.pagesHashed - w0.pagesHashed) * s.hashPage +
      (w.compares - w0.compares) * s.compareBase +
      (w.compareBytes - w0.compareBytes) * s.compareByte +
      (w.zeroChecks - w0.zeroChecks) * s.zeroCheck +
      (w.lookups - w0.lookups) * s.lookup +
      (w.merges - w0.merges) * (s.merge + s.tlbFlush) +
      ptUpdates * s.ptUpdate
    );
  }

  guestOps(ops: number, cpuPerOp: number, bytes: number, cowBreaks: number, cowCopies: number, ptUpdates: number): number {
    const s = this.s;
    return ops * cpuPerOp + bytes * s.writeByte + cowBreaks * (s.cowTrap + s.tlbFlush) + cowCopies * s.pageCopy + ptUpdates * s.ptUpdate;
  }
}

/** CFS weight of a nice level relative to nice 0 (the kernel's table is ~1.25x per step). */
export function niceWeight(nice: number): number {
  return Math.pow(1.25, -nice);
}

/**
 * Shares `capacity` CPU-seconds among entities by weight (CFS-like water filling): nobody gets
 * more than it demands, and what one leaves is shared by the others in proportion to weight.
 */
export function allocateCpu(capacity: number, demand: Float64Array, weight: Float64Array, out: Float64Array): void {
  const n = demand.length;
  out.fill(0);
  let left = capacity;
  const open = new Uint8Array(n);
  let openW = 0;
  for (let i = 0; i < n; i++)
    if (demand[i]! > 0 && weight[i]! > 0) {
      open[i] = 1;
      openW += weight[i]!;
    }
  for (;;) {
    if (openW <= 0 || left <= 1e-15) return;
    let capped = false;
    for (let i = 0; i < n; i++) {
      if (!open[i]) continue;
      const share = (left * weight[i]!) / openW;
      if (demand[i]! <= share) {
        out[i] = demand[i]!;
        left -= demand[i]!;
        openW -= weight[i]!;
        open[i] = 0;
        capped = true;
      }
    }
    if (!capped) {
      for (let i = 0; i < n; i++) if (open[i]) out[i] = (left * weight[i]!) / openW;
      return;
    }
  }
}
