/**
 * The KSM policy's rmap_items (mm/ksm.c struct ksm_rmap_item), one per page slot, as
 * struct-of-arrays over typed arrays:
 *   flags[s]     ITEM (the item exists) | UNSTABLE (a node of the unstable tree) | STABLE
 *                (listed on a stable node)
 *   seq[s]       low 8 bits of the pass number the item entered the unstable tree in (SEQNR_MASK)
 *   checksum[s]  oldchecksum: low 32 bits of the page's hash at its previous visit
 *   age[s], skips[s]   smart scan: visits of a non-KSM page (saturating u8), scans left to skip
 *   node[s]      the stable node (a "dup" or regular node) the item hangs on, when STABLE
 *   next/prev[s] the item's links in that node's list (the kernel's hlist), -1 = none
 * The unstable tree's links are kept by the tree itself (ContentRbTree indexed by slot).
 * `count` is ksm_rmap_items. An item is created zeroed (like kmem_cache_zalloc): a page whose
 * checksum happens to be 0 therefore passes the checksum gate at its first visit, as in Linux.
 */
export const ITEM = 1;
export const UNSTABLE = 2;
export const STABLE = 4;

export class RmapItems {
  flags = new Uint8Array(0);
  seq = new Uint8Array(0);
  checksum = new Uint32Array(0);
  age = new Uint8Array(0);
  skips = new Uint8Array(0);
  node = new Int32Array(0);
  next = new Int32Array(0);
  prev = new Int32Array(0);
  /** ksm_rmap_items: +1 per alloc, -1 per free, 0 at clearAll (read-only outside: `count`). */
  private nItems = 0;

  get count(): number {
    return this.nItems;
  }

  grow(capacity: number): void {
    if (capacity <= this.flags.length) return;
    this.flags = growU8(this.flags, capacity);
    this.seq = growU8(this.seq, capacity);
    this.age = growU8(this.age, capacity);
    this.skips = growU8(this.skips, capacity);
    const c = new Uint32Array(capacity);
    c.set(this.checksum);
    this.checksum = c;
    this.node = growI32(this.node, capacity);
    this.next = growI32(this.next, capacity);
    this.prev = growI32(this.prev, capacity);
  }

  /** alloc_rmap_item: a zeroed item for slot s. */
  alloc(s: number): void {
    this.flags[s] = ITEM;
    this.seq[s] = 0;
    this.checksum[s] = 0;
    this.age[s] = 0;
    this.skips[s] = 0;
    this.node[s] = -1;
    this.next[s] = -1;
    this.prev[s] = -1;
    this.nItems++;
  }

  /** free_rmap_item (the caller has taken it out of both trees). */
  free(s: number): void {
    this.flags[s] = 0;
    this.nItems--;
  }

  clearAll(): void {
    this.flags.fill(0);
    this.nItems = 0;
  }
}

function growU8(a: Uint8Array, cap: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(cap);
  b.set(a);
  return b;
}

function growI32(a: Int32Array, cap: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap).fill(-1);
  b.set(a);
  return b;
}
