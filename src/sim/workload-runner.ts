/**
 * Runs a resolved workload on a hypervisor: starts guests at their start times, writes their
 * boot contents, and performs their operations (one write each), keeping track of what every
 * page holds so the driver knows which writes create duplicates.
 *
 * Structures (flat, indexed by page slot = guest.slotBase + gfn; slots are handed out in guest
 * creation order from 0, so they are dense):
 *   contentOf[slot]    content id the page holds (see content.ts), NO_CONTENT when unpopulated
 *   ids.copies[id]     live pages holding named content id (id 0, the zero page, is not counted)
 *   pendingSince[slot] simulated time of the write that made this page a further copy of a
 *                      content that already existed, until that page is merged (or rewritten);
 *                      -1 = not pending. pendingList holds the pending slots (inPending marks them).
 *
 * Per guest (SimGuest): its family, content-id base of each region, and per activity a target
 * generator (hot set with a per-guest offset, or a Zipf ranking permuted per guest), an
 * accumulator of wanted operations and one of done operations (fractions carry over ticks).
 * Guests have their own PRNG seeded from (seed, guest index): targets do not depend on other
 * guests. Boot writes are instantaneous at the guest's start and cost no guest CPU.
 * A trace replay (replay-runner.ts) is a subclass that keeps this bookkeeping and replaces
 * startDue, plan and runOps.

 * On an overcommitted host (the Simulation sets `pager` and `contents`): every write first calls
 * pager.touch (reclaim.ts: a taken page comes back, room is made for a frame), `contents`
 * (page-contents.ts) follows every page's bytes, and activities also read (readsPerSec, their
 * targets drawn like the writes' from a second per-guest PRNG, so the writes' targets are those
 * of the same run without a host). A phase's storm (spec.ts StormSpec) rewrites its regions with
 * content shared by the family, in any run. Without a host none of the host code runs.
 *
 * Size: about 450 lines, over the ~400 guideline since host reads, storms and access faults
 * joined the writes; the next split moves the host paths (doReads, storm writes) into their
 * own module beside reclaim.ts.
 */
import { Hypervisor, InvalidArgumentError, MAX_FRAMES, PAGE_SIZE, ZERO_PAGE, type Guest } from "../hypervisor/index.ts";
import { ContentIds, fmix32, NO_CONTENT, PageFiller, UNIQUE_BIT, ZERO_CONTENT } from "./content.ts";
import { gcd, Rng, sampleCdf, zipfCdf } from "./rng.ts";
import { PageContents } from "./page-contents.ts";
import type { ResolvedActivity, ResolvedFamily, ResolvedStorm, ResolvedWorkload } from "./spec.ts";

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

export class WorkloadRunner {
  readonly hv: Hypervisor;
  readonly guests: SimGuest[] = [];
  readonly contentOf: Uint32Array;
  readonly pendingSince: Float64Array;
  readonly inPending: Uint8Array;
  pendingList: number[] = [];
  readonly ids = new ContentIds();
  private readonly filler: PageFiller;
  private uniqueSerial = 0;
  private readonly zipfCache = new Map<string, Float64Array>();
  /** Set by the Simulation when its scanner's mitigation tracks visits (vusion, fixed-latency); null = off. */
  accessWatch: FirstAccessWatch | null = null;
  /** accessFaults of the activity being run (runOps adds it to its tally). */
  private accessFaults = 0;
  /** Set by the Simulation on a host with a size (reclaim.ts); null otherwise. */
  pager: PageAccess | null = null;
  /** Every page's bytes as numbers (host runs and --verify); null otherwise. */
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
    this.filler = new PageFiller(seed);
    this.contentOf = new Uint32Array(workload.totalPages).fill(NO_CONTENT);
    this.pendingSince = new Float64Array(workload.totalPages).fill(-1);
    this.inPending = new Uint8Array(workload.totalPages);
    // Guests in start order (family order breaks ties); content ranges reserved in that order.
    const list: { fam: ResolvedFamily; i: number; start: number }[] = [];
    for (const fam of workload.families)
      for (let i = 0; i < fam.guests; i++) list.push({ fam, i, start: fam.startSec + i * fam.staggerSec });
    list.sort((a, b) => a.start - b.start);
    list.forEach(({ fam, start }, index) => {
      const n = fam.regions.length;
      const g: SimGuest = {
        index, family: fam, startSec: start, guest: null,
        regionBase: new Int32Array(n), regionDistinct: new Int32Array(n),
        rng: new Rng(fmix32((seed * 0x9e3779b1 + index * 0x85ebca6b + 1) >>> 0)),
        hotOffset: new Int32Array(0), zipfMul: new Int32Array(0), wantAcc: new Float64Array(0), doneAcc: new Float64Array(0),
        phase: -1, phaseEnd: 0, phaseStart: 0, stormDone: 0,
        readRng: new Rng(fmix32((seed * 0x2c1b3c6d + index * 0x297a2d39 + 7) >>> 0)),
        readWantAcc: new Float64Array(0), readDoneAcc: new Float64Array(0),
      };
      fam.regions.forEach((r, ri) => {
        g.regionDistinct[ri] = Math.max(1, Math.round(r.pages / r.copies));
        if (r.fill === "shared") this.ids.reserve(`s:${r.shareKey}`, g.regionDistinct[ri]!);
        if (r.fill === "private") this.ids.reserve(`p:${index}:${r.name}`, g.regionDistinct[ri]!);
      });
      this.guests.push(g);
    });
    this.ids.allocateReserved();
    for (const g of this.guests)
      g.family.regions.forEach((r, ri) => {
        if (r.fill === "shared") g.regionBase[ri] = this.ids.range(`s:${r.shareKey}`, g.regionDistinct[ri]!);
        if (r.fill === "private") g.regionBase[ri] = this.ids.range(`p:${g.index}:${r.name}`, g.regionDistinct[ri]!);
      });
  }

  /** Creates and boots every guest whose start time has come. Returns how many started. */
  startDue(now: number): number {
    let n = 0;
    for (const g of this.guests) {
      if (g.guest || g.startSec > now + 1e-9) continue;
      g.guest = this.hv.createGuest({ pages: g.family.pages, mode: g.family.mode, name: `${g.family.name}-${g.index}` });
      this.boot(g, now);
      n++;
    }
    return n;
  }

  private boot(g: SimGuest, now: number): void {
    const guest = g.guest!;
    g.family.regions.forEach((r, ri) => {
      if (r.fill === "untouched") return;
      for (let j = 0; j < r.populatedPages; j++) this.writeFull(g, guest, r.firstPage + j, this.originalId(g, ri, j), now);
    });
  }

  /** The content a region's page j holds originally. */
  private originalId(g: SimGuest, ri: number, j: number): number {
    const r = g.family.regions[ri]!;
    if (r.fill === "zero" || r.fill === "untouched") return ZERO_CONTENT;
    return g.regionBase[ri]! + (j % g.regionDistinct[ri]!);
  }

  /** Writes a whole page of named content `id` (or zeros) and updates the bookkeeping. */
  private writeFull(g: SimGuest, guest: Guest, gfn: number, id: number, now: number): void {
    const slot = guest.slotBase + gfn;
    if (this.pager) this.pager.touch(g, slot, true);
    guest.write(gfn, 0, id === ZERO_CONTENT ? ZERO_PAGE : this.filler.named(id));
    if (this.contents) this.contents.full(slot, id);
    this.setContent(slot, id, now);
  }

  /** The bytes page `slot` holds now (host runs and --verify: needs `contents`), into `out`. */
  pageBytes(slot: number, out: Uint8Array): Uint8Array {
    const g = this.hv.guestOfSlot(slot);
    return this.contents!.bytes(slot, this.contentOf[slot]!, g.id, slot - g.slotBase, this.filler, out);
  }

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

  /** Moves g to the phase it is in at guest-local time `local`; resets its activity state on a change. */
  private enterPhase(g: SimGuest, local: number): ResolvedActivity[] {
    const phases = g.family.phases;
    if (g.phase < 0 || local >= g.phaseEnd) {
      let p = 0;
      let end = phases[0]!.durationSec;
      while (local >= end && p < phases.length - 1) end += phases[++p]!.durationSec;
      if (p !== g.phase) {
        g.phase = p;
        g.phaseStart = phases.slice(0, p).reduce((a, x) => a + x.durationSec, 0);
        g.stormDone = 0;
        const acts = phases[p]!.activities;
        g.readWantAcc = new Float64Array(acts.length);
        g.readDoneAcc = new Float64Array(acts.length);
        g.hotOffset = new Int32Array(acts.length);
        g.zipfMul = new Int32Array(acts.length);
        g.wantAcc = new Float64Array(acts.length);
        g.doneAcc = new Float64Array(acts.length);
        acts.forEach((a, i) => {
          const n = g.family.regions[a.region]!.pages;
          // a read-only activity (writesPerSec 0) draws from the reads' PRNG, so adding one to a
          // spec leaves the writes (and every run without a host) exactly as they were
          const rng = a.writesPerSec > 0 ? g.rng : g.readRng;
          g.hotOffset[i] = rng.int(n);
          let m = 1 + 2 * rng.int(Math.max(1, n >>> 1));
          while (gcd(m, n) !== 1) m += 2;
          g.zipfMul[i] = m % n || 1;
        });
      }
      g.phaseEnd = end;
    }
    return phases[g.phase]!.activities;
  }

  /**
   * Adds dt of wanted operations; returns the guest's CPU demand estimate in seconds: per
   * operation cpuPerOp + its bytes x writeNsPerByte + cowCostPerOpSec (GuestCpu's estimate).
   */
  plan(g: SimGuest, now: number, dt: number, writeNsPerByte: number, cowCostPerOpSec: number): number {
    if (!g.guest) return 0;
    const acts = this.enterPhase(g, now - g.startSec);
    let demand = 0;
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i]!;
      g.wantAcc[i]! += a.writesPerSec * dt;
      if (this.pager) g.readWantAcc[i]! += a.readsPerSec * dt;
      const n = Math.floor(g.wantAcc[i]!);
      const bytes = a.cum[0] * a.writeSize + (1 - a.cum[0]) * PAGE_SIZE;
      demand += n * (g.family.cpuPerOpSec + bytes * writeNsPerByte * 1e-9 + cowCostPerOpSec);
    }
    return demand;
  }

  /** Performs `ratio` (0..1) of the operations planned this tick; tallies what they did. */
  runOps(g: SimGuest, now: number, ratio: number, t: OpTally): void {
    if (!g.guest) return;
    const phase = g.family.phases[g.phase]!;
    const acts = phase.activities;
    const hv = this.hv;
    if (phase.storm) this.stormWrites(g, phase.storm, now, t);
    if (this.pager) {
      this.doReads(g, acts, ratio);
      this.flushAccessFaults(t); // the reads' first-access faults (noteRead) go to this tick's tally
    }
    for (let i = 0; i < acts.length; i++) {
      const want = Math.floor(g.wantAcc[i]!);
      g.wantAcc[i]! -= want;
      g.doneAcc[i]! += want * ratio;
      const n = Math.floor(g.doneAcc[i]! + 1e-9);
      g.doneAcc[i]! -= n;
      if (n <= 0) continue;
      const b0 = hv.cowBreaks;
      const c0 = hv.cowCopies;
      const p0 = hv.ptUpdates;
      t.bytes += this.doActivity(g, acts[i]!, i, n, now);
      t.ops += n;
      t.cowBreaks += hv.cowBreaks - b0;
      t.cowCopies += hv.cowCopies - c0;
      t.ptUpdates += hv.ptUpdates - p0;
      this.flushAccessFaults(t);
    }
  }

  /** Adds the access faults noted since the last flush (noteAccess, noteRead) to `t`. runOps does this after each activity. */
  flushAccessFaults(t: OpTally): void {
    if (this.accessFaults === 0) return;
    t.accessFaults = (t.accessFaults ?? 0) + this.accessFaults;
    this.accessFaults = 0;
  }

  /** The storm's writes due by `now` (not operations: their CPU and CoW costs are charged, they add no throughput). */
  private stormWrites(g: SimGuest, s: ResolvedStorm, now: number, t: OpTally): void {
    const regions = g.family.regions;
    let total = 0;
    for (const ri of s.regions) total += regions[ri]!.pages;
    const local = now - g.startSec - g.phaseStart - s.atSec;
    const due = local < 0 ? 0 : Math.min(total, Math.floor((total * local) / s.overSec) + 1);
    const guest = g.guest!;
    const hv = this.hv;
    const b0 = hv.cowBreaks, c0 = hv.cowCopies, p0 = hv.ptUpdates;
    for (; g.stormDone < due; g.stormDone++) {
      let k = g.stormDone;
      let ri = 0;
      while (k >= regions[s.regions[ri]!]!.pages) k -= regions[s.regions[ri++]!]!.pages;
      const r = regions[s.regions[ri]!]!;
      this.writeFull(g, guest, r.firstPage + k, this.ids.version(`storm:${r.shareKey}:${g.phase}`, k, 0), now);
      t.bytes += PAGE_SIZE;
    }
    t.cowBreaks += hv.cowBreaks - b0;
    t.cowCopies += hv.cowCopies - c0;
    t.ptUpdates += hv.ptUpdates - p0;
  }

  /** Host runs: the reads planned this tick, `ratio` of them performed; each touches its page (free while resident). */
  private doReads(g: SimGuest, acts: ResolvedActivity[], ratio: number): void {
    const pager = this.pager!;
    const base = g.guest!.slotBase;
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i]!;
      if (a.readsPerSec === 0) continue;
      const want = Math.floor(g.readWantAcc[i]!);
      g.readWantAcc[i]! -= want;
      g.readDoneAcc[i]! += want * ratio;
      const n = Math.floor(g.readDoneAcc[i]! + 1e-9);
      g.readDoneAcc[i]! -= n;
      const r = g.family.regions[a.region]!;
      const watched = this.accessWatch !== null;
      for (let k = 0; k < n; k++) {
        const slot = base + r.firstPage + this.target(g, a, i, r.pages, g.readRng);
        if (watched) this.noteRead(slot);
        pager.touch(g, slot, false);
      }
      this.reads += n;
    }
  }

  private target(g: SimGuest, a: ResolvedActivity, i: number, n: number, rng: Rng = g.rng): number {
    if (a.zipf > 0) {
      const key = `${n}:${a.zipf}`;
      let cdf = this.zipfCache.get(key);
      if (!cdf) this.zipfCache.set(key, (cdf = zipfCdf(n, a.zipf)));
      const rank = sampleCdf(cdf, rng.float());
      return (rank * g.zipfMul[i]! + g.hotOffset[i]!) % n;
    }
    let k: number;
    if (a.hotPages >= n || rng.float() < a.hotProbability) k = rng.int(a.hotPages);
    else k = a.hotPages + rng.int(n - a.hotPages);
    return (k + g.hotOffset[i]!) % n;
  }

  /** n writes of one activity; returns bytes written. */
  private doActivity(g: SimGuest, a: ResolvedActivity, ai: number, n: number, now: number): number {
    const guest = g.guest!;
    const r = g.family.regions[a.region]!;
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const j = this.target(g, a, ai, r.pages);
      const gfn = r.firstPage + j;
      if (this.accessWatch !== null) this.noteAccess(guest.slotBase + gfn);
      const u = g.rng.float();
      if (u < a.cum[0]) {
        const serial = this.uniqueSerial++ & 0x7fffffff;
        if (this.pager) this.pager.touch(g, guest.slotBase + gfn, true);
        guest.write(gfn, 0, this.filler.unique(serial, guest.id, gfn, a.writeSize));
        if (this.contents) this.contents.unique(guest.slotBase + gfn, this.contentOf[guest.slotBase + gfn]!, a.writeSize);
        this.setContent(guest.slotBase + gfn, (UNIQUE_BIT | serial) >>> 0, now);
        bytes += a.writeSize;
        continue;
      }
      let id: number;
      if (u < a.cum[1]) id = this.ids.version(r.shareKey, j, Math.floor(now / a.sharedEpochSec));
      else if (u < a.cum[2]) id = this.originalId(g, a.region, j);
      else id = ZERO_CONTENT;
      this.writeFull(g, guest, gfn, id, now);
      bytes += PAGE_SIZE;
    }
    return bytes;
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
