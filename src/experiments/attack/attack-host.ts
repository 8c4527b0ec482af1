/**
 * The host an attack runs on: the guests of a workload (with --guests / --guest-mem applied, as
 * `vmdedup run` applies them), then a victim guest and an attacker guest, started after the
 * workload's last guest so that their guest ids (and salt-group positions) come last:
 * workload guests 0..n-1, victim n, attacker n+1. The two attack guests run no workload
 * activity: every write to them is the attack's own (attack.ts).
 */
import { resolveSpec, type FamilySpec, type WorkloadSpec } from "../../sim/index.ts";

/** Pages of the victim and the attacker guest (each): trials and covert bits of one round, calibration pages. */
export const ATTACK_GUEST_PAGES = 512;

export interface AttackHost {
  spec: WorkloadSpec;
  /** Guests of the workload (the victim is guest id n, the attacker n + 1). */
  workloadGuests: number;
}

function attackFamily(name: string, startSec: number): FamilySpec {
  return {
    name, guests: 1, memory: ATTACK_GUEST_PAGES * 4096, mode: "hvm", start: startSec,
    regions: [{ name: "attack-pages", fraction: 1, fill: "untouched" }],
    phases: [{ name: "attack", activities: [] }],
  };
}

/** The attack host of `spec` with the run overrides applied to the workload's families. */
export function attackHost(spec: WorkloadSpec, overrides: { guests?: number; guestMem?: number }): AttackHost {
  const base = resolveSpec(spec);
  const w = resolveSpec(spec, overrides);
  const families: FamilySpec[] = spec.families.map((f, i) => {
    const scale = w.families[i]!.pages / base.families[i]!.pages;
    return {
      ...f,
      guests: w.families[i]!.guests,
      memory: w.families[i]!.pages * 4096,
      phases: f.phases.map((p) => ({ ...p, activities: p.activities.map((a) => ({ ...a, writesPerSec: a.writesPerSec * scale })) })),
    };
  });
  const lastStart = Math.max(...w.families.map((f) => f.startSec + (f.guests - 1) * f.staggerSec));
  families.push(attackFamily("victim", lastStart), attackFamily("attacker", lastStart));
  return {
    spec: { ...spec, name: spec.name, description: `${spec.description}; plus a victim and an attacker guest`, families },
    workloadGuests: w.totalGuests,
  };
}
