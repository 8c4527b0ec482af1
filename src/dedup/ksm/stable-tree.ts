/**
 * The KSM stable tree (mm/ksm.c: stable_tree_search, stable_tree_insert, stable_tree_append,
 * the stable_node chains and dups, ksm_get_folio's "keyhole" staleness test).
 *
 * Nodes (ids from a pool; struct-of-arrays):
 *   kpfn[n]   the KSM frame;  gen[n]  that frame's write generation when the node was made
 *   len[n]    rmap_hlist_len: items listed on the node; CHAIN (-1024) marks a chain
 *   head[n]   first item slot on the node's list, or, for a chain, its first dup
 *   dupNext/dupPrev[n]  a dup's links in its chain's list; chainOf[n] its chain (-1: not a dup)
 *   pruneTime[n]  a chain's chain_prune_time (simulated milliseconds)
 * Regular nodes and chains are the nodes of a red-black tree ordered by page content (memcmp of
 * the node's frame; a chain compares through one of its dups). A chain is made when a content
 * needs a second KSM frame because the first is full (max_page_sharing mappings): the node
 * moves off the tree into the chain's list ("dups") and the chain takes its place.
 *
 * Keyhole: frameNode[f] names the node that owns frame f. A node is live (ksm_get_folio
 * succeeds) while its frame is still SHARED, still owned by it and not rewritten since
 * (frame, gen). A stale node is removed where the kernel notices it: on a tree walk
 * (then the walk restarts), in a chain's dup scan, or when an item listed on it is removed;
 * removing it un-lists all its items at once (remove_node_from_stable_tree).
 *
 * Counters, exactly where the kernel changes them: an item appended to an empty node counts in
 * pagesShared, any further one in pagesSharing; removal reverses that by the list's emptiness.
 * stableNodeChains / stableNodeDups count chains and the dups listed in them.
 */
import { FrameState, type Hypervisor } from "../../hypervisor/index.ts";
import type { ScannerWork } from "../types.ts";
import { ContentRbTree, NIL } from "./content-rbtree.ts";
import type { FrameComparer } from "../frame-comparer.ts";
import { STABLE, type RmapItems } from "./rmap-items.ts";

export const STABLE_NODE_CHAIN = -1024;
/** stable_node_chains_prune_millisecs' default (the knob is ScannerOptions.stableNodeChainsPruneMillisecs). */
export const CHAIN_PRUNE_MILLISECS = 2000;

export class StableTree {
  readonly tree = new ContentRbTree(64);
  kpfn = new Int32Array(64);
  gen = new Uint32Array(64);
  len = new Int32Array(64);
  head = new Int32Array(64);
  dupNext = new Int32Array(64);
  dupPrev = new Int32Array(64);
  chainOf = new Int32Array(64);
  pruneTime = new Float64Array(64);
  private freeIds: number[] = [];
  private nextId = 0;
  readonly frameNode: Int32Array;
  // Live counters (read by KsmScanner.stats(); written only here, where the kernel changes them).
  /** ksm_pages_shared: +1 when an item is appended to a node with an empty list, -1 when a
   * node's last item is removed (removeItem, or removeNode un-listing a stale node). */
  pagesShared = 0;
  /** ksm_pages_sharing: +1 per item appended to a node that already lists one, -1 per such item removed. */
  pagesSharing = 0;
  /** ksm_stable_node_chains: +1 when a chain is made (makeChain), -1 when one is freed or collapses to its one dup. */
  chains = 0;
  /** ksm_stable_node_dups: +1 per dup added to a chain, -1 per dup that leaves one (removed, or the last one when its chain collapses into it). */
  dups = 0;
  /** max_page_sharing (the scanner's knob, copied here). */
  maxPageSharing = 256;
  /** stable_node_chains_prune_millisecs: a chain lookup checks every dup once this long after the last full check. */
  pruneMillisecs = CHAIN_PRUNE_MILLISECS;
  /** Simulated time in ms (the scanner advances it by sleep_millisecs per batch). */
  clockMs = 0;
  /** Set by chainLookup: the tree node the walk is at (a chain, or the dup it collapsed to). */
  private walkNode = NIL;

  constructor(
    private readonly hv: Hypervisor,
    private readonly items: RmapItems,
    private readonly cmp: FrameComparer,
    private readonly work: ScannerWork,
  ) {
    this.frameNode = new Int32Array(hv.memory.frames + 1).fill(-1);
  }

  // ---- nodes --------------------------------------------------------------------------------

  private allocNode(): number {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.nextId++;
    if (id >= this.kpfn.length) this.growNodes(this.kpfn.length * 2);
    this.kpfn[id] = -1;
    this.len[id] = 0;
    this.head[id] = -1;
    this.dupNext[id] = -1;
    this.dupPrev[id] = -1;
    this.chainOf[id] = -1;
    return id;
  }

  private freeNode(n: number): void {
    const f = this.kpfn[n]!;
    if (f >= 0 && this.frameNode[f] === n) this.frameNode[f] = -1;
    this.kpfn[n] = -1;
    this.freeIds.push(n);
  }

  private growNodes(cap: number): void {
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.kpfn = i32(this.kpfn);
    this.len = i32(this.len);
    this.head = i32(this.head);
    this.dupNext = i32(this.dupNext);
    this.dupPrev = i32(this.dupPrev);
    this.chainOf = i32(this.chainOf);
    const g = new Uint32Array(cap);
    g.set(this.gen);
    this.gen = g;
    const t = new Float64Array(cap);
    t.set(this.pruneTime);
    this.pruneTime = t;
    this.tree.grow(cap);
  }

  /** ksm_get_folio without side effects: is node n's KSM frame still its own? */
  isLive(n: number): boolean {
    const f = this.kpfn[n]!;
    const m = this.hv.memory;
    return f >= 0 && this.frameNode[f] === n && m.frameState[f] === FrameState.SHARED && m.frameWriteGen[f] === this.gen[n];
  }

  /** page_stable_node: the live node whose KSM frame is f, or -1 (f is not a KSM page). */
  nodeOfFrame(f: number): number {
    const n = this.frameNode[f]!;
    return n >= 0 && this.isLive(n) ? n : -1;
  }

  /** ksm_get_folio: true when live; a stale node is removed from the tree (or its chain). */
  private getFolio(n: number): boolean {
    if (this.isLive(n)) return true;
    this.removeNode(n);
    return false;
  }

  /** __is_page_sharing_candidate(n, offset). */
  isCandidate(n: number, offset = 0): boolean {
    const l = this.len[n]!;
    return l !== 0 && l + offset < this.maxPageSharing;
  }

  /** remove_node_from_stable_tree: un-lists every item, then drops the node. */
  private removeNode(n: number): void {
    const items = this.items;
    for (let s = this.head[n]!; s !== -1; ) {
      const next = items.next[s]!;
      if (next !== -1) this.pagesSharing--;
      else this.pagesShared--;
      items.flags[s] = items.flags[s]! & ~STABLE;
      items.node[s] = -1;
      s = next;
    }
    this.head[n] = -1;
    this.len[n] = 0;
    if (this.chainOf[n] >= 0) this.dupDel(n);
    else this.tree.erase(n);
    this.freeNode(n);
  }

  // ---- items --------------------------------------------------------------------------------

  /** stable_tree_append. */
  append(s: number, n: number): void {
    const items = this.items;
    const first = this.head[n]!;
    this.len[n]!++;
    items.node[s] = n;
    items.flags[s] = items.flags[s]! | STABLE;
    items.prev[s] = -1;
    items.next[s] = first;
    if (first !== -1) items.prev[first] = s;
    this.head[n] = s;
    if (first !== -1) this.pagesSharing++;
    else this.pagesShared++;
  }

  /** The STABLE half of remove_rmap_item_from_tree. */
  removeItem(s: number): void {
    const items = this.items;
    const n = items.node[s]!;
    if (!this.getFolio(n)) return; // the whole stale node went, this item with it
    const prev = items.prev[s]!;
    const next = items.next[s]!;
    if (prev !== -1) items.next[prev] = next;
    else this.head[n] = next;
    if (next !== -1) items.prev[next] = prev;
    if (this.head[n] !== -1) this.pagesSharing--;
    else this.pagesShared--;
    this.len[n]!--;
    items.flags[s] = items.flags[s]! & ~STABLE;
    items.node[s] = -1;
  }

  // ---- chains and dups ----------------------------------------------------------------------

  private addDup(dup: number, chain: number): void {
    const first = this.head[chain]!;
    this.chainOf[dup] = chain;
    this.dupPrev[dup] = -1;
    this.dupNext[dup] = first;
    if (first !== -1) this.dupPrev[first] = dup;
    this.head[chain] = dup;
    this.dups++;
  }

  private unlinkDup(dup: number): void {
    const chain = this.chainOf[dup]!;
    const prev = this.dupPrev[dup]!;
    const next = this.dupNext[dup]!;
    if (prev !== -1) this.dupNext[prev] = next;
    else this.head[chain] = next;
    if (next !== -1) this.dupPrev[next] = prev;
    this.chainOf[dup] = -1;
  }

  private dupDel(dup: number): void {
    this.unlinkDup(dup);
    this.dups--;
  }

  /** alloc_stable_node_chain: the chain takes `dup`'s place in the tree, dup moves into it. */
  private makeChain(dup: number): number {
    const chain = this.allocNode();
    this.len[chain] = STABLE_NODE_CHAIN;
    this.pruneTime[chain] = this.clockMs;
    this.chains++;
    this.tree.replace(dup, chain);
    this.addDup(dup, chain);
    return chain;
  }

  /**
   * stable_node_dup: picks the dup of `chain` to merge into (the first sharing candidate, or
   * with pruning due, the fullest candidate after checking every dup), drops stale dups,
   * collapses a chain left with one dup, frees an empty one. Returns the dup or -1 (then the
   * chain is gone); walkNode is the tree node now in the chain's place.
   */
  private chainDup(chain: number, prune: boolean): number {
    if (prune && this.clockMs >= this.pruneTime[chain]! + this.pruneMillisecs) this.pruneTime[chain] = this.clockMs;
    else prune = false;
    let found = -1;
    let foundLen = 0;
    for (let d = this.head[chain]!; d !== -1; ) {
      const next = this.dupNext[d]!;
      if (this.getFolio(d)) {
        if (found < 0 || (this.isCandidate(d) && (!this.isCandidate(found) || this.len[d]! > foundLen))) {
          found = d;
          foundLen = this.len[d]!;
          if (!prune && this.isCandidate(found)) break;
        }
      }
      d = next;
    }
    if (found < 0) {
      this.tree.erase(chain); // free_stable_node_chain
      this.freeNode(chain);
      this.chains--;
      this.walkNode = NIL;
      return -1;
    }
    if (this.head[chain] === found && this.dupNext[found] === -1) {
      this.unlinkDup(found); // the only dup: drop the chain
      this.tree.replace(chain, found);
      this.freeNode(chain);
      this.chains--;
      this.dups--;
      this.walkNode = found;
    } else {
      this.walkNode = chain;
      if (this.head[chain] !== found && this.isCandidate(found, 1)) {
        this.unlinkDup(found);
        this.chainOf[found] = chain;
        const first = this.head[chain]!;
        this.dupPrev[found] = -1;
        this.dupNext[found] = first;
        this.dupPrev[first] = found;
        this.head[chain] = found;
      }
    }
    return found;
  }

  /** __stable_node_chain: the node (or chosen dup) to compare with; -1 when it was stale. */
  private chainLookup(n: number, prune: boolean): number {
    if (this.len[n] !== STABLE_NODE_CHAIN) {
      this.walkNode = n;
      return this.getFolio(n) ? n : -1;
    }
    return this.chainDup(n, prune);
  }

  // ---- search and insert --------------------------------------------------------------------

  /** stable_tree_search for a non-KSM page: a live node with room for frame f's content, or -1. */
  search(f: number): number {
    const tree = this.tree;
    restart: for (;;) {
      let cur = tree.root;
      while (cur !== NIL) {
        this.work.lookups++;
        const dup = this.chainLookup(cur, true);
        if (dup < 0) continue restart; // a stale node left: the tree may have been rebalanced
        const node = this.walkNode;
        const r = this.cmp.compare(f, this.kpfn[dup]!);
        if (r < 0) cur = tree.left[node]!;
        else if (r > 0) cur = tree.right[node]!;
        else return this.isCandidate(dup) ? dup : -1; // all dups full: wait for an unstable match
      }
      return -1;
    }
  }

  /** stable_tree_insert: a new node for KSM frame f (a dup in a chain when the content exists). */
  insert(f: number): number {
    const tree = this.tree;
    let parent = NIL;
    let asLeft = false;
    let equal = NIL;
    restart: for (;;) {
      parent = NIL;
      equal = NIL;
      let cur = tree.root;
      while (cur !== NIL) {
        this.work.lookups++;
        const dup = this.chainLookup(cur, false);
        if (dup < 0) continue restart;
        const node = this.walkNode;
        const r = this.cmp.compare(f, this.kpfn[dup]!);
        parent = node;
        if (r < 0) {
          asLeft = true;
          cur = tree.left[node]!;
        } else if (r > 0) {
          asLeft = false;
          cur = tree.right[node]!;
        } else {
          equal = node;
          break;
        }
      }
      break;
    }
    const n = this.allocNode();
    this.kpfn[n] = f;
    this.gen[n] = this.hv.memory.frameWriteGen[f]!;
    this.frameNode[f] = n;
    if (equal === NIL) {
      tree.link(n, parent, asLeft);
      tree.insertColor(n);
    } else {
      const chain = this.len[equal] === STABLE_NODE_CHAIN ? equal : this.makeChain(equal);
      this.addDup(n, chain);
    }
    return n;
  }

  // ---- whole-tree operations ----------------------------------------------------------------

  /** True when some node still owns a live KSM frame (remove_all_stable_nodes would be EBUSY). */
  hasLiveNodes(): boolean {
    for (let n = 0; n < this.nextId; n++) if (this.kpfn[n]! >= 0 && this.len[n] !== STABLE_NODE_CHAIN && this.isLive(n)) return true;
    return false;
  }

  /** Forgets every node (remove_all_stable_nodes once no item is listed, or run=2). */
  reset(): void {
    for (let n = 0; n < this.nextId; n++) {
      const f = this.kpfn[n]!;
      if (f >= 0 && this.frameNode[f] === n) this.frameNode[f] = -1;
    }
    this.tree.reset();
    this.freeIds = [];
    this.nextId = 0;
    this.pagesShared = 0;
    this.pagesSharing = 0;
    this.chains = 0;
    this.dups = 0;
  }

  /** Nodes in the tree plus dups in chains (cold path, tests). */
  liveNodeCount(): number {
    let c = 0;
    for (let n = 0; n < this.nextId; n++) if (this.kpfn[n]! >= 0 && this.len[n] !== STABLE_NODE_CHAIN) c++;
    return c;
  }
}
