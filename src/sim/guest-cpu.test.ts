import { describe, expect, test } from "bun:test";
import { checkCalibration, COST_KEYS, CostModel } from "./cost-model.ts";
import { GuestCpu } from "./guest-cpu.ts";

/** A cost model with round constants: writeByte 1 ns, cowTrap 1000 ns, tlbFlush 500 ns, pageCopy 2000 ns, ptUpdate 100 ns, the rest 0. */
function model(): CostModel {
  const ns: Record<string, number> = { writeByte: 1, cowTrap: 1000, tlbFlush: 500, pageCopy: 2000, ptUpdate: 100 };
  const constants = Object.fromEntries(COST_KEYS.map((k) => [k, { ns: ns[k] ?? 0, source: "test" }]));
  return new CostModel(checkCalibration({ name: "test", constants }));
}
const tally = (ops: number, bytes: number, cowBreaks = 0, cowCopies = 0, ptUpdates = 0) => ({ ops, bytes, cowBreaks, cowCopies, ptUpdates });
const close = (x: number, y: number) => expect(Math.abs(x - y)).toBeLessThan(1e-15);

describe("guest CPU accounting", () => {
  test("a fresh guest owes nothing: it wants its plan, capped at one vCPU, and performs the share its CPU covers", () => {
    const cpu = new GuestCpu(2, model());
    expect([...cpu.debtSec, ...cpu.cowCostPerOpSec]).toEqual([0, 0, 0, 0]);
    expect(cpu.demand(0, 0.004, 0.02)).toBe(0.004);
    expect(cpu.demand(0, 0.05, 0.02)).toBe(0.02);
    expect(cpu.share(0, 0.004, 0.004)).toBe(1);
    expect(cpu.share(0, 0.004, 0.001)).toBe(0.25);
    expect(cpu.share(0, 0.004, 0.01)).toBe(1); // never more than planned
    expect(cpu.share(0, 0, 0.01)).toBe(0); // nothing planned
  });

  test("charging: the CoW part per operation and the overrun become the next tick's estimate and debt", () => {
    const cpu = new GuestCpu(2, model());
    // 10 ops at 100 us + 1000 bytes x 1 ns + 2 CoW breaks x (1000 + 500) ns + 1 copy x 2000 ns + 1 PV update x 100 ns
    const c = cpu.charge(0, tally(10, 1000, 2, 1, 1), 100e-6, 0.0005);
    close(c, 1e-3 + 1e-6 + 3e-6 + 2e-6 + 0.1e-6);
    close(cpu.cowCostPerOpSec[0]!, 5.1e-7); // (3 + 2 + 0.1) us over 10 ops
    close(cpu.debtSec[0]!, c - 0.0005);
    expect([cpu.debtSec[1], cpu.cowCostPerOpSec[1]]).toEqual([0, 0]); // guests are independent
    // the debt is wanted first and paid first
    close(cpu.demand(0, 0.004, 0.02), 0.004 + (c - 0.0005));
    const d = cpu.demand(0, 0.004, 0.02);
    close(cpu.share(0, d, cpu.debtSec[0]! + 0.002), 0.5);
    expect(cpu.share(0, d, cpu.debtSec[0]! / 2)).toBe(0); // not even the debt covered: no new operations
    // a tick without operations keeps the CoW estimate; an allocation larger than the cost clears the debt
    cpu.charge(0, tally(0, 0), 100e-6, 0.01);
    close(cpu.cowCostPerOpSec[0]!, 5.1e-7);
    expect(cpu.debtSec[0]).toBe(0);
    // operations without CoW work set the estimate back to 0
    cpu.charge(0, tally(4, 4096), 100e-6, 1);
    expect(cpu.cowCostPerOpSec[0]).toBe(0);
    expect(cpu.debtSec[0]).toBe(0);
  });
});
