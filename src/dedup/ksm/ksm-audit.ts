/**
 * scanner.audit() for the KSM policy: re-derives from scratch what the trees, the chains and
 * the rmap items must agree on, and reports the first broken invariant:
 *   - both trees keep the red-black invariants and their links (ContentRbTree.check);
 *   - the stable tree is ordered: the live nodes (a chain through its first live dup), in tree
 *     order, hold strictly increasing page contents (stale nodes may be anywhere: the kernel
 *     drops them lazily, and so do we);
 *   - every node reachable from the tree (regular nodes, chains, the dups in each chain) is
 *     consistent: a dup points back at its chain, dup and item lists have matching back links,
 *     each listed item is STABLE and names the node, len equals the list's length;
 *   - the counters: pagesShared = nodes with a non-empty list, pagesSharing = the items beyond
 *     each list's first, chains and dups = the chains in the tree and the dups in them; no
 *     allocated node is unreachable (liveNodeCount); every STABLE item is on a list;
 *   - the unstable tree holds only items inserted during its pass (the current one, or between
 *     passes the last one), UNSTABLE and counted;
 *     pagesUnshared = the items flagged UNSTABLE; ksm_rmap_items = the items allocated.
 */
import type { Hypervisor } from "../../hypervisor/index.ts";
import { NIL, type ContentRbTree } from "./content-rbtree.ts";
import { ITEM, STABLE, UNSTABLE, type RmapItems } from "./rmap-items.ts";
import { STABLE_NODE_CHAIN, type StableTree } from "./stable-tree.ts";

type Fail = (msg: string) => never;

function rbCheck(name: string, t: ContentRbTree, fail: Fail): void {
  try {
    t.check();
  } catch (e) {
    fail(`${name} tree: ${(e as Error).message}`);
  }
}

/** `saltOrder`: under the salted mitigation the stable tree is ordered by (salt, content); the salt part. */
export function auditKsm(
  hv: Hypervisor, items: RmapItems, stable: StableTree, unstable: ContentRbTree, pagesUnshared: number, pass: number, fail: Fail,
  saltOrder?: (a: number, b: number) => number,
): void {
  auditItems(items, unstable, pagesUnshared, pass, fail);
  const listed = auditStable(hv, items, stable, fail, saltOrder);
  let stableItems = 0;
  for (let s = 0; s < items.flags.length; s++) if ((items.flags[s]! & STABLE) !== 0) stableItems++;
  if (stableItems !== listed) fail(`${stableItems} rmap items are flagged STABLE but stable nodes list ${listed}`);
}

function auditItems(items: RmapItems, unstable: ContentRbTree, pagesUnshared: number, pass: number, fail: Fail): void {
  let count = 0;
  let unshared = 0;
  for (let s = 0; s < items.flags.length; s++) {
    const f = items.flags[s]!;
    if (f === 0) continue;
    if ((f & ITEM) === 0) fail(`slot ${s}: flags ${f} without ITEM`);
    if ((f & STABLE) !== 0 && (f & UNSTABLE) !== 0) fail(`rmap item ${s} is in both trees`);
    count++;
    if ((f & UNSTABLE) !== 0) unshared++;
  }
  if (count !== items.count) fail(`ksm_rmap_items is ${items.count}, recounted ${count}`);
  if (unshared !== pagesUnshared) fail(`pages_unshared is ${pagesUnshared}, ${unshared} items are flagged UNSTABLE`);
  rbCheck("unstable", unstable, fail);
  for (const s of unstable.toArray()) {
    if ((items.flags[s]! & UNSTABLE) === 0) fail(`unstable tree holds slot ${s}, which is not flagged UNSTABLE`);
    if (items.seq[s] !== (pass & 0xff)) fail(`unstable tree holds slot ${s}, inserted in pass ${items.seq[s]}, not this pass`);
  }
}

/** Checks the stable tree; returns the number of items listed on its nodes. */
function auditStable(hv: Hypervisor, items: RmapItems, st: StableTree, fail: Fail, saltOrder?: (a: number, b: number) => number): number {
  rbCheck("stable", st.tree, fail);
  let shared = 0;
  let sharing = 0;
  let chains = 0;
  let dups = 0;
  let regular = 0;
  let listed = 0;
  let prevFrame = -1;
  const node = (n: number): void => {
    regular++;
    if (st.kpfn[n]! < 0) fail(`stable node ${n} has no KSM frame`);
    let len = 0;
    let prev = -1;
    for (let s = st.head[n]!; s !== -1; s = items.next[s]!) {
      if (items.prev[s] !== prev) fail(`stable node ${n}: item ${s} has back link ${items.prev[s]}, expected ${prev}`);
      if ((items.flags[s]! & STABLE) === 0 || items.node[s] !== n) fail(`stable node ${n} lists item ${s}, which is not STABLE on it`);
      prev = s;
      if (++len > st.len[n]!) fail(`stable node ${n}: list longer than rmap_hlist_len ${st.len[n]}`);
    }
    if (len !== st.len[n]) fail(`stable node ${n}: rmap_hlist_len ${st.len[n]}, ${len} items listed`);
    listed += len;
    if (len > 0) {
      shared++;
      sharing += len - 1;
    }
  };
  for (const n of st.tree.toArray()) {
    let rep = -1; // the frame this tree position compares by, when live
    if (st.len[n] === STABLE_NODE_CHAIN) {
      chains++;
      if (st.chainOf[n] !== -1) fail(`chain ${n} is itself a dup`);
      let prev = -1;
      for (let d = st.head[n]!; d !== -1; d = st.dupNext[d]!) {
        if (st.chainOf[d] !== n) fail(`dup ${d} of chain ${n} points at chain ${st.chainOf[d]}`);
        if (st.dupPrev[d] !== prev) fail(`dup ${d} of chain ${n} has back link ${st.dupPrev[d]}, expected ${prev}`);
        if (st.len[d] === STABLE_NODE_CHAIN) fail(`chain ${n} holds chain ${d} as a dup`);
        prev = d;
        dups++;
        node(d);
        if (rep < 0 && st.isLive(d)) rep = st.kpfn[d]!;
      }
    } else {
      if (st.chainOf[n] !== -1) fail(`stable node ${n} is in the tree and in chain ${st.chainOf[n]}`);
      node(n);
      if (st.isLive(n)) rep = st.kpfn[n]!;
    }
    if (rep < 0) continue;
    if (prevFrame >= 0 && ((saltOrder && saltOrder(prevFrame, rep)) || hv.memory.compareFrames(prevFrame, rep)) >= 0)
      fail(`stable tree out of order: frame ${prevFrame} does not sort before frame ${rep} (node ${n})`);
    prevFrame = rep;
  }
  if (shared !== st.pagesShared) fail(`pages_shared is ${st.pagesShared}, ${shared} nodes list items`);
  if (sharing !== st.pagesSharing) fail(`pages_sharing is ${st.pagesSharing}, recounted ${sharing}`);
  if (chains !== st.chains) fail(`stable_node_chains is ${st.chains}, ${chains} chains in the tree`);
  if (dups !== st.dups) fail(`stable_node_dups is ${st.dups}, ${dups} dups in the chains`);
  if (regular !== st.liveNodeCount()) fail(`${st.liveNodeCount()} stable nodes allocated, ${regular} reachable from the tree`);
  return listed;
}
