/**
 * Guest CPU accounting: what each guest's operations cost, and what it still owes.
 *
 * Per tick a guest wants the cost of the operations it planned (WorkloadRunner.plan, which
 * estimates each operation at the family's cpuPerOp + its bytes x writeByte + the CoW cost per
 * operation seen last) plus its debt, capped at one vCPU (dt). The CPU allocation gives it
 * some share of that; it performs the same share of its planned operations (the debt is paid
 * first). What they really cost comes from the cost model over what they did (CoW breaks,
 * copies, PV page-table updates); whatever the allocation did not cover becomes debt, so a
 * guest whose writes break CoW is slowed down in the following ticks, as a guest stalls on
 * write-protection faults. This module alone reads and writes debt and CoW cost per operation;
 * the runner gets the CoW estimate as an argument.
 *
 * Indexed by guest index (WorkloadRunner.guests order); typed arrays, no allocation per tick.
 */
import type { CostModel } from "./cost-model.ts";
import type { OpTally } from "./workload-runner.ts";

export class GuestCpu {
  /** Per guest: CPU seconds its past operations cost beyond what its allocations covered; paid before new operations. */
  readonly debtSec: Float64Array;
  /** Per guest: extra CPU seconds per operation for CoW breaks, copies and PV updates in its last tick that did operations (demand estimate). */
  readonly cowCostPerOpSec: Float64Array;

  constructor(
    guests: number,
    private readonly cost: CostModel,
  ) {
    this.debtSec = new Float64Array(guests);
    this.cowCostPerOpSec = new Float64Array(guests);
  }

  /** CPU seconds guest i wants this tick: its debt plus `plannedSec`, at most one vCPU (dtSec). */
  demand(i: number, plannedSec: number, dtSec: number): number {
    return Math.min(dtSec, this.debtSec[i]! + plannedSec);
  }

  /** Share (0..1) of its planned operations guest i performs, given what it wanted and got this tick; the debt is paid first. */
  share(i: number, demandSec: number, allocSec: number): number {
    const debt = this.debtSec[i]!;
    const planned = demandSec - debt;
    return planned > 0 ? Math.max(0, Math.min(1, (allocSec - debt) / planned)) : 0;
  }

  /** Host work done in guest i's context (reclaim.ts: compressing, decompressing, paging out) becomes debt. */
  addDebt(i: number, sec: number): void {
    this.debtSec[i]! += sec;
  }

  /**
   * Charges what guest i's operations did this tick (cost model over `t`) against its
   * allocation: updates its CoW cost per operation (when it did any) and its debt.
   * Returns the CPU seconds those operations cost.
   */
  charge(i: number, t: OpTally, cpuPerOpSec: number, allocSec: number): number {
    const cost = this.cost;
    // a mitigation's access fault costs what a CoW break with its copy costs (the same path for merged and not)
    const af = t.accessFaults ?? 0;
    const c = cost.guestOps(t.ops, cpuPerOpSec, t.bytes, t.cowBreaks + af, t.cowCopies + af, t.ptUpdates);
    const cowPart = c - cost.guestOps(t.ops, cpuPerOpSec, t.bytes, 0, 0, 0);
    if (t.ops > 0) this.cowCostPerOpSec[i] = cowPart / t.ops;
    this.debtSec[i] = Math.max(0, this.debtSec[i]! + c - allocSec);
    return c;
  }
}
