/**
 * Fitting a workload spec to a captured trace (workloads/README.md "Fitted to the captured traces"):
 * the same figures `vmdedup analyze` gives, on both sides, in the same view and on the same clock.
 *
 * Trace side (traceFitTargets), from the trace's snapshots:
 *   - the guest's view of memory: a page that was populated at an earlier snapshot and is
 *     unpopulated now counts as a populated zero page. In the shipped captures the only way a page
 *     loses its host backing is the host itself remapping a zero-filled page to the shared zero page
 *     (the 6.18 host does it for the zero-filled subpages of a transparent huge page that KSM
 *     splits; no balloon, no free page reporting; content pages nearly never lose their backing:
 *     58, 14 and 6 of 196,608 in build, web, database, bounded by the test), i.e. host
 *     de-duplication at work. A model describes the memory the guest
 *     hands the hypervisor, before any de-duplication, which the simulated policies then do; so the
 *     fit undoes the host's remap. (The trace itself, and its replay, keep the remap as captured.)
 *   - figures at the first and the last snapshot: zeroPct, unpopulatedPct, withinGuestExclZeroPct,
 *     acrossGuestsExclZeroPct (src/trace/analyze.ts, on the guest-view images);
 *   - churn: pages whose guest-view state or digest changed, over the snapshot intervals that start
 *     at or after `steadyFromSec` (host seconds; after the capture's start-up), as % of all pages
 *     per host second; `nativeChurnPctPerSec` is that times meta.tcgSlowdown (FORMAT.md, "Time and
 *     churn": under TCG a guest does tcgSlowdown times less work per host second).
 * Model side (modelFitFigures): the spec's guests run by a WorkloadRunner alone (no scanner, no CPU
 * limit: every operation the spec asks for is performed), and at chosen simulated times each page's
 * content id (runner.contentOf) stands for its digest in the same SnapshotCounter. The clock: a
 * model runs natively, so trace time t (host seconds under TCG) is model time
 *   bootSec + t / tcgSlowdown
 * where bootSec is the end of the spec's first phase (the guests at READY, where a capture's t = 0
 * is). Churn is measured over model windows of the trace's interval / tcgSlowdown, so that a window
 * holds the same guest work as a trace interval (a hot page rewritten twice in a window counts once,
 * on both sides).
 * Departures: content ids are exact identities (the trace's digests are too, up to collisions of a
 * 128-bit hash); the model's writes happen as specified, where a simulation on a busy host may
 * perform fewer (cpuDemandPerGuest reports the specified CPU per guest so a test can bound it).
 */
import { GuestImage, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, SnapshotCounter, TraceReader, type SnapshotFigures } from "../trace/index.ts";
import { NO_CONTENT, ZERO_CONTENT } from "./content.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";
import { WorkloadRunner, type OpTally } from "./workload-runner.ts";

/** The four sharing figures the fit compares, % of all guest pages. */
export interface FitFigures {
  zeroPct: number;
  unpopulatedPct: number;
  withinGuestExclZeroPct: number;
  acrossGuestsExclZeroPct: number;
}

export interface TraceFitTargets {
  guests: number;
  pagesPerGuest: number;
  tcgSlowdown: number;
  /** Host seconds of the first and the last snapshot (guest 0), and the nominal interval. */
  firstSec: number;
  lastSec: number;
  intervalSec: number;
  first: FitFigures;
  last: FitFigures;
  /** The same snapshots as captured (zero-filled pages the host remapped count as unpopulated). */
  firstAsCaptured: FitFigures;
  lastAsCaptured: FitFigures;
  /** Guest-view churn over the steady intervals, % of all pages per host second. */
  churnHostPctPerSec: number;
  /** churnHostPctPerSec x tcgSlowdown: % per native second. */
  nativeChurnPctPerSec: number;
  /** Pages that went from content to unpopulated at any snapshot (0 in the shipped traces). */
  contentToUnpopulated: number;
}

const fitOf = (f: SnapshotFigures): FitFigures => ({
  zeroPct: f.zeroPct, unpopulatedPct: f.unpopulatedPct, withinGuestExclZeroPct: f.withinGuestExclZeroPct, acrossGuestsExclZeroPct: f.acrossGuestsExclZeroPct,
});

function analyze(images: readonly GuestImage[], timeSec: number): SnapshotFigures {
  const c = new SnapshotCounter();
  for (const im of images) c.addGuest(im);
  return c.figures(timeSec);
}

/** The fit's targets from a trace (see the header); steadyFromSec: churn from the intervals starting there. */
export function traceFitTargets(path: string, steadyFromSec: number): TraceFitTargets {
  const r = new TraceReader(path);
  const h = r.header;
  const n = r.images.length;
  const ever = r.images.map((im) => new Uint8Array(im.pageCount));
  const view = r.images.map((im) => new GuestImage(im.pageCount));
  const prev = r.images.map((im) => new GuestImage(im.pageCount));
  const times = h.guests[0]!.timesSec;
  const total = r.images.reduce((a, im) => a + im.pageCount, 0);
  let first: SnapshotFigures | null = null, firstRaw: SnapshotFigures | null = null, last: SnapshotFigures | null = null, lastRaw: SnapshotFigures | null = null;
  let steadyChanged = 0, steadySec = 0, contentToUnpopulated = 0;
  for (const j of r.snapshots()) {
    let changed = 0;
    for (let g = 0; g < n; g++) {
      const im = r.images[g]!, v = view[g]!, p = prev[g]!, e = ever[g]!;
      v.copyFrom(im);
      for (let i = 0; i < im.pageCount; i++) {
        const s = im.state[i]!;
        if (s !== PAGE_UNPOPULATED) e[i] = 1;
        else if (e[i]) {
          if (p.state[i] === PAGE_CONTENT) contentToUnpopulated++;
          v.state[i] = PAGE_ZERO;
        }
        if (j === 0) continue;
        const vs = v.state[i]!;
        if (vs !== p.state[i]) changed++;
        else if (vs === PAGE_CONTENT) {
          const w = i * 4, a = v.digestWords, b = p.digestWords;
          if (a[w] !== b[w] || a[w + 1] !== b[w + 1] || a[w + 2] !== b[w + 2] || a[w + 3] !== b[w + 3]) changed++;
        }
      }
      p.copyFrom(v);
    }
    if (j > 0 && times[j - 1]! >= steadyFromSec - 0.5) {
      steadyChanged += changed;
      steadySec += times[j]! - times[j - 1]!;
    }
    if (j === 0) {
      first = analyze(view, times[0]!);
      firstRaw = analyze(r.images, times[0]!);
    }
    if (j === h.snapshots - 1) {
      last = analyze(view, times[j]!);
      lastRaw = analyze(r.images, times[j]!);
    }
  }
  const tcg = h.meta.tcgSlowdown ?? 1;
  const churnHost = steadySec > 0 ? (steadyChanged * 100) / total / steadySec : 0;
  return {
    guests: n, pagesPerGuest: r.images[0]!.pageCount, tcgSlowdown: tcg,
    firstSec: times[0]!, lastSec: times[times.length - 1]!, intervalSec: h.meta.intervalSec ?? (times[times.length - 1]! - times[0]!) / Math.max(1, times.length - 1),
    first: fitOf(first!), last: fitOf(last!), firstAsCaptured: fitOf(firstRaw!), lastAsCaptured: fitOf(lastRaw!),
    churnHostPctPerSec: churnHost, nativeChurnPctPerSec: churnHost * tcg, contentToUnpopulated,
  };
}

export interface ModelFitFigures {
  /** Model seconds of the two snapshots. */
  firstSec: number;
  lastSec: number;
  first: FitFigures;
  last: FitFigures;
  /** Changed pages per model (native) second over the churn windows, % of all pages. */
  churnPctPerSec: number;
  /** The most guest CPU per simulated second any guest's specified operations need (cpuPerOp x ops/s), over the run. */
  cpuDemandPerGuest: number;
}

/** Guest images of the runner's memory: state from contentOf, the content id as the digest. */
function imagesOf(r: WorkloadRunner, images: GuestImage[]): GuestImage[] {
  for (const g of r.guests) {
    const im = images[g.index]!;
    const base = g.guest ? g.guest.slotBase : -1;
    for (let i = 0; i < im.pageCount; i++) {
      const id = base < 0 ? NO_CONTENT : r.contentOf[base + i]!;
      im.state[i] = id === NO_CONTENT ? PAGE_UNPOPULATED : id === ZERO_CONTENT ? PAGE_ZERO : PAGE_CONTENT;
      const w = i * 4;
      im.digestWords[w] = id;
      im.digestWords[w + 1] = ~id;
      im.digestWords[w + 2] = 0x9e3779b9;
      im.digestWords[w + 3] = 1;
    }
  }
  return images;
}

/**
 * The fit's figures of a spec's generated memory (see the header): snapshots at firstSec and
 * lastSec (model seconds; taken at the start of the tick at that time, before its writes) and the
 * churn over `windows` ([from, to] model seconds), with guests/guestMem overrides as for a run.
 */
export function modelFitFigures(
  spec: WorkloadSpec,
  o: { guests?: number; guestMem?: number; seed?: number; firstSec: number; lastSec: number; windows: readonly (readonly [number, number])[]; tickSec?: number },
): ModelFitFigures {
  const w = resolveSpec(spec, { guests: o.guests, guestMem: o.guestMem });
  const r = new WorkloadRunner(w, o.seed ?? 1);
  const dt = o.tickSec ?? 0.005;
  const images = r.guests.map((g) => new GuestImage(g.family.pages));
  const marks = new Set<number>([o.firstSec, o.lastSec, ...o.windows.flat()].map((t) => Math.round(t / dt)));
  const end = Math.max(...marks);
  const at = new Map<number, Uint32Array>();
  let first: SnapshotFigures | null = null, last: SnapshotFigures | null = null, cpu = 0;
  const tally: OpTally = { ops: 0, bytes: 0, cowBreaks: 0, cowCopies: 0, ptUpdates: 0 };
  for (let k = 0; k <= end; k++) {
    const now = k * dt;
    r.startDue(now);
    if (marks.has(k)) {
      at.set(k, r.contentOf.slice());
      if (k === Math.round(o.firstSec / dt)) first = analyze(imagesOf(r, images), now);
      if (k === Math.round(o.lastSec / dt)) last = analyze(imagesOf(r, images), now);
    }
    if (k === end) break;
    for (const g of r.guests) cpu = Math.max(cpu, r.plan(g, now, dt, 0, 0) / dt);
    for (const g of r.guests) r.runOps(g, now, 1, tally);
  }
  let changed = 0, sec = 0;
  for (const [a, b] of o.windows) {
    const x = at.get(Math.round(a / dt))!, y = at.get(Math.round(b / dt))!;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) changed++;
    sec += b - a;
  }
  r.hv.audit();
  return {
    firstSec: o.firstSec, lastSec: o.lastSec, first: fitOf(first!), last: fitOf(last!),
    churnPctPerSec: sec > 0 ? (changed * 100) / w.totalPages / sec : 0, cpuDemandPerGuest: cpu,
  };
}

/** One row of a fit table: a figure, the trace's value, the model's, the allowed gap and whether it holds. */
export interface FitRow {
  figure: string;
  trace: number;
  model: number;
  /** Absolute points for the sharing figures; relative (0.25 = 25%) for churn. */
  tolerance: number;
  relative: boolean;
  ok: boolean;
}

/** The points (sharing figures) and relative share (churn) the fit must hold (issue 11, part 6). */
export const FIT_TOLERANCE = { points: 3, churnRelative: 0.25 } as const;

const FIGURE_LABELS: [keyof FitFigures, string][] = [
  ["zeroPct", "zero pages"], ["unpopulatedPct", "unpopulated"], ["withinGuestExclZeroPct", "within-guest dup. excl. zero"], ["acrossGuestsExclZeroPct", "cross-guest dup. excl. zero"],
];

/** The spec fitted against the trace: model times from the trace's clock (header), one row per figure. */
export function fitRows(spec: WorkloadSpec, tracePath: string, o: { steadyFromSec: number; seed?: number }): { target: TraceFitTargets; model: ModelFitFigures; rows: FitRow[] } {
  const target = traceFitTargets(tracePath, o.steadyFromSec);
  const w = resolveSpec(spec, { guests: target.guests, guestMem: target.pagesPerGuest * 4096 });
  const bootSec = Math.max(...w.families.map((f) => f.startSec + (f.guests - 1) * f.staggerSec + f.phases[0]!.durationSec));
  const toModel = (t: number) => bootSec + (t - target.firstSec) / target.tcgSlowdown;
  const windows: [number, number][] = [];
  const step = target.intervalSec;
  for (let t = o.steadyFromSec; t + step <= target.lastSec + 1e-6; t += step) windows.push([toModel(t), toModel(t + step)]);
  const model = modelFitFigures(spec, {
    guests: target.guests, guestMem: target.pagesPerGuest * 4096, seed: o.seed, firstSec: toModel(target.firstSec), lastSec: toModel(target.lastSec), windows,
  });
  const rows: FitRow[] = [];
  for (const [when, a, b] of [["first", target.first, model.first], ["last", target.last, model.last]] as const)
    for (const [k, label] of FIGURE_LABELS)
      rows.push({ figure: `${label}, ${when} snapshot (%)`, trace: a[k], model: b[k], tolerance: FIT_TOLERANCE.points, relative: false, ok: Math.abs(a[k] - b[k]) <= FIT_TOLERANCE.points });
  const c = target.nativeChurnPctPerSec;
  rows.push({ figure: "steady churn (% of pages per native s)", trace: c, model: model.churnPctPerSec, tolerance: FIT_TOLERANCE.churnRelative, relative: true, ok: Math.abs(model.churnPctPerSec - c) <= FIT_TOLERANCE.churnRelative * c });
  return { target, model, rows };
}
