/**
 * Policy "ksm": Linux Kernel Samepage Merging (mm/ksm.c, v6.18), run over the hypervisor's page
 * slots instead of process virtual memory, so that fed the same page contents it reports the
 * counters /sys/kernel/mm/ksm/* would after the same number of full scans.
 *
 * Structures
 *   rmap items   one per visited page slot (rmap-items.ts): flags, oldchecksum, smart-scan age
 *                and skips, the stable node it hangs on, its unstable-tree pass number.
 *   stable tree  KSM frames ordered by content, with chains of dups when a content needs more
 *                than one frame because of max_page_sharing (stable-tree.ts).
 *   unstable tree  a red-black tree of rmap items (node id = slot) ordered by the *current*
 *                content of their pages, which nobody protects from writes: a rewritten page
 *                "corrupts" it (searches may miss, balance holds). It is emptied at the start of
 *                every pass (root = -1); its items keep their UNSTABLE flag, and count in
 *                pagesUnshared, until their own next visit (or skip, or free) removes them.
 *
 * One visit (cmp_and_merge_page), for slot s mapping frame f:
 *   1. f is a KSM frame and s is listed on its node: nothing to do. (f KSM but s not listed:
 *      s is appended, as the kernel does for a KSM page reached through a fork.)
 *   2. Otherwise s leaves whichever tree it was in: this is where a page that left its KSM
 *      frame (CoW, discard, rewrite by the last sharer) is finally un-counted (lazily).
 *   3. Checksum gate: the low 32 bits of the page hash must equal oldchecksum from the previous
 *      visit; if not, store it and stop (a new page never merges before its second visit).
 *   4. useZeroPages and checksum == the zero page's: after a byte check, map the zero frame.
 *   5. Stable tree search: a live node of equal content with room → hv.share onto its frame.
 *   6. Unstable tree search-or-insert: an equal page → hv.share (s's frame survives), the pair
 *      becomes a new stable node (or a new dup of a full content); else s joins the tree.
 * Smart scan (should_skip_rmap_item), before a visit of a non-KSM page: age++ (saturating at
 * 255); ages 0-2 are never skipped; then when no skips remain, remainingSkips = 1 (age <= 3),
 * 2 (<= 5), 4 (<= 8) or 8 and the page is visited, otherwise it is skipped (pagesSkipped, and
 * it leaves the unstable tree). Age is never reset while the item lives (as in the kernel).
 *
 * The cursor (AscendingOrder, walked by ScannerBase's batch loop) visits slots in ascending
 * order, which is guest creation order and gfn order. Like get_next_rmap_item, every item the cursor passes without visiting (its page
 * was discarded or mapped to the zero frame) is freed when the cursor passes it. Zero-mapped
 * pages are not visited at all (the kernel's walk does not return the zero page).
 *
 * Departures from the kernel, all deliberate:
 *   - Unregister and guest destruction free the range's items at once (ScannerBase calls
 *     dropSlots then); the kernel leaves them to ksmd's next pass over that mm. run=2 frees
 *     everything at once, as the kernel does, sets fullScans back to 0 (ksm_scan.seqnr = 0)
 *     and restarts the pass.
 *   - chain_prune_time runs on a simulated clock: sleepMillisecs per batch (ksmd's sleep),
 *     CPU time ignored, so runs are deterministic. The period is the knob
 *     stableNodeChainsPruneMillisecs (stable_node_chains_prune_millisecs, default 2000): 0
 *     prunes on every chain lookup, as the kernel does at 0; a value the clock never reaches
 *     never prunes. The clock is the scanner's own (batches x sleepMillisecs), not the sim
 *     driver's, so the policy needs no clock from above and a bare scanner behaves the same.
 *   - A KSM page stays a KSM page while one mapping is left; the hypervisor's last sharer
 *     writes in place (no copy), which ends the frame's KSM life just as the kernel's copy does.
 *   - No NUMA (merge_across_nodes = 1), no migration, no THP, no advisor.
 *   - Merges go through hv.shareByHandle / mapZeroByHandle with the write generations the
 *     comparer saw (the kernel's write_protect_page + replace_page re-check the PTE, not the bytes).
 *   - audit() (ksm-audit.ts) checks the trees and rmap items from scratch; the kernel has no such check.
 *   - Mitigations (mitigation.ts): under salted both trees are ordered by (salt, content) through
 *     FrameComparer (a salt-keyed forest in one order); under zero-only a visit stops after the
 *     zero check (use_zero_pages with nothing else).
 */
import { BusyError, FrameState, ZERO_PAGE, type Hypervisor } from "../../hypervisor/index.ts";
import { splitHash, xxHash3Fingerprint } from "../fingerprint.ts";
import { auditFail, ScannerBase, type ScannerParts } from "../scanner-base.ts";
import type { ResolvedScannerOptions, ScannerStats } from "../types.ts";
import type { HashAheadFilter } from "../visit-order.ts";
import { ContentRbTree, NIL } from "./content-rbtree.ts";
import { auditKsm } from "./ksm-audit.ts";
import { ITEM, type RmapItems, STABLE, UNSTABLE } from "./rmap-items.ts";
import type { StableTree } from "./stable-tree.ts";

/** sizeof(struct ksm_rmap_item) on 64-bit, for generalProfit. */
export const RMAP_ITEM_BYTES = 64;
const PAGE_SIZE = 4096;

/** skip_age: scans to skip after a visit at this age. */
export function skipAge(age: number): number {
  if (age <= 3) return 1;
  if (age <= 5) return 2;
  if (age <= 8) return 4;
  return 8;
}

/** Hash ahead (worker pool) only pages a visit would checksum: not the zero frame, not on a KSM or shared frame. */
export class KsmHashAhead implements HashAheadFilter {
  constructor(
    private readonly hv: Hypervisor,
    private readonly stable: StableTree,
  ) {}

  wouldHash(_slot: number, frame: number): boolean {
    return frame !== this.hv.zeroFrame && this.stable.nodeOfFrame(frame) < 0 && this.hv.memory.frameState[frame] !== FrameState.SHARED;
  }
}

export class KsmScanner extends ScannerBase {
  readonly policy = "ksm" as const;
  protected override visitZeroMapped = false;
  private readonly items: RmapItems;
  private readonly unstable = new ContentRbTree(0);
  /** @internal exposed for tests */ readonly stable: StableTree;
  /** pages_unshared: items in the unstable tree (+1 at insert, -1 when an item leaves it). */
  private pagesUnshared = 0;
  private readonly zeroChecksum: number;
  /** Next slot the cursor has not passed yet in this pass (items below it are settled). */
  private sweepPos = 0;

  /** `items` and `stable` are built first (the worker pool's filter reads the stable tree). */
  constructor(parts: ScannerParts, items: RmapItems, stable: StableTree) {
    super(parts);
    this.items = items;
    this.stable = stable;
    // zero_checksum = calc_checksum(ZERO_PAGE), with the same (possibly overridden) hash
    const h = { hi: 0, lo: 0 };
    splitHash((this.options.fingerprintOverride ?? xxHash3Fingerprint)(ZERO_PAGE), h);
    this.zeroChecksum = h.lo;
  }

  // ---- ScannerBase hooks ------------------------------------------------------------------------

  protected growSlots(capacity: number): void {
    this.items.grow(capacity);
    this.unstable.grow(capacity);
  }

  protected override scanBatch(pages: number): number {
    const n = super.scanBatch(pages);
    this.stable.clockMs += this.options.sleepMillisecs; // ksmd sleeps after every batch
    return n;
  }

  protected override onPassStart(): void {
    this.unstable.reset(); // root_unstable_tree = RB_ROOT
    this.sweepPos = 0;
  }

  protected override onPassEnd(): void {
    this.sweepTo(this.hv.pageTable.slotCount); // remove_trailing_rmap_items
  }

  /** get_next_rmap_item + should_skip_rmap_item. */
  protected override shouldSkip(slot: number, frame: number): boolean {
    this.sweepTo(slot);
    this.sweepPos = slot + 1;
    const items = this.items;
    if ((items.flags[slot]! & ITEM) === 0) items.alloc(slot);
    if (!this.options.smartScan) return false;
    if (this.stable.nodeOfFrame(frame) >= 0) return false; // never skip KSM pages
    const age = items.age[slot]!;
    if (age !== 255) items.age[slot] = age + 1;
    if (age < 3) return false;
    if (items.skips[slot] === 0) {
      items.skips[slot] = skipAge(age);
      return false;
    }
    items.skips[slot]!--;
    this.removeFromTree(slot);
    return true;
  }

  protected visit(slot: number, frame: number): void {
    const items = this.items;
    const stable = this.stable;
    const ksmNode = stable.nodeOfFrame(frame);
    if (ksmNode >= 0) {
      if ((items.flags[slot]! & STABLE) !== 0 && items.node[slot] === ksmNode) return;
      this.removeFromTree(slot);
      stable.append(slot, ksmNode);
      return;
    }
    const hv = this.hv;
    if (hv.memory.frameState[frame] === FrameState.SHARED) return; // not ours to merge (never expected)
    this.removeFromTree(slot);
    this.hasher.hashFrame(slot, frame);
    const checksum = this.hasher.lo;
    if (items.checksum[slot] !== checksum) {
      items.checksum[slot] = checksum;
      return;
    }
    const cmp = this.cmp;
    if (this.options.useZeroPages && checksum === this.zeroChecksum && cmp.isZero(frame)) {
      hv.mapZeroByHandle(slot, frame, cmp.genA);
      this.workCounters.merges++;
      return;
    }
    if (this.mitigation.zeroOnly) return; // mitigation zero-only: nothing but the zero page merges
    const dup = stable.search(frame); // on a match, its last compare was cmp.compare(frame, kpfn)
    if (dup >= 0) {
      const kpfn = stable.kpfn[dup]!;
      hv.shareByHandle(hv.memory.frameRmapHead[kpfn]!, kpfn, cmp.genB, slot, frame, cmp.genA);
      this.workCounters.merges++;
      stable.append(slot, dup);
      return;
    }
    const treeSlot = this.unstableSearchInsert(slot, frame); // a match: cmp.compare(frame, its frame)
    if (treeSlot < 0) return;
    // the scanned page becomes the KSM page (vusion: moved to a random free frame, mitigation.ts)
    const kpage = hv.shareByHandle(slot, frame, cmp.genA, treeSlot, hv.pageTable.slotFrame[treeSlot]!, cmp.genB, this.mitigation.relocatePick());
    this.workCounters.merges++;
    this.removeFromTree(treeSlot);
    const node = stable.insert(kpage);
    stable.append(treeSlot, node);
    stable.append(slot, node);
  }

  protected dropSlots(first: number, count: number): void {
    const flags = this.items.flags;
    const end = Math.min(first + count, flags.length);
    for (let s = first; s < end; s++) if ((flags[s]! & ITEM) !== 0) this.freeItem(s);
  }

  protected resetAll(): void {
    this.items.clearAll();
    this.stable.reset();
    this.unstable.reset();
    this.pagesUnshared = 0;
    this.sweepPos = 0;
    this.fullScanCount = 0; // ksm_scan.seqnr = 0
    this.restartPass();
  }

  protected override applyKnobs(next: ResolvedScannerOptions): void {
    if (next.maxPageSharing !== this.options.maxPageSharing) {
      if (this.stable.pagesShared > 0 || this.stable.hasLiveNodes())
        throw new BusyError(`maxPageSharing cannot change while KSM pages are shared (pagesShared ${this.stable.pagesShared})`);
      this.stable.reset(); // remove_all_stable_nodes
    }
    this.stable.maxPageSharing = next.maxPageSharing;
    this.stable.pruneMillisecs = next.stableNodeChainsPruneMillisecs;
  }

  stats(): ScannerStats {
    this.sync();
    const shared = this.stable.pagesShared;
    const sharing = this.stable.pagesSharing;
    const rmapItems = this.items.count;
    const zero = this.hv.zeroMapped;
    return {
      pagesShared: shared,
      pagesSharing: sharing,
      pagesUnshared: this.pagesUnshared,
      pagesVolatile: Math.max(0, rmapItems - shared - sharing - this.pagesUnshared),
      fullScans: this.fullScanCount,
      pagesScanned: this.pagesScanned,
      pagesSkipped: this.pagesSkipped,
      stableNodeChains: this.stable.chains,
      stableNodeDups: this.stable.dups,
      zeroPages: zero,
      generalProfit: (sharing + zero) * PAGE_SIZE - rmapItems * RMAP_ITEM_BYTES,
    };
  }

  protected auditPolicy(): void {
    // the unstable tree is emptied when a pass begins: between passes it holds the last pass's items
    const treePass = this.order.inPass ? this.fullScanCount : this.fullScanCount - 1;
    const mit = this.mitigation;
    auditKsm(this.hv, this.items, this.stable, this.unstable, this.pagesUnshared, treePass, auditFail, mit.salted ? (a, b) => mit.saltOrder(a, b) : undefined);
  }

  /** ksm_rmap_items (cold path, tests and reports). */
  rmapItemCount(): number {
    return this.items.count;
  }

  // ---- internals --------------------------------------------------------------------------------

  /** remove_rmap_item_from_tree. */
  private removeFromTree(slot: number): void {
    const items = this.items;
    const f = items.flags[slot]!;
    if ((f & STABLE) !== 0) this.stable.removeItem(slot);
    else if ((f & UNSTABLE) !== 0) {
      // only an item inserted during this pass is still linked in the (reset) tree
      if (((this.fullScanCount - items.seq[slot]!) & 0xff) === 0) this.unstable.erase(slot);
      this.pagesUnshared--;
      items.flags[slot] = f & ~UNSTABLE;
    }
  }

  private freeItem(slot: number): void {
    this.removeFromTree(slot);
    this.items.free(slot);
  }

  /** Frees the items of every slot in [sweepPos, end): pages the cursor passed without a visit. */
  private sweepTo(end: number): void {
    const flags = this.items.flags;
    const stop = Math.min(end, flags.length);
    for (let s = this.sweepPos; s < stop; s++) if ((flags[s]! & ITEM) !== 0) this.freeItem(s);
    if (end > this.sweepPos) this.sweepPos = end;
  }

  /** unstable_tree_search_insert: an equal tree page's slot, or -1 (then s may have joined). */
  private unstableSearchInsert(slot: number, frame: number): number {
    const t = this.unstable;
    const m = this.hv.memory;
    const sf = this.hv.pageTable.slotFrame;
    const zf = this.hv.zeroFrame;
    let cur = t.root;
    let parent = NIL;
    let asLeft = false;
    while (cur !== NIL) {
      this.workCounters.lookups++;
      const tf = sf[cur]!;
      if (tf < 0 || tf === zf) return -1; // get_mergeable_page failed: no merge, no insert
      if (tf === frame) return -1;
      const r = this.cmp.compare(frame, tf);
      parent = cur;
      if (r < 0) {
        asLeft = true;
        cur = t.left[cur]!;
      } else if (r > 0) {
        asLeft = false;
        cur = t.right[cur]!;
      } else {
        return m.frameState[tf] === FrameState.SHARED ? -1 : cur;
      }
    }
    t.link(slot, parent, asLeft);
    t.insertColor(slot);
    this.items.flags[slot] = this.items.flags[slot]! | UNSTABLE;
    this.items.seq[slot] = this.fullScanCount & 0xff;
    this.pagesUnshared++;
    return -1;
  }
}
