/**
 * What every dedup policy shares: registration (MADV_MERGEABLE / mergeAny), the run switch, and
 * the one batch loop that walks the scanner's VisitOrder the way ksm_do_scan does.
 *
 * Construction. createScanner builds every part first, fully: the work counters, the one
 * FrameComparer, the Registration, the VisitOrder, the policy's own state and the hasher (a
 * worker pool peeks the VisitOrder through the policy's HashAheadFilter); then the scanner,
 * which only stores them (ScannerParts). Nothing runs during construction: the first public call
 * syncs with the hypervisor (registers the guests, sizes the per-slot arrays).
 *
 * Batch loop (scanBatch). A pass begins (order.begin, then onPassStart) when a batch finds none
 * in progress. Each step takes the order's next registered, populated slot; a policy that does
 * not visit zero-mapped pages (visitZeroMapped false, as KSM's walk never sees the zero page)
 * passes over them without a visit, and pages the policy skips (shouldSkip, smart scan) count
 * in pagesSkipped without using up the batch. scan(n) visits up to n pages; the end of the pass
 * ends the batch, calls onPassEnd() and bumps fullScans. The order decides which pages and in
 * what order (visit-order.ts): ascending for vmdedup, ksm and none, shuffled per pass for esx.
 *
 * Per-page policy state lives in flat typed arrays indexed by page slot (hv.pageTable); policies
 * grow theirs in growSlots(). Destroyed guests are noticed through hv.guestEpoch at the next
 * scan()/stats()/register call and their slots are dropped at once (as ksm_exit does).
 *
 * Subclasses implement visit(), and the hooks below; they merge only through hv.shareByHandle
 * and hv.mapZeroByHandle, with the (frame, generation) pairs their FrameComparer just compared.
 */
import { AuditError, Hypervisor, InvalidArgumentError, OutOfMachineMemoryError, VmdedupError, type Guest } from "../hypervisor/index.ts";
import type { FrameComparer } from "./frame-comparer.ts";
import type { FrameHasher } from "./fingerprint.ts";
import type { Mitigation } from "./mitigation.ts";
import type { Registration } from "./registration.ts";
import type { Policy, ResolvedScannerOptions, RunMode, Scanner, ScannerKnobs, ScannerStats, ScannerWork } from "./types.ts";
import type { HashAheadFilter, PeekResult, VisitOrder } from "./visit-order.ts";

/** The parts a scanner is built from (see the file comment), each complete before the scanner. */
export interface ScannerParts {
  hv: Hypervisor;
  options: ResolvedScannerOptions;
  /** The work counters (ScannerWork), shared with the comparer that counts into them. */
  work: ScannerWork;
  comparer: FrameComparer;
  registration: Registration;
  order: VisitOrder;
  /** The policy's hash-ahead predicate (the worker pool peeks the order through it). */
  hashAhead: HashAheadFilter;
  hasher: FrameHasher;
  /** The side-channel mitigation (mitigation.ts): salts, zero-only, the pages visits considered. */
  mitigation: Mitigation;
}

/** Zeroed work counters. */
export function emptyWork(): ScannerWork {
  return { pagesHashed: 0, compares: 0, compareBytes: 0, zeroChecks: 0, merges: 0, lookups: 0 };
}

/** Throws AuditError for scanner.audit() (the message names the policy's broken invariant). */
export function auditFail(msg: string): never {
  throw new AuditError(`scanner audit: ${msg}`);
}

export abstract class ScannerBase implements Scanner {
  abstract readonly policy: Policy;
  readonly options: ResolvedScannerOptions;
  readonly mitigation: Mitigation;
  protected readonly hv: Hypervisor;
  protected hasher: FrameHasher;
  protected readonly cmp: FrameComparer;
  protected readonly registration: Registration;
  protected readonly order: VisitOrder;
  protected readonly hashAhead: HashAheadFilter;
  private runMode: RunMode = 1;
  /** Guests (by id) already seen by sync(): new ones past it get registered under mergeAny. */
  protected knownGuests = 0;
  private knownEpoch = -1;
  private dropped = new Set<number>(); // ids of destroyed guests already dropped
  // Counters common to all policies (read through stats()).
  /** full_scans: passes completed (+1 when the order ends a pass); 0 again at run=2. */
  protected fullScanCount = 0;
  /** pages_scanned: visits (+1 per page handed to visit(), never reset). */
  protected pagesScanned = 0;
  /** pages_skipped: pages shouldSkip() passed over (smart scan), never reset. */
  protected pagesSkipped = 0;
  /** Work for the cost model (ScannerWork: what each counts is documented there). */
  protected readonly workCounters: ScannerWork;
  /** False: pages mapped to the zero frame are passed over without a visit (KSM's walk does
   * not see the zero page); true: they are visited. */
  protected visitZeroMapped = true;
  private closed = false;

  constructor(parts: ScannerParts) {
    this.hv = parts.hv;
    this.options = parts.options;
    this.workCounters = parts.work;
    this.cmp = parts.comparer;
    this.registration = parts.registration;
    this.order = parts.order;
    this.hashAhead = parts.hashAhead;
    this.hasher = parts.hasher;
    this.mitigation = parts.mitigation;
  }

  get run(): RunMode {
    return this.runMode;
  }

  /** Registered slots (mergeAny or register()). */
  protected get registeredCount(): number {
    return this.registration.count;
  }

  // ---- policy hooks -------------------------------------------------------------------------
  /** Visit one populated, registered page (not skipped). */
  protected abstract visit(slot: number, frame: number): void;
  /** Checks the policy's own structures; throws AuditError via auditFail (see audit()). */
  protected abstract auditPolicy(): void;
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
    const reg = this.registration;
    if (reg.registered.length < pt.slotCount) this.growSlots(reg.grow(pt.slotCount));
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
    this.registration.set(first, count, value);
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
    this.runMode = run;
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
    this.order.abandon();
  }

  /** Policies veto knob changes here (e.g. BusyError for maxPageSharing while pages are shared). */
  protected applyKnobs(_next: ResolvedScannerOptions): void {}

  // ---- scanning -------------------------------------------------------------------------------
  async scan(pages: number = this.options.pagesToScan): Promise<number> {
    this.checkOpen();
    if (!Number.isInteger(pages) || pages < 0) throw new InvalidArgumentError(`pages ${pages} must be a non-negative integer`);
    if (this.runMode !== 1) return 0;
    this.sync();
    if (this.registeredCount === 0) return 0;
    return this.scanBatch(pages);
  }

  /** The one batch loop (see the file comment). */
  protected scanBatch(pages: number): number {
    const sf = this.hv.pageTable.slotFrame;
    const order = this.order;
    const skipFrame = this.visitZeroMapped ? -2 : this.hv.zeroFrame;
    const tracksVisits = this.mitigation.tracksVisits;
    let visited = 0;
    while (visited < pages) {
      if (!order.inPass) {
        order.begin(this.fullScanCount);
        this.onPassStart();
      }
      const slot = order.next();
      if (slot < 0) {
        this.onPassEnd();
        this.fullScanCount++;
        break;
      }
      const frame = sf[slot]!;
      if (frame === skipFrame) continue;
      if (this.shouldSkip(slot, frame)) {
        this.pagesSkipped++;
        continue;
      }
      this.pagesScanned++;
      visited++;
      if (tracksVisits) this.mitigation.noteVisit(slot);
      this.visit(slot, frame);
    }
    return visited;
  }

  /** @internal The worker pool's view (tests): order.peek through this policy's hash-ahead filter. */
  peekVisits(after: number, slots: Int32Array, frames: Int32Array, max: number, maxPositions = Infinity, out?: PeekResult): number {
    return this.order.peek(after, slots, frames, max, maxPositions, out, this.hashAhead);
  }

  async fullScans(n = 1): Promise<void> {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`fullScans count ${n} must be a non-negative integer`);
    if (this.runMode !== 1) throw new VmdedupError(`scanner is stopped (run=${this.run}); setRun(1) first`);
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

  /**
   * Checks the scanner's own structures from scratch and throws AuditError naming the first
   * broken invariant (hv.audit() does the same for the paging model): the registration count,
   * then the policy's structures (auditPolicy). Changes nothing, but syncs first.
   */
  audit(): void {
    this.checkOpen();
    this.sync();
    this.registration.audit(auditFail);
    this.auditPolicy();
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
