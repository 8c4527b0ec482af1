/**
 * The trace-driven runner: a WorkloadRunner whose guests' writes come from a decoded trace
 * (trace-replay.ts explains the replay and what it cannot know) instead of a spec's activities.
 * The Simulation drives it through the same three calls as the spec-driven runner: startDue
 * (create and boot guests: the first snapshot, free of CPU), plan (the writes due by the end of
 * the tick, backlog included, and their CPU estimate) and runOps (the share of them the guest's
 * CPU covers, in time order; the rest stays due). Everything the Sampler reads (contentOf, the
 * copy counts behind time-to-merge, the hypervisor) is kept exactly as the base class keeps it.
 *
 * Content ids: content k of the trace is named id base + k (one range reserved for the trace),
 * the zero page is id 0, an unpopulated page NO_CONTENT.
 *
 * Per guest (indexed like guests[], typed arrays, set up once from the seed):
 *   schedTime/schedPage/schedCode  the writes after the first snapshot in time order: each
 *                                  interval's changed pages shuffled and given sorted uniform
 *                                  times in [t_{j-1}, t_j) (Fisher-Yates + sorted uniforms: each
 *                                  page an independent uniform time);
 *   cursor                         the next write not yet performed;
 *   dueEnd                         writes [cursor, dueEnd) are due by the end of the planned tick;
 *   doneCarry                      the fraction of a write carried between ticks (as doneAcc).
 */
import { PAGE_SIZE, ZERO_PAGE } from "../hypervisor/index.ts";
import { fmix32, NO_CONTENT, ZERO_CONTENT } from "./content.ts";
import { Rng } from "./rng.ts";
import type { ResolvedWorkload } from "./spec.ts";
import { REPLAY_UNPOPULATED, REPLAY_ZERO, synthesizePage, type ReplayGuest, type ReplayTrace } from "./trace-replay.ts";
import { WorkloadRunner, type OpTally, type SimGuest } from "./workload-runner.ts";

interface Schedule {
  time: Float64Array;
  page: Uint32Array;
  code: Uint32Array;
}

export class TraceReplayRunner extends WorkloadRunner {
  /** First content id of the trace's contents. */
  private readonly idBase: number;
  /** Per runner guest: its trace guest. */
  private readonly source: ReplayGuest[];
  private readonly sched: Schedule[];
  private readonly cursor: Int32Array;
  private readonly dueEnd: Int32Array;
  private readonly doneCarry: Float64Array;
  private readonly page = new Uint8Array(PAGE_SIZE);

  constructor(
    workload: ResolvedWorkload,
    seed: number,
    readonly trace: ReplayTrace,
  ) {
    super(workload, seed);
    this.idBase = trace.distinct > 0 ? this.ids.range("trace", trace.distinct) : 1;
    // Families are the trace's guests in trace order (traceWorkloadSpec); guests[] is in start order.
    this.source = this.guests.map((g) => trace.guests[workload.families.indexOf(g.family)]!);
    this.sched = this.source.map((src) => schedule(src, seed, trace.guests.indexOf(src)));
    const n = this.guests.length;
    this.cursor = new Int32Array(n);
    this.dueEnd = new Int32Array(n);
    this.doneCarry = new Float64Array(n);
  }

  /** Creates each guest whose first snapshot time has come and writes that snapshot (no CPU). */
  override startDue(now: number): number {
    let n = 0;
    for (const g of this.guests) {
      if (g.guest || g.startSec > now + 1e-9) continue;
      g.guest = this.hv.createGuest({ pages: g.family.pages, mode: g.family.mode, name: `${g.family.name}-${g.index}` });
      const src = this.source[g.index]!;
      for (let e = 0; e < src.eventStart[1]!; e++) this.apply(g, src.eventPage[e]!, src.eventCode[e]!, now);
      n++;
    }
    return n;
  }

  /** The writes due by now + dt (backlog included); returns their CPU estimate in seconds. */
  override plan(g: SimGuest, now: number, dt: number, writeNsPerByte: number, cowCostPerOpSec: number): number {
    if (!g.guest) return 0;
    const s = this.sched[g.index]!;
    let e = this.dueEnd[g.index]!;
    const end = now + dt - 1e-9;
    while (e < s.time.length && s.time[e]! < end) e++;
    this.dueEnd[g.index] = e;
    const due = e - this.cursor[g.index]!;
    return due * (g.family.cpuPerOpSec + PAGE_SIZE * writeNsPerByte * 1e-9 + cowCostPerOpSec);
  }

  /** Performs `ratio` of the due writes, oldest first; tallies what they did. */
  override runOps(g: SimGuest, now: number, ratio: number, t: OpTally): void {
    if (!g.guest) return;
    const i = g.index;
    const c = this.cursor[i]!;
    const due = this.dueEnd[i]! - c;
    if (due <= 0) return;
    const want = due * ratio + this.doneCarry[i]!;
    const n = Math.min(due, Math.floor(want + 1e-9));
    this.doneCarry[i] = n < due ? want - n : 0;
    if (n <= 0) return;
    const s = this.sched[i]!;
    const hv = this.hv;
    const b0 = hv.cowBreaks, c0 = hv.cowCopies, p0 = hv.ptUpdates;
    let bytes = 0;
    for (let e = c; e < c + n; e++) {
      const code = s.code[e]!;
      this.apply(g, s.page[e]!, code, now);
      if (code !== REPLAY_UNPOPULATED) bytes += PAGE_SIZE;
    }
    this.cursor[i] = c + n;
    t.ops += n;
    t.bytes += bytes;
    t.cowBreaks += hv.cowBreaks - b0;
    t.cowCopies += hv.cowCopies - c0;
    t.ptUpdates += hv.ptUpdates - p0;
  }

  /** Writes (or discards) one page as an event code says, and updates the bookkeeping. */
  private apply(g: SimGuest, gfn: number, code: number, now: number): void {
    const guest = g.guest!;
    if (code === REPLAY_UNPOPULATED) {
      guest.discard(gfn);
      this.setContent(guest.slotBase + gfn, NO_CONTENT, now);
    } else if (code === REPLAY_ZERO) {
      guest.write(gfn, 0, ZERO_PAGE);
      this.setContent(guest.slotBase + gfn, ZERO_CONTENT, now);
    } else {
      const k = code - 1;
      guest.write(gfn, 0, synthesizePage(this.trace.digests, k, this.trace.sizeClass[k]!, this.page));
      this.setContent(guest.slotBase + gfn, this.idBase + k, now);
    }
  }

  /** Writes not yet performed, over all guests (for tests and reports). */
  backlog(): number {
    let n = 0;
    for (let i = 0; i < this.guests.length; i++) n += this.sched[i]!.time.length - this.cursor[i]!;
    return n;
  }
}

/** Guest `src`'s writes after its first snapshot, in time order (see the header). */
function schedule(src: ReplayGuest, seed: number, traceIndex: number): Schedule {
  const first = src.eventStart[1]!;
  const total = src.eventPage.length - first;
  const out: Schedule = { time: new Float64Array(total), page: new Uint32Array(total), code: new Uint32Array(total) };
  const rng = new Rng(fmix32((Math.imul(seed, 0x27d4eb2f) ^ Math.imul(traceIndex + 1, 0x165667b1) ^ 0x5eed7ace) >>> 0));
  const snapshots = src.timesSec.length;
  let w = 0;
  for (let j = 1; j < snapshots; j++) {
    const a = src.eventStart[j]!, b = src.eventStart[j + 1]!, n = b - a;
    const t0 = src.timesSec[j - 1]!, span = src.timesSec[j]! - t0;
    const order = new Uint32Array(n);
    for (let k = 0; k < n; k++) order[k] = a + k;
    for (let k = n - 1; k > 0; k--) {
      const r = rng.int(k + 1);
      const x = order[k]!;
      order[k] = order[r]!;
      order[r] = x;
    }
    const times = new Float64Array(n);
    for (let k = 0; k < n; k++) times[k] = t0 + rng.float() * span;
    times.sort();
    for (let k = 0; k < n; k++, w++) {
      out.time[w] = times[k]!;
      out.page[w] = src.eventPage[order[k]!]!;
      out.code[w] = src.eventCode[order[k]!]!;
    }
  }
  return out;
}
