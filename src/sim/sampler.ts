/**
 * The Sampler: what a run records on the simulated clock, and the summary made from it.
 *
 * It owns the two columnar tables (series.ts declares their columns), the time-to-merge
 * record, and the run's summary:
 *  - every tick the Simulation reports the scanner CPU seconds used and the guest operations
 *    done (recordTick); they add up over the sample interval and over the run;
 *  - after a tick in which the scanner merged, pages waiting to be merged are checked
 *    (collectMerged: time-to-merge);
 *  - every sampleEverySec (and at the end) one series row: savings from a pass over the page
 *    table (SavingsMeter), the scanner's and the hypervisor's counters, and the interval's
 *    rates, each divided by the interval's nominal length;
 *  - every samplesPerOracle samples (and at the end) one oracle row: maxSharing(hv), which
 *    hashes every populated page, hence its own, slower cadence;
 *  - at the end, the summary: final values, means over the steady-state window, the final
 *    oracle and efficiency, time-to-merge percentiles.
 * Only `oracleWallSec` reads the wall clock.
 */
import { maxSharing, type Scanner } from "../dedup/index.ts";
import { MergeTimes, round, SAVINGS_DEFINITIONS, SavingsMeter } from "./metrics.ts";
import type { RunSummary } from "./result.ts";
import { appendRow, emptyTable, HOST_SERIES_COLUMNS, ORACLE_COLUMNS, SERIES_COLUMNS, type OracleSeries, type TimeSeries } from "./series.ts";
import type { WorkloadRunner } from "./workload-runner.ts";

/** What the host reports per sample (reclaim.ts and hv.stats(), read by the driver); null: no host. */
export interface HostSample {
  freePages: number;
  state: number;
  balloonPages: number;
  compressedPages: number;
  swappedPages: number;
  swapIns: number;
  swapOuts: number;
  /** Stall seconds since the previous sample (all guests). */
  stallSec: number;
}

export interface SamplerConfig {
  hostCpus: number;
  /** Nominal length of a sample interval: ticksPerSample x dt (the rates' divisor, the last interval included). */
  intervalSec: number;
  /** An oracle row every this many series rows (and at the last). */
  samplesPerOracle: number;
  /** On a host with a size: its sample, read at every series row (adds HOST_SERIES_COLUMNS). */
  host?: () => HostSample;
}

export class Sampler {
  readonly series: TimeSeries;
  private lastSwap = { ins: 0, outs: 0 };
  readonly oracle: OracleSeries = emptyTable(ORACLE_COLUMNS);
  readonly mergeTimes = new MergeTimes();
  private readonly meter: SavingsMeter;
  /** Scanner CPU seconds and guest operations in the current sample interval. */
  private intervalScannerCpuSec = 0;
  private intervalGuestOps = 0;
  /** Scanner CPU seconds over the whole run. */
  private totalScannerCpuSec = 0;
  /** hv.cowBreaks at the previous sample. */
  private lastCowBreaks = 0;
  private samples = 0;
  /** The last oracle sample's savable pages (with and without zero pages). */
  private finalOracle = { savable: 0, savableExcl: 0 };
  /** Wall-clock seconds spent in maxSharing (measured). */
  oracleWallSec = 0;

  constructor(
    private readonly runner: WorkloadRunner,
    private readonly scanner: Scanner,
    private readonly config: SamplerConfig,
  ) {
    this.meter = new SavingsMeter(runner);
    this.series = config.host ? { ...emptyTable(SERIES_COLUMNS), ...emptyTable(HOST_SERIES_COLUMNS) } : emptyTable(SERIES_COLUMNS);
  }

  /** What a tick did: scanner CPU seconds used and guest operations performed. */
  recordTick(scannerCpuSec: number, guestOps: number): void {
    this.totalScannerCpuSec += scannerCpuSec;
    this.intervalScannerCpuSec += scannerCpuSec;
    this.intervalGuestOps += guestOps;
  }

  /** Records the waits of pending duplicate pages found merged by `nowSec`. */
  collectMerged(nowSec: number): void {
    this.runner.collectMerged(nowSec, this.mergeTimes.record);
  }

  /** One series row at `nowSec` (and an oracle row when due or `last`); closes the interval. */
  sample(nowSec: number, pagesScanned: number, last: boolean): void {
    const { hostCpus, intervalSec: span } = this.config;
    const s = this.meter.sample();
    const st = this.scanner.stats();
    const cow = this.runner.hv.cowBreaks;
    const pct = (x: number) => (s.guestPages ? round((100 * x) / s.guestPages) : 0);
    appendRow(SERIES_COLUMNS, this.series, {
      tSec: round(nowSec, 3),
      guestPages: s.guestPages,
      populatedPages: s.populated,
      framesUsed: s.framesUsed,
      savingsPct: pct(s.savedPages),
      savingsExclZeroPct: pct(s.savedExclZeroPages),
      pagesShared: st.pagesShared,
      pagesSharing: st.pagesSharing,
      cowBreaks: cow,
      cowBreaksPerSec: round((cow - this.lastCowBreaks) / span),
      pagesScanned,
      fullScans: st.fullScans,
      scannerCpuShare: round(this.intervalScannerCpuSec / (hostCpus * span), 6),
      guestOpsPerSec: round(this.intervalGuestOps / span),
    });
    if (this.config.host) {
      const h = this.config.host();
      appendRow(HOST_SERIES_COLUMNS, this.series as Required<TimeSeries>, {
        hostFreePages: h.freePages, hostState: h.state, balloonPages: h.balloonPages, compressedPages: h.compressedPages, swappedPages: h.swappedPages,
        swapInsPerSec: round((h.swapIns - this.lastSwap.ins) / span), swapOutsPerSec: round((h.swapOuts - this.lastSwap.outs) / span),
        stallSecPerSec: round(h.stallSec / span, 6),
      });
      this.lastSwap = { ins: h.swapIns, outs: h.swapOuts };
    }
    this.lastCowBreaks = cow;
    this.intervalScannerCpuSec = 0;
    this.intervalGuestOps = 0;
    this.samples++;
    if (this.samples % this.config.samplesPerOracle !== 0 && !last) return;
    const o0 = performance.now();
    const o = maxSharing(this.runner.hv);
    this.oracleWallSec += (performance.now() - o0) / 1000;
    this.finalOracle = { savable: o.savablePages, savableExcl: o.savablePagesExclZero };
    appendRow(ORACLE_COLUMNS, this.oracle, {
      tSec: round(nowSec, 3),
      savablePct: pct(o.savablePages),
      savableExclZeroPct: pct(o.savablePagesExclZero),
      efficiency: o.savablePages ? round(s.savedPages / o.savablePages) : null,
      efficiencyExclZero: o.savablePagesExclZero ? round(s.savedExclZeroPages / o.savablePagesExclZero) : null,
    });
  }

  /**
   * The run's summary. `steadyFromSec`: start of the steady window (samples after it, and the
   * last sample, are averaged); `hostCpuSec`: hostCpus x simulated seconds; `fullScans`: the
   * scanner's at the end. The baseline comparison stays null (compareWithBaseline fills it).
   */
  summary(steadyFromSec: number, pagesScanned: number, fullScans: number, hostCpuSec: number): RunSummary {
    const series = this.series;
    const n = series.tSec.length;
    const steady = series.tSec.map((t, i) => (t > steadyFromSec + 1e-9 || i === n - 1 ? i : -1)).filter((i) => i >= 0);
    const mean = (a: number[]) => round(steady.reduce((x, i) => x + a[i]!, 0) / steady.length);
    const last = (a: number[]) => a[n - 1] ?? 0;
    const gp = last(series.guestPages);
    const savedPages = last(series.populatedPages) - last(series.framesUsed);
    const { savable, savableExcl } = this.finalOracle;
    return {
      definitions: SAVINGS_DEFINITIONS,
      savingsPct: last(series.savingsPct),
      savingsExclZeroPct: last(series.savingsExclZeroPct),
      steadySavingsPct: mean(series.savingsPct),
      steadySavingsExclZeroPct: mean(series.savingsExclZeroPct),
      oracleSavablePct: gp ? round((100 * savable) / gp) : 0,
      oracleSavableExclZeroPct: gp ? round((100 * savableExcl) / gp) : 0,
      efficiency: savable ? round(savedPages / savable) : null,
      efficiencyExclZero: savableExcl ? round(((last(series.savingsExclZeroPct) / 100) * gp) / savableExcl) : null,
      cowBreaks: this.runner.hv.cowBreaks,
      steadyCowBreaksPerSec: mean(series.cowBreaksPerSec),
      pagesScanned,
      fullScans,
      scannerCpuShare: round(this.totalScannerCpuSec / hostCpuSec, 6),
      steadyGuestOpsPerSec: mean(series.guestOpsPerSec),
      baselineGuestOpsPerSec: null,
      throughputLossPct: null,
      timeToMerge: this.mergeTimes.summary(this.runner.pendingCount()),
    };
  }
}
