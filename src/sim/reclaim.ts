/**
 * Reclamation on an overcommitted host: the policy over hv.host's mechanism (host-slots.ts), by
 * ESX's free-memory states (host-memory.ts), cheapest first. Once per tick (step), before the
 * guests run:
 *  1. state = stateOf(free frames). In soft or worse the balloons inflate, round-robin over the
 *     guests, up to balloonPagesPerSec x dt pages in all, until free frames reach minFree (the
 *     clear threshold). A guest gives its free memory first (regions no activity touches that
 *     are zero or untouched: its free page lists): the populated pages among them are discarded,
 *     freeing a frame only if the page held one alone; the balloon counts what it frees
 *     (balloonFramesFreed, the summary's balloonedPages). Beyond its free memory the guest pages
 *     out its own memory (Linux reclaim inside the guest under balloon pressure): a random
 *     populated page of its other regions is discarded, its content kept by the runner ("in the
 *     guest's swap"), at guestPageOut ns of the guest's CPU; a later access pages it back in,
 *     stalling the guest for one device read. A balloon holds at most 65% of its guest.
 *     In high with free frames above 2 x minFree the balloons deflate at the same rate (their
 *     free pages are the guest's again; paged-out pages come back when touched).
 *  2. In hard or worse, victims are taken until free frames reach the soft threshold (64%):
 *     random page slots (as ESX) or, with victims=access, a clock over sampled access bits (a
 *     page touched since it was last looked at gets a second chance). A victim's frame is taken
 *     whole (all its mappings: a shared frame goes out once). Its compressed size comes from its
 *     region's compressibility, spread 0.5-1.5x per content; <= 2 KiB and room in the guest's
 *     compression cache (cacheShare x its memory, frames reserved as it fills): it is compressed
 *     (compressPage ns on the guest's CPU); otherwise it goes to swap (no CPU, asynchronous write).
 *  3. Any read or write of a taken page first brings it back (touch): from swap the guest stalls
 *     swapReadSec; from the cache it stalls decompressPage ns (the vCPU waits for it: ESX
 *     decompresses on the access). A page taken from a shared frame
 *     comes back private (ksm: ksm_swpin_copy, Linux's rule; esx and vmdedup: the same here, a
 *     departure: ESX swaps per VM and would keep the other VMs' mappings), and the scanner has to
 *     merge it again. Before an access that may need a frame (populate, CoW copy, swap-in) two
 *     frames must be free; if not, victims are taken at once (direct reclaim: the low state's
 *     blocking allocations; the guest stalls one device write per page swapped for it).
 * Only when no victim can be taken (swap full, caches full or pages incompressible, balloons at
 * their limit or empty) does HostMemoryExhaustedError stop the run, naming the state and numbers.
 * What is charged how: stalls (swap-ins from host or guest swap, decompressions, direct
 * reclaim's writes) are time the faulting operation waits; the driver takes them out of the
 * guest's planned operation time in its next ticks, second for second (a closed loop: kernel
 * compile time and response time under closed-loop clients, the measures of the ESX white paper
 * and Difference Engine, overcommit.md), so a guest with spare vCPU time still loses the
 * operations its stalls delay. Work that runs beside the operations (compressing a victim, the
 * guest's own page-out under balloon pressure: ESX's and the guest kswapd's background work)
 * is CPU debt (GuestCpu), lost only when the guest's CPU is short. Background swap-outs are
 * asynchronous writes and cost the guest nothing (deliberate: the device's queue is not modelled;
 * NVMe's parallel queues keep the few thousand swap I/Os per second of these runs far from
 * its limit).
 * Deterministic: victims come from a PRNG seeded from the run's seed.
 */
import { HostStore, VmdedupError, type Hypervisor } from "../hypervisor/index.ts";
import { FrameState, PAGE_SIZE } from "../hypervisor/index.ts";
import { fmix32 } from "./content.ts";
import type { CostModel } from "./cost-model.ts";
import { BALLOON_MAX_SHARE, CACHE_MAX_COMPRESSED_BYTES, HOST_STATE_NAMES, HostState, stateOf, type HostConfig } from "./host-memory.ts";
import { Rng } from "./rng.ts";
import type { PageAccess, SimGuest, WorkloadRunner } from "./workload-runner.ts";

/** Balloons, compression caches and swap are all exhausted: the run cannot go on. */
export class HostMemoryExhaustedError extends VmdedupError {
  /** The run document up to the failing tick (set by the Simulation). */
  partial: unknown = null;
  constructor(message: string, readonly state: string, readonly freeFrames: number) {
    super(message);
  }
}

const BALLOONED_FREE = 1;
const PAGED_OUT = 2;

export class Reclaimer implements PageAccess {
  /** State after the last step or direct reclaim (0 high .. 4 low). */
  state: number = HostState.HIGH;
  /** The worst state since the last sample: at the start of each step (before reclaiming), low when a guest blocked on direct reclaim; reset by the sampler. */
  intervalWorstState: number = HostState.HIGH;
  /** Per guest index: stall seconds not yet taken out of its vCPU time. */
  readonly blockedSec: Float64Array;
  /** Stall seconds added since the last sample (all guests). */
  intervalStallSec = 0;
  /** Frames the balloons freed, over the run (a page ballooned frees one only if it held one alone). */
  balloonFramesFreed = 0;
  /** Pages in balloons now: free pages given plus pages the guests paged out and not touched since. */
  balloonPages = 0;
  /** Pages the guests paged out under balloon pressure, and paged back in, over the run. */
  guestPageOuts = 0;
  guestPageIns = 0;
  private readonly balloonOf: Int32Array;
  private readonly freeCursor: Int32Array;
  private readonly cacheBytesOf: Float64Array;
  private readonly cacheFramesOf: Int32Array;
  private cacheOwner = new Int32Array(0);
  private readonly slotMark: Uint8Array;
  private readonly accessed: Uint8Array | null;
  private readonly rng: Rng;
  private balloonAcc = 0;
  private clockHand = 0;
  private balloonTurn = 0;
  private nowSec = 0;
  private readonly page = new Uint8Array(PAGE_SIZE);
  private readonly hv: Hypervisor;

  constructor(
    private readonly runner: WorkloadRunner,
    private readonly cfg: HostConfig,
    private readonly cost: CostModel,
    private readonly chargeCpu: (guestIndex: number, sec: number) => void,
    seed: number,
  ) {
    this.hv = runner.hv;
    const n = runner.guests.length;
    this.blockedSec = new Float64Array(n);
    this.balloonOf = new Int32Array(n);
    this.freeCursor = new Int32Array(n);
    this.cacheBytesOf = new Float64Array(n);
    this.cacheFramesOf = new Int32Array(n);
    const slots = runner.contentOf.length;
    this.slotMark = new Uint8Array(slots);
    this.accessed = cfg.victims === "access" ? new Uint8Array(slots) : null;
    this.rng = new Rng(fmix32((seed ^ 0x7f4a7c15) >>> 0));
  }

  /** Step 1-2 of the header at the start of tick [t, t + dt). */
  step(t: number, dt: number): void {
    this.nowSec = t;
    const m = this.hv.memory;
    const th = this.cfg.thresholds;
    this.state = stateOf(m.freeCount, th);
    if (this.state > this.intervalWorstState) this.intervalWorstState = this.state;
    this.balloonAcc = Math.min(this.balloonAcc + this.cfg.balloonPagesPerSec * dt, this.cfg.balloonPagesPerSec * dt * 2 + 1);
    if (this.state >= HostState.SOFT) this.inflate(th[0]);
    else if (this.state === HostState.HIGH && m.freeCount > 2 * this.cfg.minFreePages) this.deflate();
    if (stateOf(m.freeCount, th) >= HostState.HARD) while (m.freeCount < th[1] && this.takeVictim(null)) {}
    this.state = stateOf(m.freeCount, th);
  }

  /** Before guest g reads or writes `slot`: brings a taken page back, makes room for a frame (step 3). */
  touch(g: SimGuest, slot: number, _write: boolean): void {
    if (this.accessed) this.accessed[slot] = 1;
    const hv = this.hv;
    if (hv.memory.freeCount < 2) this.directReclaim(g, 2);
    if (hv.pageTable.slotFrame[slot]! >= 0) return;
    const guest = g.guest!;
    const h = hv.pageTable.slotHost[slot]!;
    if (h >= 0) {
      const fromSwap = hv.host.store[h] === HostStore.SWAP;
      hv.host.bringBack(guest, slot, this.runner.pageBytes(slot, this.page));
      if (fromSwap) this.block(g.index, this.cfg.swapReadSec);
      else {
        // the faulting vCPU waits for the decompression (ESX decompresses on the access, synchronously)
        this.block(g.index, this.cost.h.decompressPage);
        if (hv.host.store[h] === HostStore.FREE) this.cacheShrunk(h);
      }
      return;
    }
    const mark = this.slotMark[slot]!;
    if (mark === 0) return;
    this.slotMark[slot] = 0;
    this.balloonOf[g.index]!--;
    this.balloonPages--;
    if (mark === PAGED_OUT) {
      guest.write(slot - guest.slotBase, 0, this.runner.pageBytes(slot, this.page));
      this.guestPageIns++;
      this.block(g.index, this.cfg.swapReadSec);
    }
  }

  /**
   * Guest g discards page `slot` (a replayed trace's page that became unpopulated): its balloon
   * mark goes, and a swapped or compressed page is dropped from its store without coming back
   * (no stall); a compression cache that lost its last entry in a frame gives the frame back.
   */
  discard(g: SimGuest, slot: number): void {
    const hv = this.hv;
    const guest = g.guest!;
    if (this.slotMark[slot] !== 0) {
      this.slotMark[slot] = 0;
      this.balloonOf[g.index]!--;
      this.balloonPages--;
    }
    const h = hv.pageTable.slotHost[slot]!;
    const cached = h >= 0 && hv.host.store[h] === HostStore.CACHE;
    guest.discard(slot - guest.slotBase);
    if (cached && hv.host.store[h] === HostStore.FREE) this.cacheShrunk(h);
  }

  /** The guest holds the page of `slot` in its own swap (paged out under balloon pressure). */
  pagedOut(slot: number): boolean {
    return this.slotMark[slot] === PAGED_OUT;
  }

  private block(i: number, sec: number): void {
    this.blockedSec[i]! += sec;
    this.intervalStallSec += sec;
  }

  private directReclaim(g: SimGuest, need: number): void {
    const m = this.hv.memory;
    this.intervalWorstState = HostState.LOW;
    while (m.freeCount < need) {
      const before = this.hv.host.swapOuts;
      if (!this.takeVictim(g)) throw this.exhausted();
      if (this.hv.host.swapOuts !== before) this.block(g.index, this.cfg.swapReadSec);
    }
    this.state = stateOf(m.freeCount, this.cfg.thresholds);
  }

  private inflate(targetFree: number): void {
    const guests = this.runner.guests;
    const m = this.hv.memory;
    let idle = 0;
    while (m.freeCount < targetFree && this.balloonAcc >= 1 && idle < guests.length) {
      const g = guests[this.balloonTurn++ % guests.length]!;
      if (g.guest && this.inflateOne(g)) {
        this.balloonAcc--;
        idle = 0;
      } else idle++;
    }
  }

  /** One page into g's balloon: a populated free page, else a page the guest pages out. */
  private inflateOne(g: SimGuest): boolean {
    const guest = g.guest!;
    if (this.balloonOf[g.index]! >= BALLOON_MAX_SHARE * guest.pages) return false;
    const sf = this.hv.pageTable.slotFrame;
    // the cursor walks the guest's free memory in gfn order, once (deflation moves it back)
    if (this.freeCursor[g.index]! < guest.pages) {
      const c = this.runner.nextFreePage(g, this.freeCursor[g.index]!);
      this.freeCursor[g.index] = c < 0 ? guest.pages : c + 1;
      if (c >= 0) return this.balloon(g, guest.slotBase + c, BALLOONED_FREE);
    }
    // beyond its free memory the guest pages out its own pages
    for (let k = 0; k < 16; k++) {
      const gfn = this.rng.int(guest.pages);
      const slot = guest.slotBase + gfn;
      const f = sf[slot]!;
      if (f < 0 || f === this.hv.zeroFrame || this.slotMark[slot] !== 0 || this.runner.isFreePage(g, gfn)) continue;
      this.chargeCpu(g.index, this.cost.h.guestPageOut);
      this.guestPageOuts++;
      return this.balloon(g, slot, PAGED_OUT);
    }
    return false;
  }

  private balloon(g: SimGuest, slot: number, mark: number): boolean {
    const m = this.hv.memory;
    const before = m.freeCount;
    const guest = g.guest!;
    guest.discard(slot - guest.slotBase);
    if (mark === BALLOONED_FREE) this.runner.forget(slot);
    this.balloonFramesFreed += m.freeCount - before;
    this.slotMark[slot] = mark;
    this.balloonOf[g.index]!++;
    this.balloonPages++;
    return true;
  }

  private deflate(): void {
    let n = Math.floor(this.balloonAcc);
    for (const g of this.runner.guests) {
      // free pages given back: still unpopulated, the guest's free memory again
      while (n > 0 && this.balloonOf[g.index]! > 0 && this.deflateOne(g)) n--;
    }
    this.balloonAcc -= Math.floor(this.balloonAcc) - n;
  }

  private deflateOne(g: SimGuest): boolean {
    const guest = g.guest;
    if (!guest) return false;
    const end = Math.min(this.freeCursor[g.index]!, guest.pages);
    for (let gfn = end - 1; gfn >= 0; gfn--) {
      const slot = guest.slotBase + gfn;
      if (this.slotMark[slot] !== BALLOONED_FREE) continue;
      this.slotMark[slot] = 0;
      this.balloonOf[g.index]!--;
      this.balloonPages--;
      this.freeCursor[g.index] = gfn;
      return true;
    }
    return false;
  }

  /** Takes one victim frame into the compression cache or swap; false when none can be taken. */
  private takeVictim(_for: SimGuest | null): boolean {
    const hv = this.hv;
    const pt = hv.pageTable;
    const total = pt.slotCount;
    if (total === 0) return false;
    for (let k = 0; k < 64; k++) if (this.tryVictim(this.rng.int(total))) return true;
    for (let k = 0; k < 2 * total; k++) {
      this.clockHand = (this.clockHand + 1) % total;
      if (this.tryVictim(this.clockHand)) return true;
    }
    return false;
  }

  private tryVictim(slot: number): boolean {
    const hv = this.hv;
    const f = hv.pageTable.slotFrame[slot]!;
    if (f < 0 || f === hv.zeroFrame || hv.memory.frameState[f] === FrameState.RESERVED) return false;
    if (this.accessed && this.accessed[slot]) {
      this.accessed[slot] = 0;
      return false;
    }
    const g = this.runner.guests[hv.pageTable.slotGuest[slot]!]!;
    const guest = g.guest!;
    const size = this.runner.compressedBytes(g, slot);
    const cap = this.cfg.cacheShare * guest.pages * PAGE_SIZE;
    const hp = hv.host;
    if (size <= CACHE_MAX_COMPRESSED_BYTES && this.cacheBytesOf[g.index]! + size <= cap) {
      const h = hp.takeFrame(f, HostStore.CACHE, size);
      this.growOwners();
      this.cacheOwner[h] = g.index;
      this.cacheBytesOf[g.index]! += size;
      const need = Math.ceil(this.cacheBytesOf[g.index]! / PAGE_SIZE) - this.cacheFramesOf[g.index]!;
      if (need > 0) {
        hp.reserveFrames(need);
        this.cacheFramesOf[g.index]! += need;
      }
      this.chargeCpu(g.index, this.cost.h.compressPage);
      return true;
    }
    if (hp.swapSlotsUsed >= this.cfg.swapPages) return false;
    hp.takeFrame(f, HostStore.SWAP, PAGE_SIZE);
    return true;
  }

  private growOwners(): void {
    const cap = this.hv.host.slotCapacity;
    if (this.cacheOwner.length >= cap) return;
    const c = new Int32Array(cap);
    c.set(this.cacheOwner);
    this.cacheOwner = c;
  }

  /** A cache slot was freed: its owner's cache shrinks, whole frames go back to the pool. */
  private cacheShrunk(h: number): void {
    const o = this.cacheOwner[h]!;
    this.cacheBytesOf[o]! -= this.hv.host.storedBytes[h]!;
    const extra = this.cacheFramesOf[o]! - Math.ceil(this.cacheBytesOf[o]! / PAGE_SIZE);
    if (extra > 0) {
      this.hv.host.releaseFrames(extra);
      this.cacheFramesOf[o]! -= extra;
    }
  }

  private exhausted(): HostMemoryExhaustedError {
    const hp = this.hv.host;
    const m = this.hv.memory;
    let cacheCap = 0;
    for (const g of this.runner.guests) if (g.guest) cacheCap += this.cfg.cacheShare * g.guest.pages * PAGE_SIZE;
    const state = HOST_STATE_NAMES[stateOf(m.freeCount, this.cfg.thresholds)]!;
    return new HostMemoryExhaustedError(
      `host memory exhausted at t=${this.nowSec.toFixed(2)}s in state ${state}: ${m.freeCount} of ${m.frames} frames free (minFree ${this.cfg.minFreePages}); ` +
        `balloons hold ${this.balloonPages} pages; compression caches ${hp.cacheBytesUsed} of ${Math.round(cacheCap)} bytes (${hp.compressedPages} pages); ` +
        `swap ${hp.swapSlotsUsed} of ${this.cfg.swapPages} pages: nothing left to reclaim`,
      state,
      m.freeCount,
    );
  }
}
