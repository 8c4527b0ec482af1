/**
 * Runs a resolved workload on a hypervisor: starts guests at their start times, writes their
 * boot contents, and performs their operations (one write each), keeping track of what every
 * page holds so the driver knows which writes create duplicates.
 *
 * What every page holds, the copy counts behind time-to-merge, the mitigations' first-access
 * watch and the host's hooks are kept by the base class (runner-pages.ts), shared with replays.
 *
 * Per guest (SimGuest): its family, content-id base of each region, and per activity a target
 * generator (hot set with a per-guest offset, or a Zipf ranking permuted per guest), an
 * accumulator of wanted operations and one of done operations (fractions carry over ticks).
 * Guests have their own PRNG seeded from (seed, guest index): targets do not depend on other
 * guests. Boot writes are instantaneous at the guest's start and cost no guest CPU.
 * A trace replay (replay-runner.ts) is a subclass that keeps this bookkeeping and replaces
 * startDue, plan and runOps.
 *
 * On an overcommitted host (the Simulation sets `pager` and `contents`): every write first calls
 * pager.touch (reclaim.ts: a taken page comes back, room is made for a frame), `contents`
 * (page-contents.ts) follows every page's bytes, and activities also read (readsPerSec, their
 * targets drawn like the writes' from a second per-guest PRNG, so the writes' targets are those
 * of the same run without a host). A phase's storm (spec.ts StormSpec) rewrites its regions with
 * content shared by the family, in any run. Without a host none of the host code runs.
 */
import { PAGE_SIZE, ZERO_PAGE, type Guest } from "../hypervisor/index.ts";
import { fmix32, PageFiller, UNIQUE_BIT, ZERO_CONTENT } from "./content.ts";
import { gcd, Rng, sampleCdf, zipfCdf } from "./rng.ts";
import { RunnerPages, type OpTally, type SimGuest } from "./runner-pages.ts";
import type { ResolvedActivity, ResolvedFamily, ResolvedStorm, ResolvedWorkload } from "./spec.ts";

export type { FirstAccessWatch, OpTally, PageAccess, SimGuest } from "./runner-pages.ts";

export class WorkloadRunner extends RunnerPages {
  private readonly filler: PageFiller;
  private uniqueSerial = 0;
  private readonly zipfCache = new Map<string, Float64Array>();

  /** `hostFrames`: the machine's frames on a host with a size; default one per guest page (+1024). */
  constructor(workload: ResolvedWorkload, seed: number, hostFrames?: number) {
    super(workload, seed, hostFrames);
    this.filler = new PageFiller(seed);
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

}
