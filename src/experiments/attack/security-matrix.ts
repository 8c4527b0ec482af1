/**
 * The security matrix of the benchmark suite: for each workload x policy x mitigation, the
 * attack's accuracy and covert-channel rate beside the host's savings and the mitigation's cost
 * against off (run-attack.ts). The host runs under off are shared between the mitigations of a
 * policy (one run each, cached by request).
 */
import { MITIGATIONS, type MitigationKind, type Policy } from "../../dedup/index.ts";
import type { RunResult } from "../../sim/index.ts";
import type { WorkloadCatalog } from "../catalog.ts";
import { runOnce, type RunRequest } from "../run.ts";
import { runAttack, type AttackResult } from "./run-attack.ts";

export interface SecurityRow {
  workload: string;
  policy: Policy;
  mitigation: MitigationKind;
  accuracy: number;
  falsePositiveRate: number;
  falseNegativeRate: number;
  probeSeconds: number;
  bitsPerSecond: number;
  capacityBitsPerSecond: number;
  bitErrorRate: number;
  steadySavingsPct: number;
  steadySavingsExclZeroPct: number;
  extraFaultsPerSec: number;
  throughputLossPct: number | null;
}

export interface SecuritySection {
  trials: number;
  seed: number;
  guests: number | null;
  guestMemBytes: number | null;
  durationSec: number | null;
  rows: SecurityRow[];
}

export interface SecurityPlan {
  workloads: string[];
  catalog: WorkloadCatalog;
  policies: Policy[];
  mitigations?: readonly MitigationKind[];
  trials: number;
  seed: number;
  guests?: number;
  guestMemBytes?: number;
  /** Simulated seconds of each host run (default: the driver's automatic duration). */
  durationSec?: number;
}

export function rowOf(r: AttackResult): SecurityRow {
  const { workload, policy, mitigation, accuracy, falsePositiveRate, falseNegativeRate, probeSeconds, bitsPerSecond, capacityBitsPerSecond, bitErrorRate,
    steadySavingsPct, steadySavingsExclZeroPct, extraFaultsPerSec, throughputLossPct } = r;
  return { workload, policy, mitigation, accuracy, falsePositiveRate, falseNegativeRate, probeSeconds, bitsPerSecond, capacityBitsPerSecond, bitErrorRate,
    steadySavingsPct, steadySavingsExclZeroPct, extraFaultsPerSec, throughputLossPct };
}

export async function runSecurityMatrix(plan: SecurityPlan, progress?: (line: string) => void): Promise<SecuritySection> {
  const cache = new Map<string, Promise<RunResult>>();
  const hostRun = (q: RunRequest) => {
    const req = { ...q, ...(plan.durationSec !== undefined ? { durationSec: plan.durationSec } : {}) };
    const key = JSON.stringify({ ...req, workload: req.workload.name });
    if (!cache.has(key)) cache.set(key, runOnce(req));
    return cache.get(key)!;
  };
  const rows: SecurityRow[] = [];
  for (const w of plan.workloads)
    for (const policy of plan.policies)
      for (const mitigation of plan.mitigations ?? MITIGATIONS) {
        progress?.(`security ${w}/${policy}/${mitigation}`);
        const r = await runAttack({ workload: plan.catalog.get(w), policy, mitigation, trials: plan.trials, seed: plan.seed, guests: plan.guests, guestMem: plan.guestMemBytes }, hostRun);
        rows.push(rowOf(r));
      }
  return { trials: plan.trials, seed: plan.seed, guests: plan.guests ?? null, guestMemBytes: plan.guestMemBytes ?? null, durationSec: plan.durationSec ?? null, rows };
}
