/**
 * The write-latency noise model of the side-channel attack: the latency a guest measures when
 * it times a one-byte write to one of its pages, on the simulated clock.
 *
 *   latency = privateWriteNs                          (the store itself, TLB miss included)
 *           + (faulted ? cowTrap + tlbFlush + pageCopy : 0)   (the cost model's CoW break)
 *           + jitter ~ Normal(0, jitterSigmaNs)
 *           + spike: with spikeProbability, Exponential(mean spikeMeanNs)  (interrupts, preemption)
 *   clamped at 0.
 * "faulted" is what the hypervisor did: the write broke copy-on-write (the page was merged), or a
 * mitigation charged the first access after the scanner's visit (vusion, fixed-latency) — the
 * same cost either way, which is the point of those mitigations.
 *
 * Parameters come from a write-latency calibration file (calibration/write-latency.json by
 * default: estimates from the kernel's ksm_tests -C; `vmdedup calibrate --write-latency F`
 * measures them on a root host with idle KSM, write-latency-fit.ts). The cost model's constants
 * are not touched. Seeded: the same seed
 * gives the same latencies.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import type { CostModel } from "./cost-model.ts";
import { Rng } from "./rng.ts";

export const WRITE_LATENCY_KEYS = ["privateWriteNs", "jitterSigmaNs", "spikeProbability", "spikeMeanNs"] as const;
export type WriteLatencyKey = (typeof WRITE_LATENCY_KEYS)[number];

export interface WriteLatencyCalibration {
  name: string;
  description?: string;
  privateWriteNs: { value: number; source: string };
  jitterSigmaNs: { value: number; source: string };
  spikeProbability: { value: number; source: string };
  spikeMeanNs: { value: number; source: string };
  /** Optional record of a real measurement: latency quantiles in ns (free-form). */
  measured?: Record<string, unknown>;
}

export const DEFAULT_WRITE_LATENCY_PATH = join(import.meta.dir, "calibration", "write-latency.json");

/** Reads and checks a write-latency file (every parameter a finite number >= 0 with a source; spikeProbability <= 1). */
export function loadWriteLatency(path = DEFAULT_WRITE_LATENCY_PATH): WriteLatencyCalibration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new InvalidArgumentError(`cannot read write-latency calibration ${path}: ${(e as Error).message}`);
  }
  const c = raw as WriteLatencyCalibration;
  if (!c || typeof c !== "object" || typeof c.name !== "string") throw new InvalidArgumentError(`${path}: needs "name"`);
  for (const k of WRITE_LATENCY_KEYS) {
    const v = c[k];
    if (!v || typeof v.value !== "number" || !Number.isFinite(v.value) || v.value < 0 || typeof v.source !== "string")
      throw new InvalidArgumentError(`${path}: ${k} must be { value: number >= 0, source: string }`);
  }
  if (c.spikeProbability.value > 1) throw new InvalidArgumentError(`${path}: spikeProbability must be at most 1`);
  return c;
}

export class WriteLatencyModel {
  private readonly rng: Rng;
  private readonly baseNs: number;
  /** The fault path's extra ns: the cost model's CoW break (trap + TLB flush + copy). */
  readonly faultNs: number;
  private readonly sigmaNs: number;
  private readonly spikeP: number;
  private readonly spikeMeanNs: number;

  constructor(p: WriteLatencyCalibration, cost: CostModel, seed: number) {
    this.rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
    this.baseNs = p.privateWriteNs.value;
    this.faultNs = (cost.s.cowTrap + cost.s.tlbFlush + cost.s.pageCopy) * 1e9;
    this.sigmaNs = p.jitterSigmaNs.value;
    this.spikeP = p.spikeProbability.value;
    this.spikeMeanNs = p.spikeMeanNs.value;
  }

  /** One measured write latency, ns. */
  sample(faulted: boolean): number {
    const r = this.rng;
    // Box-Muller, one normal per call (two uniforms)
    const u1 = 1 - r.float();
    const u2 = r.float();
    let ns = this.baseNs + (faulted ? this.faultNs : 0) + this.sigmaNs * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    if (r.float() < this.spikeP) ns += -this.spikeMeanNs * Math.log(1 - r.float());
    return Math.max(0, ns);
  }
}
