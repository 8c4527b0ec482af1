/**
 * What the model guarantees about the side channel, on a small web-server host (2 guests of
 * 16 MiB beside the victim and the attacker): with off every policy that merges leaks (accuracy
 * >= 0.95); salted (one group per guest), zero-only and vusion leave the attacker at chance (within
 * the 99.9% binomial bound of 0.5); salted with one group for every guest is off, result for
 * result; zero-only saves nothing beyond zero pages; runs are deterministic for a seed.
 */
import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../../workloads/index.ts";
import { catalogOf } from "../catalog.ts";

const CANNED = catalogOf(CANNED_WORKLOADS);
import { InvalidArgumentError } from "../../hypervisor/index.ts";
import type { RunRequest } from "../run.ts";
import { runOnce } from "../run.ts";
import { chanceBound, measureAttack, type AttackRequest } from "./attack.ts";
import { runAttack } from "./run-attack.ts";

const spec = CANNED.get("web-server");
const small = { workload: spec, guests: 2, guestMem: 16 * 2 ** 20, trials: 128, seed: 3 } satisfies Partial<AttackRequest>;
const bound = chanceBound(128);

describe("attack: the side channel per policy", () => {
  for (const policy of ["vmdedup", "ksm", "esx"] as const) {
    test(`${policy}: off leaks, salted / zero-only / vusion / fixed-latency do not`, async () => {
      const off = await measureAttack({ ...small, policy });
      expect(off.accuracy).toBeGreaterThanOrEqual(0.95);
      expect(off.bitErrorRate).toBeLessThan(0.05);
      for (const mitigation of ["salted", "zero-only", "vusion", "fixed-latency"] as const) {
        const m = await measureAttack({ ...small, policy, mitigation });
        expect(Math.abs(m.accuracy - 0.5)).toBeLessThanOrEqual(bound);
      }
    }, 30_000);
  }

  test("none leaks nothing under off", async () => {
    const m = await measureAttack({ ...small, policy: "none" });
    expect(Math.abs(m.accuracy - 0.5)).toBeLessThanOrEqual(bound);
  });

  test("salted with one group for all guests is off; deterministic for a seed", async () => {
    const off = await measureAttack({ ...small, policy: "ksm" });
    expect(await measureAttack({ ...small, policy: "ksm", mitigation: "salted", saltGroups: 1 })).toEqual(off);
    expect(await measureAttack({ ...small, policy: "ksm", mitigation: "salted", saltGroups: [0, 0, 0, 0] })).toEqual(off);
    expect(await measureAttack({ ...small, policy: "ksm" })).toEqual(off);
  }, 30_000);

  test("bad requests are rejected before anything runs", async () => {
    await expect(measureAttack({ ...small, policy: "ksm", trials: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(measureAttack({ ...small, policy: "ksm", mitigation: "foo" as never })).rejects.toThrow(InvalidArgumentError);
    await expect(measureAttack({ ...small, policy: "ksm", mitigation: "salted", saltGroups: [0, 1] })).rejects.toThrow(/2 entries for 4 guests/);
  });
});

describe("attack: the host's figures", () => {
  test("zero-only saves nothing beyond zero pages; vusion costs faults (and never throughput gained) against off", async () => {
    const base: RunRequest = { workload: spec, policy: "vmdedup", guests: 2, guestMem: 16 * 2 ** 20, seed: 3, durationSec: 40, audit: true };
    const zero = await runOnce({ ...base, mitigation: "zero-only" });
    expect(zero.summary.steadySavingsExclZeroPct).toBe(0);
    expect(zero.summary.steadySavingsPct).toBeGreaterThan(0);
    const r = await runAttack({ ...small, policy: "vmdedup", mitigation: "vusion", trials: 64 }, (q) => runOnce({ ...q, durationSec: 40 }));
    expect(r.extraFaultsPerSec).toBeGreaterThan(0);
    // throughput drops only where guests are CPU-bound; web-server's are not at this size
    expect(r.throughputLossPct).toBeGreaterThanOrEqual(0);
    const off = await runAttack({ ...small, policy: "vmdedup", trials: 64 }, (q) => runOnce({ ...q, durationSec: 40 }));
    expect([off.extraFaultsPerSec, off.throughputLossPct]).toEqual([0, 0]);
    expect(r.steadySavingsPct).toBe(off.steadySavingsPct); // vusion merges what off merges
  }, 30_000);
});
