/**
 * `vmdedup attack`: the page-sharing timing side channel and the covert channel under one policy
 * and mitigation (src/experiments/attack/), with the host's savings and costs beside them.
 * Prints a summary line, or with --json the AttackResult document.
 */
import { ATTACK_DEFAULTS, runAttack, type AttackResult } from "../experiments/index.ts";
import { parsePolicy, simOptionsFrom, UsageError, type ParsedCommand } from "./args.ts";
import { workloadFromArg } from "./workloads.ts";

type Values = ParsedCommand["values"];

function count(v: string | boolean | undefined, flag: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

const pct = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(2)}%`);

export function attackLine(r: AttackResult): string {
  return (
    `${r.workload} ${r.policy}/${r.mitigation}: accuracy ${r.accuracy.toFixed(3)} over ${r.trials} trials (chance 0.5 ± ${r.chanceBound.toFixed(3)}), ` +
    `FPR ${r.falsePositiveRate.toFixed(3)}, FNR ${r.falseNegativeRate.toFixed(3)}, ${r.probeSeconds.toFixed(2)} s per probe; ` +
    `covert ${r.bitsPerSecond.toFixed(1)} bit/s raw, BER ${r.bitErrorRate.toFixed(3)}, capacity ${r.capacityBitsPerSecond.toFixed(1)} bit/s; ` +
    `savings ${pct(r.steadySavingsPct)} (excl. zero ${pct(r.steadySavingsExclZeroPct)}), +${r.extraFaultsPerSec.toFixed(0)} faults/s, throughput loss ${pct(r.throughputLossPct)} vs off`
  );
}

export async function cmdAttack(v: Values): Promise<void> {
  if (v.policy === undefined) throw new UsageError(`attack needs --policy (vmdedup, ksm, esx, none)`);
  const policy = parsePolicy(v.policy as string);
  const spec = await workloadFromArg((v.workload as string | undefined) ?? "web-server");
  const o = simOptionsFrom(v);
  const r = await runAttack({
    workload: spec, policy, mitigation: o.mitigation ?? "off", saltGroups: o.saltGroups,
    guests: o.guests, guestMem: o.guestMem, seed: o.seed, pagesToScan: o.pagesToScan, sleepMillisecs: o.sleepMillisecs,
    calibrationPath: o.calibrationPath, writeLatencyPath: v["write-latency"] as string | undefined,
    trials: count(v.trials, "trials", 1, 100_000, ATTACK_DEFAULTS.trials),
    waitPasses: count(v["wait-passes"], "wait-passes", 1, 100, ATTACK_DEFAULTS.waitPasses),
    bitsPerRound: count(v["bits-per-round"], "bits-per-round", 0, 64, ATTACK_DEFAULTS.bitsPerRound),
  });
  console.log(v.json ? JSON.stringify(r, null, 1) : attackLine(r));
}
