/**
 * What every runner keeps about pages, whatever drives its guests (a spec's activities:
 * workload-runner.ts; a trace: replay-runner.ts): the machine, what each page holds, the copies
 * of each content and which further copies still wait to be merged (time-to-merge), the
 * first-access watch of the vusion / fixed-latency mitigations, and the hooks the host's
 * reclamation asks (reclaim.ts: free memory, compressed sizes, stalls). The structures:
 *   contentOf[slot]    content id the page holds (see content.ts), NO_CONTENT when unpopulated
 *   ids.copies[id]     live pages holding named content id (id 0, the zero page, is not counted)
 *   pendingSince[slot] simulated time of the write that made this page a further copy of a
 *                      content that already existed, until that page is merged (or rewritten);
 *                      -1 = not pending. pendingList holds the pending slots (inPending marks them).
 * Slots are handed out in guest creation order from 0, so they are dense. The subclass fills
 * `guests` in its constructor.
 */
import { Hypervisor, InvalidArgumentError, MAX_FRAMES, PAGE_SIZE, type Guest } from "../hypervisor/index.ts";
import { ContentIds, fmix32, NO_CONTENT, UNIQUE_BIT, ZERO_CONTENT } from "./content.ts";
import type { PageContents } from "./page-contents.ts";
import type { Rng } from "./rng.ts";
import type { ResolvedFamily, ResolvedWorkload } from "./spec.ts";

export interface SimGuest {
  index: number;
  family: ResolvedFamily;
  startSec: number;
  guest: Guest | null;
  regionBase: Int32Array; // first named id of each region (0 for untouched/zero)
  regionDistinct: Int32Array; // distinct contents per region
  rng: Rng;
  hotOffset: Int32Array; // per activity of the current phase
  zipfMul: Int32Array;
  wantAcc: Float64Array;
  doneAcc: Float64Array;
  phase: number;
  phaseEnd: number; // guest-local seconds
  /** Guest-local start of the current phase; pages of its storm written so far. */
  phaseStart: number;
  stormDone: number;
  /** Reads (host runs only): their own PRNG and per-activity accumulators, like wantAcc/doneAcc. */
  readRng: Rng;
  readWantAcc: Float64Array;
  readDoneAcc: Float64Array;
}

/** What the host does before a guest touches a page (reclaim.ts); null: no host, nothing to do. */
export interface PageAccess {
  touch(g: SimGuest, slot: number, write: boolean): void;
  /** Guest g discards page `slot` (a replayed trace's page that became unpopulated): a taken page is dropped, not brought back. */
  discard(g: SimGuest, slot: number): void;
}

/** What a batch of guest operations did (for the cost model). */
export interface OpTally {
  ops: number;
  bytes: number;
  cowBreaks: number;
  cowCopies: number;
  ptUpdates: number;
  /** Writes that were a page's first access after a scanner visit and no CoW break (mitigation vusion / fixed-latency; charged as a CoW break). */
  accessFaults?: number;
}

/** The pages a mitigation wants their first access after a scanner visit charged (src/dedup/mitigation.ts). */
export interface FirstAccessWatch {
  readonly tracksVisits: boolean;
  /** A read counts as a first access too (vusion's copy-on-access); false: writes only (fixed-latency). */
  readonly readsFault?: boolean;
  takeFirstAccess(slot: number): boolean;
}

export abstract class RunnerPages {
  readonly hv: Hypervisor;
  readonly guests: SimGuest[] = [];
  readonly contentOf: Uint32Array;
  readonly pendingSince: Float64Array;
  readonly inPending: Uint8Array;
  pendingList: number[] = [];
  readonly ids = new ContentIds();
  /** Set by the Simulation when its scanner's mitigation tracks visits (vusion, fixed-latency); null = off. */
  accessWatch: FirstAccessWatch | null = null;
  /** Access faults noted and not yet flushed into a tally (flushAccessFaults). */
  protected accessFaults = 0;
  /** Set by the Simulation on a host with a size (reclaim.ts); null otherwise. */
  pager: PageAccess | null = null;
  /** Every page's bytes as numbers (host runs and --verify of a spec-driven run); null otherwise. */
  contents: PageContents | null = null;
  /** Reads performed (host runs), over the run. */
  reads = 0;
  /**
   * Host runs: false (here) when a stall displaces the guest's operation time (the driver's
   * chargeStall); true for a replay, whose stalls delay the rest of its trace (delay).
   */
  readonly stallsShiftTimeline: boolean = false;

  /** `hostFrames`: the machine's frames on a host with a size; default one per guest page (+1024). */
  constructor(
    readonly workload: ResolvedWorkload,
    readonly seed: number,
    hostFrames?: number,
  ) {
    if (hostFrames === undefined && workload.totalPages + 1024 > MAX_FRAMES)
      throw new InvalidArgumentError(
        `${workload.totalGuests} guests hold ${(workload.totalPages * 4096) / 2 ** 30} GiB of guest memory; the simulated machine holds at most ${+(((MAX_FRAMES - 1024) * 4096) / 2 ** 30).toFixed(3)} GiB (fewer guests or less --guest-mem)`,
      );
    this.hv = new Hypervisor({ frames: hostFrames ?? workload.totalPages + 1024 });
    // every guest's slots at once: the page table never doubles (and copies) as guests start
    this.hv.pageTable.ensureCapacity(workload.totalPages);
    this.contentOf = new Uint32Array(workload.totalPages).fill(NO_CONTENT);
    this.pendingSince = new Float64Array(workload.totalPages).fill(-1);
    this.inPending = new Uint8Array(workload.totalPages);
  }

  /** The bytes page `slot` holds now, into `out` (swap-in and --verify). */
  abstract pageBytes(slot: number, out: Uint8Array): Uint8Array;

  /**
   * The balloon's walk (reclaim.ts): the first page at or after `fromGfn` in g's free memory that
   * holds a frame, or -1 when none is left. Free memory here: the regions no activity touches
   * that are zero or untouched (spec.ts `free`), in gfn order. A replay has its own (replay-runner.ts).
   */
  nextFreePage(g: SimGuest, fromGfn: number): number {
    const sf = this.hv.pageTable.slotFrame;
    const base = g.guest!.slotBase;
    for (const r of g.family.regions) {
      if (!r.free) continue;
      for (let c = Math.max(fromGfn, r.firstPage); c < r.firstPage + r.pages; c++) if (sf[base + c]! >= 0) return c;
    }
    return -1;
  }

  /** True when page `gfn` of g is in its free memory (the balloon takes it first; the guest never pages it out). */
  isFreePage(g: SimGuest, gfn: number): boolean {
    return this.regionOf(g, gfn).free;
  }

  /**
   * What the page at `slot` of g compresses to, in bytes (1..4096), for the compression cache
   * (reclaim.ts): its region's compressibility, spread 0.5-1.5x by its content id so that equal
   * contents compress alike. A replay uses the trace's recorded size class instead.
   */
  compressedBytes(g: SimGuest, slot: number): number {
    const r = this.regionOf(g, slot - g.guest!.slotBase);
    const jitter = 0.5 + fmix32((this.contentOf[slot]! ^ 0x2545f491) >>> 0) / 2 ** 32;
    return Math.max(1, Math.min(PAGE_SIZE, Math.round(PAGE_SIZE * (1 - r.compressibility) * jitter)));
  }

  private regionOf(g: SimGuest, gfn: number): ResolvedFamily["regions"][number] {
    const rs = g.family.regions;
    let i = 0;
    while (i < rs.length - 1 && gfn >= rs[i]!.firstPage + rs[i]!.pages) i++;
    return rs[i]!;
  }

  /** Guest i stalls `sec` of a tick of `dtSec` (only runners whose stallsShiftTimeline is true). */
  delay(_i: number, _sec: number, _dtSec: number): void {
    throw new Error("delay: this runner's stalls displace operation time (stallsShiftTimeline is false)");
  }

  /** A page the balloon took from the guest's free memory: it holds nothing any more. */
  forget(slot: number): void {
    this.setContent(slot, NO_CONTENT, 0);
  }

  /** Records that page `slot` now holds content `id` (NO_CONTENT: unpopulated): copy counts and time-to-merge. */
  protected setContent(slot: number, id: number, now: number): void {
    const old = this.contentOf[slot]!;
    const copies = this.ids.copies;
    if (old !== NO_CONTENT && old !== ZERO_CONTENT && old < UNIQUE_BIT) copies[old]!--;
    this.contentOf[slot] = id;
    if (id !== ZERO_CONTENT && id < UNIQUE_BIT && copies[id]!++ >= 1) {
      this.pendingSince[slot] = now;
      if (!this.inPending[slot]) {
        this.inPending[slot] = 1;
        this.pendingList.push(slot);
      }
    } else this.pendingSince[slot] = -1;
  }

  /** Adds the access faults noted since the last flush (noteAccess, noteRead) to `t`. runOps does this after each activity. */
  flushAccessFaults(t: OpTally): void {
    if (this.accessFaults === 0) return;
    t.accessFaults = (t.accessFaults ?? 0) + this.accessFaults;
    this.accessFaults = 0;
  }

  /** A write to `slot` is about to happen: its first access after a scanner visit faults, unless it is a CoW break anyway. */
  noteAccess(slot: number): void {
    if (!this.accessWatch!.takeFirstAccess(slot)) return;
    const f = this.hv.pageTable.slotFrame[slot]!;
    if (f >= 0 && f !== this.hv.zeroFrame && !this.hv.isSharedFrame(f)) this.accessFaults++;
  }

  /**
   * The read hook: a guest read of `slot` is about to happen (call it once per read, from the
   * runner's activity loop so runOps flushes the fault into that activity's tally, or flush with
   * flushAccessFaults). When the mitigation faults reads (vusion: copy-on-access) and this is the
   * page's first access since a scanner visit, it counts one access fault, merged or not: a read
   * never breaks CoW, so no CoW break stands in for it; guest-cpu charges it as a CoW break with
   * its copy, as it charges a write's. Writes use noteAccess. doReads (host runs: activities
   * with readsPerSec) calls it for each read, before the pager touches the page; runOps flushes
   * those faults into the tick's tally. Departure: real VUsion also un-merges a
   * fused page on that access; here the page stays merged (the saving is an upper bound).
   */
  noteRead(slot: number): void {
    const w = this.accessWatch;
    if (w === null || w.readsFault !== true || !w.takeFirstAccess(slot)) return;
    if (this.hv.pageTable.slotFrame[slot]! >= 0) this.accessFaults++;
  }

  /**
   * Checks pending duplicate pages: a page whose frame is now shared (or the zero frame) was
   * merged; its wait is passed to `record` (seconds). Rewritten pages drop out.
   */
  collectMerged(now: number, record: (waitSec: number) => void): void {
    const hv = this.hv;
    const sf = hv.pageTable.slotFrame;
    const list = this.pendingList;
    let w = 0;
    for (let k = 0; k < list.length; k++) {
      const slot = list[k]!;
      const since = this.pendingSince[slot]!;
      if (since < 0) {
        this.inPending[slot] = 0;
        continue;
      }
      const f = sf[slot]!;
      if (f === hv.zeroFrame || hv.isSharedFrame(f)) {
        record(now - since);
        this.pendingSince[slot] = -1;
        this.inPending[slot] = 0;
        continue;
      }
      list[w++] = slot;
    }
    list.length = w;
  }

  /** Pages still waiting to be merged. */
  pendingCount(): number {
    let n = 0;
    for (const s of this.pendingList) if (this.pendingSince[s]! >= 0) n++;
    return n;
  }
}
