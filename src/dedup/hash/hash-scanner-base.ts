/**
 * What the two hash-table policies (vmdedup, esx) share: one global index of 64-bit page
 * fingerprints, per-page scanner state, the lookup/merge step, and exact statistics.
 *
 * Index (HashIndex, open addressing). Two kinds of entries under a page's fingerprint:
 *   - an unshared entry ("hint" in ESX's words): aux = the page slot it stands for, frame and gen
 *     = that page's frame and write generation when it was indexed;
 *   - a shared entry: aux = -1, frame = a SHARED frame this scanner merged pages into, gen = its
 *     write generation (a shared frame's bytes never change while it stays SHARED).
 * A shared entry is valid while its frame is SHARED with that generation; an unshared entry is
 * checked by the policy (hintValid: vmdedup by write generation, esx by re-hashing the page).
 * Invalid entries met by a lookup are deleted on the spot.
 *
 * Per page slot: HashSlots (hash-slots.ts): kind, fingerprint, the (frame, generation) seen at
 * the last visit, waitRoom. Frames merged into and zero-mapped slots: MergedFrames.
 *
 * process(slot, frame, hash, changed) — the step after a page was hashed:
 *   1. zero page (useZeroPages and the fingerprint of the zero page): verify all zeros
 *      (FrameComparer.isZero), then hv.mapZeroByHandle;
 *   2. walk the index entries with this fingerprint, dropping invalid ones; each valid one is
 *      compared byte for byte (FrameComparer.equal, never trusting the hash); merge into the
 *      first equal shared frame that has room under maxPageSharing (hv.shareByHandle with the
 *      generations that compare saw: that frame survives, this page moves); else merge with an
 *      equal unshared page (its frame survives and becomes a shared entry);
 *   3. no partner: a page seen changed since its last visit is VOLATILE and not indexed (write
 *      -hot pages do not churn the index; it is indexed once seen stable); any other page gets an
 *      unshared entry, so a duplicate of it merges on its first visit.
 * maxPageSharing: a full frame is not merged into; two further equal pages start a new frame of
 * the same content, in the same group (group ids per frame): a group with >= 2 live frames is a
 * chain (stableNodeChains), its frames are dups (stableNodeDups), as in KSM. Once CoW breaks
 * leave room, a waiting INDEXED page (waitRoom) and the last page of a shared frame (mayFold)
 * repeat the lookup at their visits and move into a frame with room, so the capped saving is
 * reached (KSM, like the kernel, never folds two frames of one content).
 *
 * Mitigations (mitigation.ts): salted keeps salts apart in FrameComparer.equal (the index keyed by
 * (fingerprint, salt)); zero-only stops after step 1 (the page stays kind NONE, unindexed).
 *
 * Partitions and workers (issue 13, part 3). The index is split by fingerprint into partitions
 * (partitions.ts; one without workers): a fingerprint's entries all live in one partition and are
 * met in insertion order in any table, so the split changes no decision. With workers, a batch of
 * at least MIN_PARTITIONED_BATCH pages (partition-engine.ts) is listed (partitioned-scanner.ts, the
 * batch loop of both policies), then decided partition by partition on the
 * workers and this thread (partition-exec.ts mirrors visit() and process() per partition), and
 * the merges are applied here by handle in visit order (partition-engine.ts): the same merges,
 * counters and mappings as one thread, for any worker count. A batch outside what partitions
 * decide exactly is visited here page by page (the engine declines it before changing anything).
 *
 * Statistics are read from the hypervisor, which knows them at once (no lazy counting as in
 * KSM): the frames this scanner merged into are kept on a list (with their generation at merge
 * time); stats() counts those still SHARED at that generation (pagesShared) and their extra
 * mappings (pagesSharing), so CoW breaks show up immediately. Slots this scanner mapped to the
 * zero frame are on a second list and count while they still map it (zeroPages). Both lists:
 * merged-frames.ts. audit(): hash-audit.ts.
 */
import { BusyError, FrameState, ZERO_PAGE } from "../../hypervisor/index.ts";
import { splitHash, ZERO_PAGE_HASH } from "../fingerprint.ts";
import { auditFail, ScannerBase, type ScannerParts } from "../scanner-base.ts";
import type { ResolvedScannerOptions, ScannerStats, ScannerWork } from "../types.ts";
import { auditHashPolicy } from "./hash-audit.ts";
import { HashIndex } from "./hash-index.ts";
import { partitionCount, partitionOf } from "./partitions.ts";
import { Kind, type HashSlots } from "./hash-slots.ts";
import { MergedFrames } from "./merged-frames.ts";

export { Kind } from "./hash-slots.ts";

const PAGE = 4096;
/**
 * Metadata bytes charged per tracked page in generalProfit:
 *   slot arrays: kind 1 + hashHi 4 + hashLo 4 + seenFrame 4 + seenGen 4 + inZeroList 1 = 18;
 *   one index entry: 20-byte buckets at a load between 0.35 and 0.7 (mean ~0.5) = 40;
 *   per machine frame (merged-frame list marks): listed 1 + merge generation 4 + group 4 = 9.
 */
export const BYTES_PER_TRACKED_PAGE = 18 + 40 + 9;


export abstract class HashScannerBase extends ScannerBase {
  /** The index, split by fingerprint into partitions (partitionOf; one when the scanner has no
   * workers): every key lives in one partition, and a key's entries are met in insertion order in
   * any table (hash-index.ts), so the split changes no decision. */
  protected readonly parts: HashIndex[];
  protected readonly slots: HashSlots;
  protected readonly merged: MergedFrames;
  protected readonly zeroHi: number;
  protected readonly zeroLo: number;

  constructor(parts: ScannerParts, slots: HashSlots) {
    super(parts);
    this.slots = slots;
    const n = partitionCount(this.options);
    this.parts = Array.from({ length: n }, () => new HashIndex(1024, n > 1));
    this.merged = new MergedFrames(parts.hv, slots);
    const z = { hi: 0, lo: 0 };
    splitHash(this.options.fingerprintOverride ? this.options.fingerprintOverride(ZERO_PAGE) : ZERO_PAGE_HASH, z);
    this.zeroHi = z.hi;
    this.zeroLo = z.lo;
  }

  /** The first partition's index (the whole index when there is one partition: tests). */
  protected get index(): HashIndex {
    return this.parts[0]!;
  }

  /** The partition holding fingerprint (hi, lo). */
  protected indexFor(hi: number, lo: number): HashIndex {
    const parts = this.parts;
    return parts.length === 1 ? parts[0]! : parts[partitionOf(hi, lo, parts.length)]!;
  }

  /** Whether the unshared entry at bucket `pos` of `ix` (fingerprint hi/lo) still stands for its page. */
  protected abstract hintValid(ix: HashIndex, pos: number, hi: number, lo: number): boolean;

  // ---- per-slot state -------------------------------------------------------------------------

  protected setKind(slot: number, k: number): void {
    this.slots.setKind(slot, k);
  }

  /** Drops a slot's index entry (if it owns one) and its kind; keeps seenFrame/seenGen. */
  protected forgetSlot(slot: number): void {
    const k = this.slots.kind[slot]!;
    if (k === Kind.NONE) return;
    const hi = this.slots.hashHi[slot]!;
    const lo = this.slots.hashLo[slot]!;
    const ix = this.indexFor(hi, lo);
    if (k === Kind.INDEXED) {
      for (let p = ix.first(hi, lo); p >= 0; p = ix.next(p, hi, lo)) {
        if (ix.aux[p] === slot) {
          ix.remove(p);
          break;
        }
      }
    } else if (k === Kind.MERGED) {
      const p = ix.locate(hi, lo, this.slots.seenFrame[slot]!, -1);
      if (p >= 0 && !this.sharedValid(ix, p)) ix.remove(p);
    }
    this.setKind(slot, Kind.NONE);
  }

  protected sharedValid(ix: HashIndex, pos: number): boolean {
    const m = this.hv.memory;
    const f = ix.frame[pos]!;
    return m.frameState[f] === FrameState.SHARED && m.frameWriteGen[f] === ix.gen[pos];
  }

  /** Deletes the entry at `pos`; an unshared entry's page was seen changed: VOLATILE. */
  private dropEntry(ix: HashIndex, pos: number): void {
    const h = ix.aux[pos]!;
    if (h >= 0 && this.slots.kind[h] === Kind.INDEXED) this.setKind(h, Kind.VOLATILE);
    ix.remove(pos);
  }

  // ---- the lookup / merge step ----------------------------------------------------------------

  /** See the file comment. `frame` is the page's current frame, (hi, lo) its fingerprint. */
  protected process(slot: number, frame: number, hi: number, lo: number, changed: boolean): void {
    const m = this.hv.memory;
    const w = this.workCounters;
    this.slots.hashHi[slot] = hi;
    this.slots.hashLo[slot] = lo;
    const cmp = this.cmp;
    if (this.options.useZeroPages && hi === this.zeroHi && lo === this.zeroLo && cmp.isZero(frame)) {
      this.mapToZero(slot, frame, cmp.genA);
      return;
    }
    if (this.mitigation.zeroOnly) return; // mitigation zero-only: not indexed, never merged (kind NONE)
    const ix = this.indexFor(hi, lo);
    const rc = m.frameRefcount;
    const max = this.options.maxPageSharing;
    let hintPos = -1;
    let hintGen = 0; // the generations of the hinted frame and this one when they compared equal
    let hintFrameGen = 0;
    let fullGroup = -1;
    let own = false; // the page is the last mapping of a shared frame: look for another frame with room
    w.lookups++;
    let p = ix.first(hi, lo);
    while (p >= 0) {
      w.lookups++;
      const aux = ix.aux[p]!;
      if (aux === slot || (aux >= 0 && hintPos >= 0)) {
        p = ix.next(p, hi, lo);
        continue;
      }
      if (!(aux >= 0 ? this.hintValid(ix, p, hi, lo) : this.sharedValid(ix, p))) {
        this.dropEntry(ix, p);
        p = ix.scan(p, hi, lo);
        continue;
      }
      const ef = ix.frame[p]!;
      if (ef === frame) {
        // This page already maps the entry's frame (shared by someone else's hv.share).
        if (aux < 0) {
          if (!this.mayFold(frame)) {
            this.setMerged(slot, frame);
            return;
          }
          own = true;
        }
      } else if (cmp.equal(ef, frame)) {
        if (aux >= 0) {
          hintPos = p;
          hintGen = cmp.genA;
          hintFrameGen = cmp.genB;
        } else if (rc[ef]! + rc[frame]! <= max) {
          this.shareInto(ef, cmp.genA, m.frameRmapHead[ef]!, slot, frame, cmp.genB);
          return;
        } else if (fullGroup < 0) fullGroup = this.merged.frameGroup[ef]!;
      }
      p = ix.next(p, hi, lo);
    }
    if (own) {
      this.setMerged(slot, frame); // no other frame has room: stay
      return;
    }
    if (hintPos >= 0 && rc[ix.frame[hintPos]!]! + rc[frame]! <= max) {
      this.mergeWithHint(ix, hintPos, hintGen, slot, frame, hintFrameGen, fullGroup);
      return;
    }
    if (changed) {
      this.setKind(slot, Kind.VOLATILE);
      return;
    }
    ix.insert(hi, lo, frame, m.frameWriteGen[frame]!, slot);
    this.setKind(slot, Kind.INDEXED);
    this.slots.waitRoom[slot] = fullGroup >= 0 ? 1 : 0;
  }

  /**
   * Whether a page whose shared frame `frame` it maps alone may move into another frame of the
   * same content with room: only once a content ever needed a second frame (maxPageSharing), as
   * CoW breaks can then leave several frames of one content each with a single mapping.
   */
  protected mayFold(frame: number): boolean {
    return this.merged.chainsPossible && this.hv.memory.frameRefcount[frame] === 1;
  }

  /** Unshared entry at `pos` + page `slot`: the hinted page's frame survives and becomes shared.
   * (hintGen, frameGen): the generations of the two frames when they compared equal. */
  private mergeWithHint(ix: HashIndex, pos: number, hintGen: number, slot: number, frame: number, frameGen: number, fullGroup: number): void {
    const m = this.hv.memory;
    const h = ix.aux[pos]!;
    // a new shared frame: vusion moves it to a random free frame (mitigation.ts)
    const hf = this.shareInto(ix.frame[pos]!, hintGen, h, slot, frame, frameGen, this.mitigation.relocatePick());
    ix.frame[pos] = hf;
    ix.aux[pos] = -1;
    ix.gen[pos] = m.frameWriteGen[hf]!;
    this.setMerged(h, hf);
    this.merged.noteShared(hf, fullGroup);
  }

  /** Share by handle: frame `target` (mapped by `targetSlot`) survives, page `slot` (frame
   * `frame`) moves onto it; the generations are those the equal compare saw. `relocatePick`:
   * see hv.shareByHandle (-1: stay). Returns the merged frame. */
  private shareInto(target: number, targetGen: number, targetSlot: number, slot: number, frame: number, frameGen: number, relocatePick = -1): number {
    const merged = this.hv.shareByHandle(targetSlot, target, targetGen, slot, frame, frameGen, relocatePick);
    this.workCounters.merges++;
    this.setMerged(slot, merged);
    return merged;
  }

  private setMerged(slot: number, frame: number): void {
    this.slots.seenFrame[slot] = frame;
    this.slots.seenGen[slot] = this.hv.memory.frameWriteGen[frame]!;
    this.setKind(slot, Kind.MERGED);
  }

  private mapToZero(slot: number, frame: number, gen: number): void {
    const hv = this.hv;
    hv.mapZeroByHandle(slot, frame, gen);
    this.workCounters.merges++;
    this.slots.seenFrame[slot] = hv.zeroFrame;
    this.slots.seenGen[slot] = hv.memory.frameWriteGen[hv.zeroFrame]!;
    this.setKind(slot, Kind.ZERO);
    this.merged.noteZero(slot);
  }

  /** A visit of a page that maps the zero frame: nothing to do; remember it as seen. */
  protected seeZeroMapped(slot: number): void {
    if (this.slots.seenFrame[slot] === this.hv.zeroFrame) return;
    this.forgetSlot(slot);
    this.slots.seenFrame[slot] = this.hv.zeroFrame;
    this.slots.seenGen[slot] = 0;
  }

  // ---- hooks of ScannerBase -------------------------------------------------------------------

  /**
   * Sizes the index for every registered page up front (no rehash in the middle of a pass), or
   * for every machine frame when there are fewer (an overcommitted host: only resident pages are
   * hashed; the table still grows if more entries come).
   */
  protected override onPassStart(): void {
    const n = this.parts.length;
    const want = Math.min(this.registeredCount, this.hv.memory.frames);
    for (const ix of this.parts) ix.reserve(n === 1 ? want : Math.ceil((1.25 * want) / n));
  }

  /** Pages discarded (ballooned out) since their visit are forgotten at the end of each pass. */
  protected override onPassEnd(): void {
    const sf = this.hv.pageTable.slotFrame;
    const kind = this.slots.kind;
    const n = Math.min(this.hv.pageTable.slotCount, kind.length);
    for (let s = 0; s < n; s++) {
      if (kind[s] !== Kind.NONE && sf[s]! < 0) {
        this.forgetSlot(s);
        this.slots.seenFrame[s] = -1;
      }
    }
  }

  protected dropSlots(first: number, count: number): void {
    for (let s = first, e = first + count; s < e; s++) {
      this.forgetSlot(s);
      this.slots.seenFrame[s] = -1;
    }
  }

  protected resetAll(): void {
    for (const ix of this.parts) ix.clear();
    this.slots.reset();
    this.merged.reset();
  }

  protected growSlots(capacity: number): void {
    this.slots.grow(capacity);
  }

  protected auditPolicy(): void {
    auditHashPolicy(this.hv, this.options, this.parts, this.slots, this.registration.registered, auditFail);
    this.merged.audit(auditFail);
  }

  protected override applyKnobs(next: ResolvedScannerOptions): void {
    if (next.maxPageSharing !== this.options.maxPageSharing && this.stats().pagesShared > 0)
      throw new BusyError(
        `maxPageSharing cannot change while pages are shared (pagesShared ${this.stats().pagesShared}); setRun(2) first`,
      );
  }

  // ---- statistics -----------------------------------------------------------------------------

  stats(): ScannerStats {
    this.sync();
    const { shared, sharing, chains, dups, zeros } = this.merged.count();
    const c = this.slots.kindCount;
    const tracked = c[Kind.INDEXED]! + c[Kind.MERGED]! + c[Kind.ZERO]! + c[Kind.VOLATILE]!;
    return {
      pagesShared: shared,
      pagesSharing: sharing,
      pagesUnshared: c[Kind.INDEXED]!,
      pagesVolatile: c[Kind.VOLATILE]!,
      fullScans: this.fullScanCount,
      pagesScanned: this.pagesScanned,
      pagesSkipped: this.pagesSkipped,
      stableNodeChains: chains,
      stableNodeDups: dups,
      zeroPages: zeros,
      generalProfit: (sharing + zeros) * PAGE - tracked * BYTES_PER_TRACKED_PAGE,
    };
  }
}
