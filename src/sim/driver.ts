/**
 * The simulation driver: a simulated clock in fixed ticks (tickMs, default 20 ms), one
 * Simulation per run. runSimulation(opts) is `new Simulation(opts).run()`.
 *
 * Who owns what:
 *   WorkloadRunner (workload-runner.ts) the guests, their contents and their operations (or,
 *                                       for a workload that replays a trace, TraceReplayRunner:
 *                                       replay-runner.ts, trace-replay.ts);
 *   ScannerCpu (scanner-cpu.ts)         the scanner's wake-ups, CPU demand, debt and batches;
 *   GuestCpu (guest-cpu.ts)             each guest's CPU debt and CoW cost per operation;
 *   Sampler (sampler.ts)                the series, the oracle, time-to-merge and the summary;
 *   allocateCpu (cost-model.ts)         CFS-like sharing of the host CPUs.
 *
 * Each tick [t, t+dt) runs these steps in order:
 *  1. start guests: those whose start time has come are created and booted (contents written
 *     at once, costing no CPU);
 *  2. allocate CPU: the scanner wants its debt plus the batches due in the tick, capped at one
 *     CPU; each guest its debt plus its planned operations' cost, capped at one vCPU.
 *     hostCpus x dt is shared CFS-like by weight (guest = 1, scanner = 1.25^-nice, ksmd's
 *     nice 5 by default), nobody getting more than it wants;
 *  3. run the scanner: it pays its debt, then runs batches while budget remains and a wake-up
 *     falls inside the tick; each batch's cost comes from the cost model, an overrun becomes
 *     debt (it is starved, not sped up);
 *  4. run the guests: each performs the share of its planned operations its CPU covers; the
 *     CoW breaks, copies and PV page-table updates they caused are charged, overruns become debt;
 *  5. time-to-merge: if the scanner merged anything, pending duplicate pages are checked;
 *  6. sample: every sampleEverySec a series row, every oracleEverySec an oracle row (and both
 *     at the end); with `audit`, hv.audit() after each sample.
 * On a host with a size (host-memory.ts; --host-mem or the spec's host.memory) the machine has
 * that many frames and one more step runs between 1 and 2: reclamation (reclaim.ts: balloons,
 * compression, swap by free-memory state); stalls a guest owes (swap-ins, decompressions,
 * direct reclaim) displace its planned operations in the ticks that follow, second for second
 * of operation time (chargeStall: a closed loop, so a guest with spare vCPU time still loses the
 * operations its stalls delay; what is owed beyond a tick's operations carries over). A run whose host runs out of everything
 * stops with HostMemoryExhaustedError carrying the partial document. Without a host size none
 * of this runs, and the document is exactly what it was before hosts existed.
 * Batches change memory at the start of their tick; their CPU time is charged over the
 * following ticks. The simulated scanner is one thread like ksmd: hashing workers change only
 * the wall-clock `measured` figures, so results are identical for every worker count. Nothing
 * here reads the wall clock except the `measured` figures.
 */
import { createScanner, type Scanner } from "../dedup/index.ts";
import type { Hypervisor } from "../hypervisor/index.ts";
import { allocateCpu, CostModel, DEFAULT_CALIBRATION_PATH, loadCalibration, type Calibration } from "./cost-model.ts";
import { GuestCpu } from "./guest-cpu.ts";
import { round } from "./metrics.ts";
import { RESULT_SCHEMA, type MitigationCost, type RunOptions, type RunResult } from "./result.ts";
import { Sampler } from "./sampler.ts";
import { ScannerCpu } from "./scanner-cpu.ts";
import { resolveSimOptions, runOptions, type SimConfig, type SimOptions } from "./sim-options.ts";
import { TraceReplayRunner } from "./replay-runner.ts";
import { WorkloadRunner, type OpTally } from "./workload-runner.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { PageContents } from "./page-contents.ts";
import { HostMemoryExhaustedError, Reclaimer } from "./reclaim.ts";
import { documentCalibration, documentSpec, hostSummary } from "./host-document.ts";
import { verifyPages } from "./verify.ts";

export { defaultDuration, SIM_DEFAULTS, steadyPhaseStart, type SimOptions } from "./sim-options.ts";

export class Simulation {
  readonly config: SimConfig;
  readonly options: RunOptions;
  readonly calibration: Calibration;
  readonly runner: WorkloadRunner;
  readonly hv: Hypervisor;
  readonly scanner: Scanner;
  readonly sampler: Sampler;
  private readonly cost: CostModel;
  private readonly scannerCpu: ScannerCpu;
  private readonly guestCpu: GuestCpu;
  readonly dtSec: number;
  readonly ticks: number;
  private readonly ticksPerSample: number;
  /** Per entity (0 = the scanner, 1 + i = guest i): CPU seconds wanted, CFS weight, CPU seconds given this tick. */
  private readonly demandSec: Float64Array;
  private readonly weight: Float64Array;
  private readonly allocSec: Float64Array;
  private readonly tally: OpTally = { ops: 0, bytes: 0, cowBreaks: 0, cowCopies: 0, ptUpdates: 0, accessFaults: 0 };
  /** Mitigation access faults (OpTally.accessFaults) over the run, and in the steady window. */
  accessFaults = 0;
  private steadyAccessFaults = 0;
  /** On a host with a size: the reclamation policy (null otherwise) and each guest's share of this tick not stalled. */
  readonly reclaimer: Reclaimer | null = null;
  private readonly availShare: Float64Array;
  /** Null, or why the run stopped early. */
  private stoppedEarly: string | null = null;
  private readonly wallStart = performance.now();
  private readonly startedAt = new Date().toISOString();

  /** Checks every option and builds the machine, guests and scanner (nothing runs yet). */
  constructor(opts: SimOptions) {
    const c = (this.config = resolveSimOptions(opts));
    this.calibration = loadCalibration(c.calibrationPath);
    this.cost = new CostModel(this.calibration);
    if (c.host && !this.calibration.host) throw new InvalidArgumentError(`calibration ${c.calibrationPath} has no "host" section (compressPage, decompressPage, guestPageOut), which a run with a host size needs`);
    this.runner = c.replay ? new TraceReplayRunner(c.workload, c.seed, c.replay, c.host?.frames) : new WorkloadRunner(c.workload, c.seed, c.host?.frames);
    this.hv = this.runner.hv;
    // a replay's pages are whole contents: it regenerates their bytes from content ids alone
    if ((c.host || c.verify) && !c.replay) this.runner.contents = new PageContents(c.workload.totalPages);
    this.scanner = createScanner(this.hv, c.scanner);
    if (this.scanner.mitigation.tracksVisits) this.runner.accessWatch = this.scanner.mitigation;
    this.options = runOptions(c, this.scanner.options);
    this.dtSec = c.tickMs / 1000;
    this.ticks = Math.round(c.durationSec / this.dtSec);
    this.ticksPerSample = Math.max(1, Math.round(c.sampleEverySec / this.dtSec));
    const samplesPerOracle = Math.max(1, Math.round(c.oracleEverySec / (this.ticksPerSample * this.dtSec)));
    this.scannerCpu = new ScannerCpu(this.scanner, this.hv, this.cost, c.pagesToScan, c.sleepMillisecs);
    const guests = this.runner.guests.length;
    this.guestCpu = new GuestCpu(guests, this.cost);
    this.availShare = new Float64Array(guests).fill(1);
    if (c.host) {
      const r = (this.reclaimer = new Reclaimer(this.runner, c.host, this.cost, (i, sec) => this.guestCpu.addDebt(i, sec), c.seed));
      this.runner.pager = r;
    }
    const r = this.reclaimer;
    const hostSample = r
      ? () => {
          const st = this.hv.host;
          const s = { freePages: this.hv.memory.freeCount, state: Math.max(r.intervalWorstState, r.state), balloonPages: r.balloonPages, compressedPages: st.compressedPages, swappedPages: st.swappedPages,
            swapIns: st.swapIns, swapOuts: st.swapOuts, stallSec: r.intervalStallSec };
          r.intervalStallSec = 0;
          r.intervalWorstState = 0;
          return s;
        }
      : undefined;
    this.sampler = new Sampler(this.runner, this.scanner, { hostCpus: c.hostCpus, intervalSec: this.ticksPerSample * this.dtSec, samplesPerOracle, host: hostSample });
    this.demandSec = new Float64Array(guests + 1);
    this.weight = new Float64Array(guests + 1).fill(1);
    this.weight[0] = c.scannerWeight;
    this.allocSec = new Float64Array(guests + 1);
  }

  /** Runs every tick, closes the scanner and returns the run document. */
  async run(): Promise<RunResult> {
    for (let k = 0; k < this.ticks; k++) {
      try {
        await this.tick(k);
      } catch (e) {
        if (!(e instanceof HostMemoryExhaustedError)) throw e;
        this.stoppedEarly = e.message;
        this.sample((k + 1) * this.dtSec, true);
        e.partial = await this.finish();
        throw e;
      }
      if (this.config.auditEveryTick) this.hv.audit();
    }
    return this.finish();
  }

  /** One tick [k dt, (k+1) dt): the steps of the header, in order. */
  async tick(k: number): Promise<void> {
    const t = k * this.dtSec;
    this.runner.startDue(t);
    if (this.reclaimer) this.reclaimStep(t);
    this.allocateCpu(t);
    const merged = await this.scannerCpu.run(t, this.dtSec, this.allocSec[0]!);
    const guestOps = this.runGuests(t);
    this.sampler.recordTick(this.scannerCpu.usedSec, guestOps);
    if (merged) this.sampler.collectMerged(t + this.dtSec);
    const last = k === this.ticks - 1;
    if ((k + 1) % this.ticksPerSample === 0 || last) this.sample((k + 1) * this.dtSec, last);
  }

  /** Host step: reclamation (the stalls it causes are charged in allocateCpu). */
  private reclaimStep(t: number): void {
    this.reclaimer!.step(t, this.dtSec);
  }

  /**
   * Host runs: the stall seconds guest i owes displace its planned operations one for one in
   * time (closed loop: an operation that waits for a swap-in finishes that much later, and the
   * next one starts later; kernel compile time and a web server's response time under closed-loop
   * clients are what real density studies measure, overcommit.md). Of `opSec` seconds of planned
   * operations, min(owed, opSec) are lost; the rest of what is owed waits for the next ticks.
   * Sets availShare[i] (share of the planned operations left) and returns the seconds taken.
   */
  private chargeStall(i: number, opSec: number): number {
    const r = this.reclaimer!;
    const s = Math.min(r.blockedSec[i]!, opSec);
    r.blockedSec[i]! -= s;
    this.availShare[i] = opSec > 0 ? 1 - s / opSec : 1;
    return s;
  }

  /**
   * Host runs of a replay: up to one tick of what guest i owes shifts its remaining trace (the
   * runner's delay: its writes come that much later, its reads pause), the rest waits for the
   * next ticks. A closed loop at the trace's pace, where chargeStall's is at the operations'.
   */
  private shiftStall(i: number): void {
    const r = this.reclaimer!;
    const s = Math.min(r.blockedSec[i]!, this.dtSec);
    r.blockedSec[i]! -= s;
    this.runner.delay(i, s, this.dtSec);
  }

  /** Step 2: every entity's demand, then the CFS-like share of hostCpus x dt. */
  private allocateCpu(t: number): void {
    const dt = this.dtSec;
    const demand = this.demandSec;
    const writeNsPerByte = this.cost.s.writeByte * 1e9;
    demand[0] = this.scannerCpu.demand(t, dt);
    const guests = this.runner.guests;
    for (let i = 0; i < guests.length; i++) {
      const g = guests[i]!;
      if (this.reclaimer && this.runner.stallsShiftTimeline) this.shiftStall(i);
      demand[i + 1] = g.guest ? this.guestCpu.demand(i, this.runner.plan(g, t, dt, writeNsPerByte, this.guestCpu.cowCostPerOpSec[i]!), dt) : 0;
      if (this.reclaimer && !this.runner.stallsShiftTimeline) demand[i + 1]! -= this.chargeStall(i, Math.max(0, demand[i + 1]! - this.guestCpu.debtSec[i]!));
    }
    allocateCpu(this.config.hostCpus * dt, demand, this.weight, this.allocSec);
  }

  /** Step 4: each started guest performs its share of its planned operations, which are charged. Returns the operations done. */
  private runGuests(t: number): number {
    const guests = this.runner.guests;
    const tally = this.tally;
    let ops = 0;
    for (let i = 0; i < guests.length; i++) {
      const g = guests[i]!;
      if (!g.guest) continue;
      const alloc = this.allocSec[i + 1]!;
      let ratio = this.guestCpu.share(i, this.demandSec[i + 1]!, alloc);
      if (this.reclaimer) ratio *= this.availShare[i]!;
      tally.ops = tally.bytes = tally.cowBreaks = tally.cowCopies = tally.ptUpdates = tally.accessFaults = 0;
      this.runner.runOps(g, t, ratio, tally);
      const af = tally.accessFaults!;
      if (af > 0) {
        this.accessFaults += af;
        if (t >= this.options.steadyFromSec - 1e-9) this.steadyAccessFaults += af;
      }
      this.guestCpu.charge(i, tally, g.family.cpuPerOpSec, alloc);
      ops += tally.ops;
    }
    return ops;
  }

  /** Step 6: a series row (and an oracle row when due), the audit, the progress report. */
  private sample(nowSec: number, last: boolean): void {
    this.sampler.sample(nowSec, this.scannerCpu.pagesScanned, last);
    if (this.config.audit) this.hv.audit();
    this.config.onProgress?.(nowSec, this.config.durationSec);
  }

  private mitigationCost(): MitigationCost {
    return { accessFaults: this.accessFaults, steadyAccessFaultsPerSec: steadyRate(this.steadyAccessFaults, this.options.steadyFromSec, this.ticks * this.dtSec) };
  }

  /** After the last tick: the last merges, the scanner closed, the run document. */
  private async finish(): Promise<RunResult> {
    const c = this.config;
    this.sampler.collectMerged(this.ticks * this.dtSec);
    const fullScans = this.scanner.stats().fullScans;
    await this.scanner.close();
    if (c.audit) this.hv.audit();
    if (c.verify && !this.stoppedEarly) verifyPages(this.runner, (slot) => this.reclaimer?.pagedOut(slot) ?? false);
    const base = this.sampler.summary(this.options.steadyFromSec, this.scannerCpu.pagesScanned, fullScans, c.hostCpus * this.ticks * this.dtSec);
    const lag = this.reclaimer && this.runner instanceof TraceReplayRunner ? this.runner.lagSummary() : {};
    const summary = this.reclaimer ? { ...base, ...hostSummary(this.hv, this.reclaimer, this.stoppedEarly), ...lag } : base;
    const sc = this.scannerCpu;
    return {
      schema: RESULT_SCHEMA,
      workload: { name: c.workload.name, spec: documentSpec(c.spec, c.host !== null) },
      seed: c.seed,
      options: this.options,
      calibration: { ...documentCalibration(this.calibration, c.host !== null), path: c.calibrationPath === DEFAULT_CALIBRATION_PATH ? "src/sim/calibration/default.json" : c.calibrationPath },
      series: this.sampler.series,
      oracle: this.sampler.oracle,
      summary,
      ...(c.mitigation.kind !== "off" ? { mitigationCost: this.mitigationCost() } : {}),
      measured: {
        startedAt: this.startedAt,
        wallSec: round((performance.now() - this.wallStart) / 1000, 3),
        scannerWallSec: round(sc.wallSec, 4),
        scannerPagesPerSec: sc.wallSec > 0 && sc.pagesScanned > 0 ? Math.round(sc.pagesScanned / sc.wallSec) : null,
        batchLatencyUs: sc.batchLatencyUs(),
        oracleWallSec: round(this.sampler.oracleWallSec, 4),
      },
    };
  }
}

/** The mitigation's cost figures of a finished run (RunResult.mitigationCost). */
function steadyRate(count: number, fromSec: number, toSec: number): number {
  return toSec > fromSec ? round(count / (toSec - fromSec)) : 0;
}

/** Runs one simulation to the end (see the header); the same options give the same document outside `measured`. */
export async function runSimulation(opts: SimOptions): Promise<RunResult> {
  return new Simulation(opts).run();
}
