/**
 * What every dedup policy shares: registration (MADV_MERGEABLE / mergeAny), the run switch, and
 * the scan cursor that walks registered pages the way ksm_do_scan does.
 *
 * Cursor. A pass visits the guests that were alive when it started, in creation order, and
 * their pages in ascending gfn. Unpopulated and unregistered pages are passed over without a
 * visit. A guest created during a pass joins at the next one (the kernel inserts a new mm behind
 * the scan cursor). scan(n) visits up to n pages; pages a policy decides to skip (smart scan)
 * count in pagesSkipped and do not use up the batch; reaching the end of the pass ends the batch,
 * bumps fullScans and calls onPassEnd(); the next batch starts a new pass (onPassStart()).
 *
 * Per-page policy state lives in flat typed arrays indexed by page slot (hv.pageTable); policies
 * grow theirs in growSlots(). Destroyed guests are noticed through hv.guestEpoch at the next
 * scan()/stats()/register call and their slots are dropped at once (as ksm_exit does).
 *
 * Subclasses implement visit(), and the hooks below; they merge only through hv.share and
 * hv.mapZero and always confirm with a byte compare (hv.share verifies again).
 */
import { Hypervisor, InvalidArgumentError, OutOfMachineMemoryError, VmdedupError, type Guest } from "../hypervisor/index.ts";
import type { FrameHasher } from "./fingerprint.ts";
import { createFrameHasher } from "./pool/index.ts";
import type { Policy, ResolvedScannerOptions, RunMode, Scanner, ScannerKnobs, ScannerStats, ScannerWork } from "./types.ts";

/** Where a peekVisits call stopped (see there). */
export interface PeekResult {
  passEnd: boolean;
  lastSlot: number;
}

export abstract class ScannerBase implements Scanner {
  abstract readonly policy: Policy;
  readonly options: ResolvedScannerOptions;
  protected hasher: FrameHasher;
  run: RunMode = 1;
  protected registered = new Uint8Array(0);
  protected registeredCount = 0;
  protected knownGuests = 0;
  private knownEpoch = -1;
  private dropped = new Set<number>(); // ids of destroyed guests already dropped
  // cursor
  private passGuests: Guest[] | null = null;
  private cursorGuest = 0;
  private cursorGfn = 0;
  private cursorUsed = false; // a pass of this cursor has started (peekVisits)
  // counters common to all policies
  fullScanCount = 0;
  pagesScanned = 0;
  pagesSkipped = 0;
  protected workCounters: ScannerWork = { pagesHashed: 0, compares: 0, compareBytes: 0, zeroChecks: 0, merges: 0, lookups: 0 };
  /** False: pages mapped to the zero frame are passed over like unpopulated ones (KSM's walk
   * does not see the zero page); true: they are visited. */
  protected visitZeroMapped = true;
  private closed = false;

  constructor(
    protected readonly hv: Hypervisor,
    options: ResolvedScannerOptions,
    hasher?: FrameHasher,
  ) {
    this.options = options;
    this.hasher = hasher ?? createFrameHasher(hv.memory, options, this);
    this.sync();
  }

  // ---- policy hooks -------------------------------------------------------------------------
  /** Visit one populated, registered page (not skipped). */
  protected abstract visit(slot: number, frame: number): void;
  /** Called when a new pass starts (before its first visit). */
  protected onPassStart(): void {}
  /** Called when a pass ends (after its last visit), before fullScans is bumped. */
  protected onPassEnd(): void {}
  /** Smart-scan style skipping; a skipped page is not visited and does not use up the batch. */
  protected shouldSkip(_slot: number, _frame: number): boolean {
    return false;
  }
  /** The policy forgets slots [first, first+count) (unregistered, destroyed or run=2). */
  protected abstract dropSlots(first: number, count: number): void;
  /** Everything was unmerged (run=2): forget all merge state. */
  protected abstract resetAll(): void;
  /** Grow per-slot arrays to at least `capacity` slots. */
  protected abstract growSlots(capacity: number): void;
  abstract stats(): ScannerStats;

  // ---- registration ---------------------------------------------------------------------------
  /** Notices new and destroyed guests. */
  protected sync(): void {
    if (this.knownEpoch === this.hv.guestEpoch) return;
    this.knownEpoch = this.hv.guestEpoch;
    const pt = this.hv.pageTable;
    if (this.registered.length < pt.slotCount) {
      const cap = Math.max(pt.slotCount, this.registered.length * 2);
      const r = new Uint8Array(cap);
      r.set(this.registered);
      this.registered = r;
      this.growSlots(cap);
    }
    const all = this.hv.guestById;
    for (let id = this.knownGuests; id < all.length; id++) {
      const g = all[id]!;
      if (this.options.mergeAny && !g.destroyed) this.setRegistered(g.slotBase, g.pages, 1);
    }
    this.knownGuests = all.length;
    for (const g of all) {
      if (!g.destroyed || this.dropped.has(g.id)) continue;
      this.dropped.add(g.id);
      this.setRegistered(g.slotBase, g.pages, 0);
      this.dropSlots(g.slotBase, g.pages);
    }
  }

  private setRegistered(first: number, count: number, value: 0 | 1): void {
    const r = this.registered;
    for (let s = first, e = first + count; s < e; s++) {
      if (r[s] !== value) {
        r[s] = value;
        this.registeredCount += value ? 1 : -1;
      }
    }
  }

  private checkRange(g: Guest, start: number, count: number): void {
    this.hv.checkGuest(g);
    if (!Number.isInteger(start) || start < 0 || start >= g.pages)
      throw new InvalidArgumentError(`start ${start} out of range for guest ${g.name} (0..${g.pages - 1})`);
    if (!Number.isInteger(count) || count < 0 || start + count > g.pages)
      throw new InvalidArgumentError(`count ${count} from ${start} runs past guest ${g.name} (${g.pages} pages)`);
  }

  register(g: Guest, start = 0, count = g.pages - start): void {
    this.checkOpen();
    this.checkRange(g, start, count);
    this.sync();
    this.setRegistered(g.slotBase + start, count, 1);
  }

  unregister(g: Guest, start = 0, count = g.pages - start): void {
    this.checkOpen();
    this.checkRange(g, start, count);
    this.sync();
    this.unmergeRange(g, start, count);
    this.setRegistered(g.slotBase + start, count, 0);
    this.dropSlots(g.slotBase + start, count);
  }

  /** Gives every page of the range a private frame; all-or-nothing on frames. */
  private unmergeRange(g: Guest, start: number, count: number): void {
    const hv = this.hv;
    const m = hv.memory;
    const sf = hv.pageTable.slotFrame;
    const inRange = new Map<number, number>(); // shared frame -> mappings inside the range
    let need = 0;
    for (let s = g.slotBase + start, e = s + count; s < e; s++) {
      const f = sf[s]!;
      if (f < 0) continue;
      if (f === hv.zeroFrame) need++;
      else if (hv.isSharedFrame(f)) inRange.set(f, (inRange.get(f) ?? 0) + 1);
    }
    for (const [f, n] of inRange) need += n === m.frameRefcount[f] ? n - 1 : n;
    if (need > m.freeCount)
      throw new OutOfMachineMemoryError(
        `machine memory exhausted: unmerging ${g.name} gfn ${start}..${start + count - 1} needs ${need} free frame(s), ${m.freeCount} free`,
        need,
        m.freeCount,
      );
    for (let gfn = start; gfn < start + count; gfn++) hv.unshare(g, gfn);
  }

  // ---- run control ----------------------------------------------------------------------------
  setRun(run: RunMode): void {
    this.checkOpen();
    if (run !== 0 && run !== 1 && run !== 2) throw new InvalidArgumentError(`run must be 0, 1 or 2, got ${run}`);
    if (run === 2) {
      this.sync();
      this.hv.unmergeAll(); // throws OutOfMachineMemoryError with nothing changed
      this.resetAll();
      this.fullScanCount = 0; // as KSM's run=2 (ksm_scan.seqnr = 0), for every policy
      this.restartPass();
    }
    this.run = run;
  }

  set(knobs: ScannerKnobs): void {
    this.checkOpen();
    if (knobs === null || typeof knobs !== "object") throw new InvalidArgumentError(`set() takes an object of knobs`);
    const next = { ...this.options };
    for (const [k, v] of Object.entries(knobs)) {
      if (!KNOBS.includes(k as keyof ScannerKnobs)) throw new InvalidArgumentError(`set(): unknown knob ${k} (knobs: ${KNOBS.join(", ")})`);
      if (v !== undefined) (next as Record<string, unknown>)[k] = v;
    }
    validateKnobs(next);
    this.applyKnobs(next);
    Object.assign(this.options, next);
  }

  /** Abandons the current pass: the next batch starts a new one (KSM's run=2 leaves its cursor
   * at the head of the mm list). */
  protected restartPass(): void {
    this.passGuests = null;
  }

  /** Policies veto knob changes here (e.g. BusyError for maxPageSharing while pages are shared). */
  protected applyKnobs(_next: ResolvedScannerOptions): void {}

  // ---- scanning -------------------------------------------------------------------------------
  async scan(pages: number = this.options.pagesToScan): Promise<number> {
    this.checkOpen();
    if (!Number.isInteger(pages) || pages < 0) throw new InvalidArgumentError(`pages ${pages} must be a non-negative integer`);
    if (this.run !== 1) return 0;
    this.sync();
    if (this.registeredCount === 0) return 0;
    return this.scanBatch(pages);
  }

  protected scanBatch(pages: number): number {
    const sf = this.hv.pageTable.slotFrame;
    const reg = this.registered;
    const skipFrame = this.visitZeroMapped ? -2 : this.hv.zeroFrame;
    let visited = 0;
    while (visited < pages) {
      if (this.passGuests === null) {
        this.passGuests = this.hv.guests.slice();
        this.cursorUsed = true;
        this.cursorGuest = 0;
        this.cursorGfn = 0;
        this.onPassStart();
      }
      const guests = this.passGuests;
      let slot = -1;
      let frame = -1;
      while (this.cursorGuest < guests.length) {
        const g = guests[this.cursorGuest]!;
        if (g.destroyed) {
          this.cursorGuest++;
          this.cursorGfn = 0;
          continue;
        }
        const base = g.slotBase;
        let gfn = this.cursorGfn;
        for (; gfn < g.pages; gfn++) {
          const s = base + gfn;
          if (reg[s] === 0) continue;
          const f = sf[s]!;
          if (f < 0 || f === skipFrame) continue;
          if (this.shouldSkip(s, f)) {
            this.pagesSkipped++;
            continue;
          }
          slot = s;
          frame = f;
          gfn++;
          break;
        }
        this.cursorGfn = gfn;
        if (slot >= 0) break;
        this.cursorGuest++;
        this.cursorGfn = 0;
      }
      if (slot < 0) {
        this.onPassEnd();
        this.fullScanCount++;
        this.passGuests = null;
        break;
      }
      this.pagesScanned++;
      visited++;
      this.visit(slot, frame);
    }
    return visited;
  }

  // ---- hash-ahead (worker pool, src/dedup/pool) ---------------------------------------------------
  /** Whether a visit of (slot, frame) would hash the page; the pool hashes ahead only those. No side effects. */
  protected wouldHash(_slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame;
  }

  /**
   * @internal Read-only peek of the visit order, for the worker pool (changes nothing). Writes up to
   * `max` upcoming candidates into slots/frames, in visit order: registered, populated pages for
   * which wouldHash() holds (shouldSkip is not consulted: it may have side effects). `after`: -1 =
   * from the cursor (the start of the next pass if none is in progress), -2 = from the start of
   * the next pass, a slot = after that slot in the current pass. It examines at most `maxSlots`
   * page slots; `out` (if given) says where it stopped: `passEnd` when it reached the end of the
   * pass, else `lastSlot`, the last slot examined (peek again after it).
   * Lists nothing until this cursor has started a pass: a policy with its own order (esx's
   * scanBatch) gets no hash-ahead unless it overrides this to expose that order.
   */
  peekVisits(after: number, slots: Int32Array, frames: Int32Array, max: number, maxSlots = Infinity, out?: PeekResult): number {
    if (out) {
      out.passEnd = true;
      out.lastSlot = -1;
    }
    if (!this.cursorUsed) return 0;
    const inPass = this.passGuests !== null && after !== -2;
    const guests = inPass ? this.passGuests! : this.hv.guests;
    let gi = 0;
    let gfn = 0;
    if (after === -1 && inPass) {
      gi = this.cursorGuest;
      gfn = this.cursorGfn;
    } else if (after >= 0) {
      while (gi < guests.length && guests[gi]!.slotBase + guests[gi]!.pages <= after) gi++;
      if (gi < guests.length && guests[gi]!.slotBase <= after) gfn = after - guests[gi]!.slotBase + 1;
    }
    const sf = this.hv.pageTable.slotFrame;
    const reg = this.registered;
    let n = 0;
    let budget = maxSlots;
    for (; gi < guests.length && n < max; gi++, gfn = 0) {
      const g = guests[gi]!;
      if (g.destroyed) continue;
      const e = g.slotBase + g.pages;
      for (let s = g.slotBase + gfn; s < e && n < max; s++) {
        if (budget-- <= 0) {
          if (out) {
            out.passEnd = false;
            out.lastSlot = s - 1;
          }
          return n;
        }
        if (reg[s] !== 1) continue;
        const f = sf[s]!;
        if (f < 0 || !this.wouldHash(s, f)) continue;
        slots[n] = s;
        frames[n] = f;
        n++;
      }
    }
    if (out && n === max) {
      out.passEnd = false;
      out.lastSlot = slots[n - 1]!;
    }
    return n;
  }

  async fullScans(n = 1): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`fullScans count ${n} must be a non-negative integer`);
    if (this.run !== 1) throw new VmdedupError(`scanner is stopped (run=${this.run}); setRun(1) first`);
    this.sync();
    if (this.registeredCount === 0) return;
    const target = this.fullScanCount + n;
    const batch = Math.max(this.options.pagesToScan, 1);
    while (this.fullScanCount < target) {
      this.scanBatch(batch);
      this.sync();
    }
  }

  work(): ScannerWork {
    return { ...this.workCounters, pagesHashed: this.hasher.pagesHashed };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    releaseScanner(this.hv);
    await this.hasher.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new VmdedupError(`scanner is closed`);
  }
}

// ---- one scanner per hypervisor, option validation ----------------------------------------------

const owners = new WeakSet<Hypervisor>();
const KNOBS: readonly (keyof ScannerKnobs)[] = ["maxPageSharing", "useZeroPages", "smartScan", "pagesToScan", "sleepMillisecs", "stableNodeChainsPruneMillisecs"];

export function claimScanner(hv: Hypervisor): void {
  if (!(hv instanceof Hypervisor)) throw new InvalidArgumentError(`createScanner needs a Hypervisor`);
  if (owners.has(hv)) throw new VmdedupError(`this hypervisor already has a scanner; close() it first`);
  owners.add(hv);
}

function releaseScanner(hv: Hypervisor): void {
  owners.delete(hv);
}

function positiveInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  return v;
}

export function validateKnobs(o: ResolvedScannerOptions): ResolvedScannerOptions {
  positiveInt("pagesToScan", o.pagesToScan, 1, 1 << 26);
  positiveInt("sleepMillisecs", o.sleepMillisecs, 0, 3_600_000);
  positiveInt("maxPageSharing", o.maxPageSharing, 2, 1 << 30);
  positiveInt("stableNodeChainsPruneMillisecs", o.stableNodeChainsPruneMillisecs, 0, 2 ** 31 - 1);
  if (typeof o.smartScan !== "boolean") throw new InvalidArgumentError(`smartScan must be a boolean`);
  if (typeof o.useZeroPages !== "boolean") throw new InvalidArgumentError(`useZeroPages must be a boolean`);
  return o;
}
