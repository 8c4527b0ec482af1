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
 *
 * On a host with a size (the Simulation sets `pager`), as the spec-driven runner does:
 *   - every replayed write first calls pager.touch (a swapped or compressed page comes back, room
 *     is made for a frame), a page that became unpopulated goes through pager.discard (a taken
 *     page is dropped, not brought back); every changed page thus counts as touched;
 *   - guests also read, at REPLAY_READS_PER_SEC per guest (trace-replay.ts: a documented
 *     estimate, the trace records no reads), REPLAY_HOT_READ_SHARE of them of a page drawn from
 *     the guest's last REPLAY_READ_RING written pages (the working set the trace shows; uniform
 *     over its pages until it has written one), the rest uniform over all its pages (cold reads:
 *     page cache, kernel text); a read of an unpopulated page touches nothing. Reads cost no CPU
 *     while resident (as the spec-driven runner's) and are performed at the guest's CPU share,
 *     drawn from the guest's read PRNG, so the writes are those of the same replay without a host;
 *   - free memory (what the balloon takes first) is the guest's populated zero pages, in gfn
 *     order (a Linux guest's free pages, zeroed as real-guests.md's captures show them); a page
 *     the balloon took and the trace writes later comes out of the balloon on that write;
 *   - a page's compressed size is the midpoint of its trace size class, (c - 1/2) / 16 of a page;
 *   - page bytes for swap-in and --verify are synthesised from the content id (pageBytes), so
 *     PageContents is not used.
 * Without a host none of this runs: the replay is exactly what it was before hosts existed.
 */
import { PAGE_SIZE, ZERO_PAGE } from "../hypervisor/index.ts";
import { fmix32, NO_CONTENT, ZERO_CONTENT } from "./content.ts";
import { Rng } from "./rng.ts";
import type { ResolvedWorkload } from "./spec.ts";
import { REPLAY_HOT_READ_SHARE, REPLAY_READ_RING, REPLAY_READS_PER_SEC, REPLAY_UNPOPULATED, REPLAY_ZERO, synthesizePage, type ReplayGuest, type ReplayTrace } from "./trace-replay.ts";
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
  /** Host runs: per guest, its last REPLAY_READ_RING written gfns (a ring), how many it holds, where the next goes; reads wanted and done (carried fractions). */
  private readonly ring: Uint32Array[];
  private readonly ringFill: Int32Array;
  private readonly ringPos: Int32Array;
  private readonly readWant: Float64Array;
  private readonly readDone: Float64Array;
  /**
   * Host runs, per guest: seconds its trace runs behind because it stalled (a closed loop: a
   * write waiting on a swap-in, and everything after it, happens that much later); the lag its
   * last write was performed at (-1 until then); this tick's share not stalled (its reads).
   */
  readonly lagSec: Float64Array;
  readonly finishLagSec: Float64Array;
  private readonly readShare: Float64Array;
  /** A stall shifts the guest's remaining trace (delay) instead of displacing operation time. */
  override readonly stallsShiftTimeline = true;

  /** `hostFrames`: the machine's frames on a host with a size (default one per guest page, + 1024). */
  constructor(
    workload: ResolvedWorkload,
    seed: number,
    readonly trace: ReplayTrace,
    hostFrames?: number,
  ) {
    super(workload, seed, hostFrames);
    this.idBase = trace.distinct > 0 ? this.ids.range("trace", trace.distinct) : 1;
    // Families are the trace's guests in trace order (traceWorkloadSpec); guests[] is in start order.
    this.source = this.guests.map((g) => trace.guests[workload.families.indexOf(g.family)]!);
    this.sched = this.source.map((src) => schedule(src, seed, trace.guests.indexOf(src)));
    const n = this.guests.length;
    this.cursor = new Int32Array(n);
    this.dueEnd = new Int32Array(n);
    this.doneCarry = new Float64Array(n);
    this.ring = hostFrames === undefined ? [] : this.guests.map(() => new Uint32Array(REPLAY_READ_RING));
    this.ringFill = new Int32Array(n);
    this.ringPos = new Int32Array(n);
    this.readWant = new Float64Array(n);
    this.readDone = new Float64Array(n);
    this.lagSec = new Float64Array(n);
    this.finishLagSec = new Float64Array(n).fill(-1);
    this.readShare = new Float64Array(n).fill(1);
  }

  /** Host runs: guest i stalls `sec` of this tick of `dtSec` (sec <= dtSec): its trace runs that much later, its reads pause as long. */
  override delay(i: number, sec: number, dtSec: number): void {
    this.lagSec[i]! += sec;
    this.readShare[i] = 1 - sec / dtSec;
  }

  /**
   * Host runs: how late the trace ran. Per guest, L = the lag its last write was performed at
   * (or the lag now, if it has writes left) and T = its trace's span (first to last snapshot);
   * replayLagSec is the mean L, replayLossPct the mean of L / (T + L) x 100: the guests did the
   * trace's work in T + L instead of T (its throughput loss; the uncommitted replay has no lag).
   */
  lagSummary(): { replayLagSec: number; replayLossPct: number } {
    let lag = 0, loss = 0;
    for (let i = 0; i < this.guests.length; i++) {
      const L = this.finishLagSec[i]! >= 0 ? this.finishLagSec[i]! : this.lagSec[i]!;
      const t = this.source[i]!.timesSec;
      const T = t[t.length - 1]! - t[0]!;
      lag += L;
      loss += T + L > 0 ? L / (T + L) : 0;
    }
    const n = Math.max(1, this.guests.length);
    return { replayLagSec: Math.round((lag / n) * 1e6) / 1e6, replayLossPct: Math.round((loss / n) * 100 * 1e4) / 1e4 };
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
    const end = now + dt - 1e-9 - this.lagSec[g.index]!;
    while (e < s.time.length && s.time[e]! < end) e++;
    this.dueEnd[g.index] = e;
    if (this.pager) this.readWant[g.index]! += REPLAY_READS_PER_SEC * dt;
    const due = e - this.cursor[g.index]!;
    return due * (g.family.cpuPerOpSec + PAGE_SIZE * writeNsPerByte * 1e-9 + cowCostPerOpSec);
  }

  /** Performs `ratio` of the due writes, oldest first; tallies what they did. */
  override runOps(g: SimGuest, now: number, ratio: number, t: OpTally): void {
    if (!g.guest) return;
    const i = g.index;
    if (this.pager) {
      this.replayReads(g, ratio);
      this.flushAccessFaults(t);
    }
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
    this.flushAccessFaults(t);
    this.cursor[i] = c + n;
    if (c + n === s.time.length && this.finishLagSec[i]! < 0) this.finishLagSec[i] = this.lagSec[i]!;
    t.ops += n;
    t.bytes += bytes;
    t.cowBreaks += hv.cowBreaks - b0;
    t.cowCopies += hv.cowCopies - c0;
    t.ptUpdates += hv.ptUpdates - p0;
  }

  /** Writes (or discards) one page as an event code says, and updates the bookkeeping. */
  private apply(g: SimGuest, gfn: number, code: number, now: number): void {
    const guest = g.guest!;
    const slot = guest.slotBase + gfn;
    if (code === REPLAY_UNPOPULATED) {
      if (this.pager) this.pager.discard(g, slot);
      else guest.discard(gfn);
      this.setContent(slot, NO_CONTENT, now);
      return;
    }
    // a write is the page's first access since a scanner visit under vusion / fixed-latency (runOps flushes the fault)
    if (this.accessWatch !== null) this.noteAccess(slot);
    if (this.pager) {
      this.pager.touch(g, slot, true);
      const i = g.index;
      this.ring[i]![this.ringPos[i]!] = gfn;
      this.ringPos[i] = (this.ringPos[i]! + 1) % REPLAY_READ_RING;
      if (this.ringFill[i]! < REPLAY_READ_RING) this.ringFill[i]!++;
    }
    if (code === REPLAY_ZERO) {
      guest.write(gfn, 0, ZERO_PAGE);
      this.setContent(guest.slotBase + gfn, ZERO_CONTENT, now);
    } else {
      const k = code - 1;
      guest.write(gfn, 0, synthesizePage(this.trace.digests, k, this.trace.sizeClass[k]!, this.page));
      this.setContent(guest.slotBase + gfn, this.idBase + k, now);
    }
  }

  /** Host runs: `ratio` of the reads wanted by now, each touching its page (free while resident; header). */
  private replayReads(g: SimGuest, ratio: number): void {
    const i = g.index;
    const want = Math.floor(this.readWant[i]!);
    this.readWant[i]! -= want;
    this.readDone[i]! += want * ratio * this.readShare[i]!;
    const n = Math.floor(this.readDone[i]! + 1e-9);
    this.readDone[i]! -= n;
    const pager = this.pager!;
    const rng = g.readRng;
    const ring = this.ring[i]!;
    const fill = this.ringFill[i]!;
    const pages = g.guest!.pages;
    const base = g.guest!.slotBase;
    const watched = this.accessWatch !== null;
    for (let k = 0; k < n; k++) {
      const hot = rng.float() < REPLAY_HOT_READ_SHARE && fill > 0;
      const slot = base + (hot ? ring[rng.int(fill)]! : rng.int(pages));
      if (watched) this.noteRead(slot);
      pager.touch(g, slot, false);
    }
    this.reads += n;
  }

  /** The bytes page `slot` holds now: zeros, or content k's synthesised bytes (writes are whole pages: no PageContents). */
  override pageBytes(slot: number, out: Uint8Array): Uint8Array {
    const id = this.contentOf[slot]!;
    if (id === ZERO_CONTENT || id === NO_CONTENT) return out.fill(0);
    const k = id - this.idBase;
    return synthesizePage(this.trace.digests, k, this.trace.sizeClass[k]!, out);
  }

  /** Free memory of a replayed guest: its populated zero pages, in gfn order (header). */
  override nextFreePage(g: SimGuest, fromGfn: number): number {
    const sf = this.hv.pageTable.slotFrame;
    const base = g.guest!.slotBase;
    for (let c = fromGfn; c < g.guest!.pages; c++) if (this.contentOf[base + c] === ZERO_CONTENT && sf[base + c]! >= 0) return c;
    return -1;
  }

  override isFreePage(g: SimGuest, gfn: number): boolean {
    return this.contentOf[g.guest!.slotBase + gfn] === ZERO_CONTENT;
  }

  /** The midpoint of the page's trace size class (a zero page: class 1). */
  override compressedBytes(_g: SimGuest, slot: number): number {
    const id = this.contentOf[slot]!;
    const c = id === ZERO_CONTENT || id === NO_CONTENT ? 1 : this.trace.sizeClass[id - this.idBase]!;
    return Math.round((Math.max(1, c) - 0.5) * (PAGE_SIZE / 16));
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
