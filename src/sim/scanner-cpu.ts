/**
 * The scanner on the simulated clock: when it wakes, what CPU it wants, and what its batches cost.
 *
 * ksmd sleeps sleepMillisecs between batches of pagesToScan pages. Per tick [t, t+dt):
 *  - demand: its outstanding cost (debt) plus the expected cost of the batches due in the tick
 *    (one per sleepMillisecs from its next wake-up; all of dt when the sleep is 0, i.e. it would
 *    spin), at the last batch's cost, capped at one CPU: the simulated scanner is one thread
 *    like ksmd; hashing workers change only the wall-clock `measured` figures, so results are
 *    identical for every worker count;
 *  - run: it pays its debt from its allocation first, then runs batches (scanner.scan) while
 *    budget remains and a wake-up falls inside the tick. A batch's cost comes from the cost
 *    model over the deltas of scanner.work() and hv.ptUpdates; an overrun becomes debt, so a
 *    scanner short of CPU is starved (it runs fewer batches), never sped up. The next wake-up
 *    is sleepMillisecs after the point of the tick where its CPU ran out.
 * Batches change memory at once (at the start of their tick); their cost is charged over the
 * following ticks. Only `wallSec` and the batch latencies read the wall clock.
 */
import type { Scanner, ScannerWork } from "../dedup/index.ts";
import type { Hypervisor } from "../hypervisor/index.ts";
import type { CostModel } from "./cost-model.ts";
import { percentile, round } from "./metrics.ts";

export class ScannerCpu {
  /** CPU seconds of batches already run that no allocation has covered yet. */
  private debtSec = 0;
  /** Simulated time of the next wake-up. */
  private nextWakeSec = 0;
  /** CPU seconds the last batch cost (before the first: pagesToScan x (visitPage + hashPage)); the demand estimate per due batch. */
  private lastBatchCostSec: number;
  private work: ScannerWork;
  private readonly sleepSec: number;
  /** Pages visited by all batches so far (sum of scan() results). */
  pagesScanned = 0;
  /** CPU seconds the scanner used in the last tick run (its allocation minus what was left). */
  usedSec = 0;
  /** Wall-clock seconds spent inside scanner.scan() (measured). */
  wallSec = 0;
  /** Wall-clock microseconds of each batch, in order (measured). */
  private readonly batchUs: number[] = [];

  constructor(
    private readonly scanner: Scanner,
    private readonly hv: Hypervisor,
    private readonly cost: CostModel,
    private readonly pagesToScan: number,
    sleepMillisecs: number,
  ) {
    this.sleepSec = sleepMillisecs / 1000;
    this.lastBatchCostSec = pagesToScan * (cost.s.visitPage + cost.s.hashPage);
    this.work = scanner.work();
  }

  /** CPU seconds wanted in [t, t+dt): debt plus the batches due, at most one CPU (dt). */
  demand(t: number, dt: number): number {
    const sleepSec = this.sleepSec;
    const capSec = dt; // one CPU, whatever the worker count (see the header)
    const due = sleepSec > 0 ? Math.max(0, Math.ceil((t + dt - Math.max(this.nextWakeSec, t)) / sleepSec - 1e-9)) : Infinity;
    return this.nextWakeSec < t + dt ? Math.min(capSec, this.debtSec + this.lastBatchCostSec * due) : Math.min(capSec, this.debtSec);
  }

  /** Runs the tick's batches on `allocSec` CPU seconds; sets usedSec; returns whether any batch merged pages. */
  async run(t: number, dt: number, allocSec: number): Promise<boolean> {
    const { scanner, hv, cost, sleepSec } = this;
    let budget = allocSec - this.debtSec;
    this.debtSec = Math.max(0, -budget);
    let merged = false;
    while (budget >= 0 && this.nextWakeSec < t + dt) {
      const pt0 = hv.ptUpdates;
      const w0 = performance.now();
      const visited = await scanner.scan(this.pagesToScan);
      const us = (performance.now() - w0) * 1000;
      this.wallSec += us / 1e6;
      this.batchUs.push(us);
      const w1 = scanner.work();
      const c = cost.scannerBatch(visited, w1, this.work, hv.ptUpdates - pt0);
      if (w1.merges !== this.work.merges) merged = true;
      this.work = w1;
      this.pagesScanned += visited;
      this.lastBatchCostSec = c;
      budget -= c;
      const used = allocSec - Math.max(0, budget);
      this.nextWakeSec = t + (allocSec > 0 ? (used / allocSec) * dt : 0) + sleepSec;
      if (sleepSec === 0 && (visited === 0 || c === 0)) break; // nothing to scan, or free: do not spin
    }
    if (budget < 0) this.debtSec = -budget;
    this.usedSec = allocSec - Math.max(0, budget);
    return merged;
  }

  /** Wall-clock latency percentiles of the batches so far, in microseconds (measured). */
  batchLatencyUs(): { p50: number | null; p90: number | null; p99: number | null; max: number | null } {
    const sorted = Float64Array.from(this.batchUs).sort();
    const pr = (p: number) => {
      const v = percentile(sorted, p);
      return v === null ? null : round(v, 2);
    };
    return { p50: pr(0.5), p90: pr(0.9), p99: pr(0.99), max: pr(1) };
  }
}
