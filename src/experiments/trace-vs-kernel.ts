/**
 * A shipped trace replayed under the ksm policy beside the host kernel's KSM that ran on the very
 * guests while the trace was captured (meta.hostKsm, workloads/traces/FORMAT.md "Live peer").
 *
 * The replay runs with the capture's settings, read from the trace: KSM's knobs (hostKsmKnobs:
 * pages_to_scan, sleep_millisecs, smart_scan, use_zero_pages, max_page_sharing) and ksmd's CPU
 * weight (meta.ksmdNice as the scanner's nice level), on 2 host CPUs (the capture host's), until
 * the kernel's last sample or the trace's last snapshot, whichever is later. Compared: the kernel's pages_sharing at each of
 * its samples against the replay's pagesSharing at the nearest sample (every 1 s), and both against
 * the oracle of the trace's own snapshots (savable excl. zero, in pages: what merging every
 * duplicate non-zero page would save; the kernel cannot merge more than that of the guest RAM it
 * dumped, only QEMU's other mergeable blocks, which the dump does not hold).
 * The replay's own departures from the captured guests are trace-replay.ts's (writes between
 * snapshots at seeded times, one write per changed page); the comparison is written up in
 * workloads/traces/FORMAT.md.
 */
import type { Policy } from "../dedup/index.ts";
import { loadReplayTrace, type WorkloadSpec } from "../sim/index.ts";
import { analyzeTrace, type SnapshotFigures } from "../trace/index.ts";
import { runOnce } from "./run.ts";

export interface CurvePoint {
  tSec: number;
  pages: number;
}

export interface TraceVsKernel {
  trace: string;
  guests: number;
  /** The settings the replay ran with (from the trace). */
  settings: { pagesToScan: number; sleepMillisecs: number; smartScan: boolean; useZeroPages: boolean; maxPageSharing: number; scannerNice: number; hostCpus: number; durationSec: number };
  kernel: CurvePoint[];
  replay: CurvePoint[];
  /** Savable excl. zero pages of each snapshot of the trace (all guests), and savable with the zero pages merged. */
  oracle: CurvePoint[];
  oracleInclZero: CurvePoint[];
  /** At the kernel's last sample: replay - kernel (pages, and % of the kernel's). */
  finalGapPages: number;
  finalGapPct: number;
  /** Mean of |replay - kernel| over the kernel's samples, pages; and over the samples from steadyFromSec on, % of the kernel's final. */
  meanAbsGapPages: number;
  steadyFromSec: number;
  steadyMeanAbsGapPct: number;
  /** The largest replay - kernel over the kernel's samples, and when. */
  peakGapPages: number;
  peakGapAtSec: number;
  /** Seconds until each curve first reaches 90% of the kernel's final pages_sharing (null: never). */
  kernelT90Sec: number | null;
  replayT90Sec: number | null;
  /** ksmd's CPU over the capture (meta.ksmdCpuSec) and the replay scanner's CPU seconds. */
  kernelCpuSec: number | null;
  replayCpuSec: number;
}

const nearest = (c: readonly CurvePoint[], t: number): number => {
  let best = c[0]!;
  for (const p of c) if (Math.abs(p.tSec - t) < Math.abs(best.tSec - t)) best = p;
  return best.pages;
};
const t90 = (c: readonly CurvePoint[], target: number): number | null => c.find((p) => p.pages >= 0.9 * target)?.tSec ?? null;

/** Replays `spec` (a trace's, traceWorkloadSpec) under ksm at the capture's settings; throws when the trace recorded no host KSM. */
export async function traceVsKernel(spec: WorkloadSpec, o: { seed?: number; policy?: Policy; steadyFromSec?: number } = {}): Promise<TraceVsKernel> {
  if (!spec.trace) throw new Error(`${spec.name} is not a trace replay`);
  const t = loadReplayTrace(spec.trace.path, spec.trace.fileXxh3);
  const m = t.header.meta;
  const k = m.hostKsmKnobs;
  if (!m.hostKsm?.length || !k) throw new Error(`${spec.trace.path} recorded no host KSM (meta.hostKsm, meta.hostKsmKnobs)`);
  const shift = Math.min(...t.header.guests.map((g) => g.timesSec[0]!));
  const kernel = m.hostKsm.filter((s) => s.pages_sharing !== undefined).map((s) => ({ tSec: s.timeSec - shift, pages: s.pages_sharing! }));
  // to the trace's last snapshot or the kernel's last sample, whichever is later
  const lengthSec = Math.max(...t.guests.map((g) => g.timesSec[g.timesSec.length - 1]!), kernel[kernel.length - 1]?.tSec ?? 0);
  const settings = {
    pagesToScan: k.pages_to_scan ?? 100, sleepMillisecs: k.sleep_millisecs ?? 20, smartScan: (k.smart_scan ?? 1) === 1, useZeroPages: (k.use_zero_pages ?? 0) === 1,
    maxPageSharing: k.max_page_sharing ?? 256, scannerNice: m.ksmdNice ?? 5, hostCpus: 2, durationSec: Math.ceil(lengthSec),
  };
  const r = await runOnce({
    workload: spec, policy: o.policy ?? "ksm", seed: o.seed ?? 1, durationSec: settings.durationSec, sampleEverySec: 1, oracleEverySec: 10,
    pagesToScan: settings.pagesToScan, sleepMillisecs: settings.sleepMillisecs, smartScan: settings.smartScan, useZeroPages: settings.useZeroPages,
    maxPageSharing: settings.maxPageSharing, scannerNice: settings.scannerNice, hostCpus: settings.hostCpus,
  });
  const replay: CurvePoint[] = [{ tSec: 0, pages: 0 }, ...r.series.tSec.map((x, i) => ({ tSec: x, pages: r.series.pagesSharing[i]! }))];
  const snaps = analyzeTrace(t.file, { perSnapshot: true }).snapshots as SnapshotFigures[];
  const oracle = snaps.map((s) => ({ tSec: s.timeSec - shift, pages: s.counts.savableExclZero }));
  const oracleInclZero = snaps.map((s) => ({ tSec: s.timeSec - shift, pages: s.counts.savable }));
  const steadyFromSec = o.steadyFromSec ?? 20;
  const gaps = kernel.map((p) => ({ tSec: p.tSec, gap: nearest(replay, p.tSec) - p.pages }));
  const steady = gaps.filter((g) => g.tSec >= steadyFromSec);
  const peak = gaps.reduce((a, g) => (g.gap > a.gap ? g : a), gaps[0]!);
  const last = kernel[kernel.length - 1]!;
  const finalGapPages = nearest(replay, last.tSec) - last.pages;
  const meanAbsGapPages = gaps.reduce((a, g) => a + Math.abs(g.gap), 0) / gaps.length;
  const steadyMeanAbsGapPct = steady.length && last.pages ? (steady.reduce((a, g) => a + Math.abs(g.gap), 0) * 100) / steady.length / last.pages : 0;
  const cpu = r.series.scannerCpuShare.reduce((a, x) => a + x * settings.hostCpus, 0); // each sample is 1 s
  return {
    trace: spec.trace.path, guests: t.guests.length, settings, kernel, replay, oracle, oracleInclZero,
    finalGapPages, finalGapPct: last.pages ? (finalGapPages * 100) / last.pages : 0, meanAbsGapPages, steadyFromSec, steadyMeanAbsGapPct,
    peakGapPages: peak.gap, peakGapAtSec: peak.tSec,
    kernelT90Sec: t90(kernel, last.pages), replayT90Sec: t90(replay, last.pages), kernelCpuSec: m.ksmdCpuSec ?? null, replayCpuSec: cpu,
  };
}
