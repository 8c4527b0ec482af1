/**
 * The security matrix of the benchmark suite: for each workload x policy x mitigation, the
 * attack's accuracy and covert-channel rate beside the host's savings and the mitigation's cost
 * against off (run-attack.ts). The host runs under off are shared between the mitigations of a
 * policy (one run each, cached by request).
 *
 * Without a pool, one row after another in this thread: the attack, then its host runs. With a
 * job pool (job-pool.ts), every row's attack measurement and host runs are queued at once, in the
 * same order (so a pool of one runs them in exactly that order), and the rows are gathered in
 * list order: the same section for any --jobs, its jobs side by side with whatever else the pool
 * holds (the benchmark suite's matrix and density).
 */
import { MITIGATIONS, type MitigationKind, type Policy } from "../../dedup/index.ts";
import type { RunResult } from "../../sim/index.ts";
import type { WorkloadCatalog } from "../catalog.ts";
import type { JobPool } from "../job-pool.ts";
import { requestLabel, runOnce, type RunRequest } from "../run.ts";
import type { AttackRequest } from "./attack.ts";
import { attackResult, hostRequest, runAttack, type AttackResult } from "./run-attack.ts";

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

/** Every row's attack request, in row order: workload x policy x mitigation. */
function attackRequests(plan: SecurityPlan): AttackRequest[] {
  const out: AttackRequest[] = [];
  for (const w of plan.workloads)
    for (const policy of plan.policies)
      for (const mitigation of plan.mitigations ?? MITIGATIONS)
        out.push({ workload: plan.catalog.get(w), policy, mitigation, trials: plan.trials, seed: plan.seed, guests: plan.guests, guestMem: plan.guestMemBytes });
  return out;
}

/** The matrix; its attacks and host runs in `pool` when given (all queued at once), else in this thread, row by row. */
export async function runSecurityMatrix(plan: SecurityPlan, progress?: (line: string) => void, pool?: JobPool): Promise<SecuritySection> {
  const cache = new Map<string, Promise<RunResult>>();
  const hostRun = (q: RunRequest) => {
    const req = { ...q, ...(plan.durationSec !== undefined ? { durationSec: plan.durationSec } : {}) };
    const key = JSON.stringify({ ...req, workload: req.workload.name });
    if (!cache.has(key)) cache.set(key, pool ? pool.run({ kind: "run", id: `security host ${requestLabel(req)}`, req }) : runOnce(req));
    return cache.get(key)!;
  };
  const label = (a: AttackRequest) => `security ${a.workload.name}/${a.policy}/${a.mitigation}`;
  const rows: SecurityRow[] = [];
  if (!pool) {
    for (const a of attackRequests(plan)) {
      progress?.(label(a));
      rows.push(rowOf(await runAttack(a, hostRun)));
    }
  } else {
    const queued = attackRequests(plan).map((a) => {
      const m = pool.run({ kind: "attack", id: label(a), req: a });
      const host = hostRun(hostRequest(a, a.mitigation!));
      const off = a.mitigation === "off" ? host : hostRun(hostRequest(a, "off"));
      for (const p of [m, host, off]) p.catch(() => {}); // awaited below, in row order
      return { a, m, host, off };
    });
    for (const q of queued) {
      progress?.(label(q.a));
      rows.push(rowOf(attackResult(q.a, await q.m, await q.host, await q.off)));
    }
  }
  return { trials: plan.trials, seed: plan.seed, guests: plan.guests ?? null, guestMemBytes: plan.guestMemBytes ?? null, durationSec: plan.durationSec ?? null, rows };
}
