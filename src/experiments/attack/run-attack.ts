/**
 * An attack with the host's figures beside it (the AttackResult `vmdedup attack --json` prints):
 * what the attack measured (attack.ts), and what the same policy and mitigation save and cost on
 * the workload alone, as `vmdedup run` measures it (steady savings, the existing metric), against
 * the same policy with mitigation off: extraFaultsPerSec = (CoW breaks + mitigation access faults
 * per second) - CoW breaks per second under off, throughputLossPct = the loss of steady guest
 * operations per second against off. The host runs have no victim or attacker; a salt-group list
 * (which names the attack host's guests, victim and attacker last) gives them its first entries.
 */
import type { MitigationKind, Policy } from "../../dedup/index.ts";
import type { RunResult } from "../../sim/index.ts";
import { runOnce, throughputLossPct, type RunRequest } from "../run.ts";
import { attackHost } from "./attack-host.ts";
import { chanceBound, measureAttack, resolveAttack, type AttackMeasurement, type AttackRequest } from "./attack.ts";

export const ATTACK_SCHEMA = "vmdedup/attack@1" as const;

export interface AttackResult extends AttackMeasurement {
  schema: typeof ATTACK_SCHEMA;
  workload: string;
  policy: Policy;
  mitigation: MitigationKind;
  saltGroups: number | readonly number[] | null;
  seed: number;
  waitPasses: number;
  bitsPerRound: number;
  /** 99.9% half-width around 0.5 of a guessing attacker's accuracy over these trials. */
  chanceBound: number;
  steadySavingsPct: number;
  steadySavingsExclZeroPct: number;
  extraFaultsPerSec: number;
  throughputLossPct: number | null;
}

/** Runs a host run (a cache may stand in: the suite shares the off runs between mitigations). */
export type HostRunner = (req: RunRequest) => Promise<RunResult>;

/** The host runs' request for `req` under `mitigation`. */
export function hostRequest(req: AttackRequest, mitigation: MitigationKind): RunRequest {
  const n = attackHost(req.workload, { guests: req.guests, guestMem: req.guestMem }).workloadGuests;
  const g = req.saltGroups;
  const saltGroups = mitigation === "salted" && g !== undefined ? (Array.isArray(g) ? g.slice(0, n) : g) : undefined;
  return {
    workload: req.workload, policy: req.policy, guests: req.guests, guestMem: req.guestMem, seed: req.seed,
    pagesToScan: req.pagesToScan, sleepMillisecs: req.sleepMillisecs, calibrationPath: req.calibrationPath,
    ...(mitigation !== "off" ? { mitigation } : {}), ...(saltGroups !== undefined ? { saltGroups } : {}),
  };
}

export async function runAttack(req: AttackRequest, hostRun: HostRunner = (r) => runOnce(r)): Promise<AttackResult> {
  resolveAttack(req);
  const mitigation = req.mitigation ?? "off";
  const m = await measureAttack(req);
  const host = await hostRun(hostRequest(req, mitigation));
  const off = mitigation === "off" ? host : await hostRun(hostRequest(req, "off"));
  return attackResult(req, m, host, off);
}

/** The AttackResult of `req` from its measurement and its host runs under its mitigation and under off (which may be the same run). */
export function attackResult(req: AttackRequest, m: AttackMeasurement, host: RunResult, off: RunResult): AttackResult {
  const o = resolveAttack(req);
  const mitigation = req.mitigation ?? "off";
  const faults = (r: RunResult) => r.summary.steadyCowBreaksPerSec + (r.mitigationCost?.steadyAccessFaultsPerSec ?? 0);
  return {
    schema: ATTACK_SCHEMA,
    workload: req.workload.name, policy: req.policy, mitigation, saltGroups: req.saltGroups ?? null,
    seed: o.seed, waitPasses: o.waitPasses, bitsPerRound: o.bitsPerRound,
    ...m,
    chanceBound: Math.round(chanceBound(m.trials) * 1e4) / 1e4,
    steadySavingsPct: host.summary.steadySavingsPct,
    steadySavingsExclZeroPct: host.summary.steadySavingsExclZeroPct,
    extraFaultsPerSec: Math.round((faults(host) - faults(off)) * 1e4) / 1e4,
    throughputLossPct: throughputLossPct(host.summary.steadyGuestOpsPerSec, off.summary.steadyGuestOpsPerSec),
  };
}
