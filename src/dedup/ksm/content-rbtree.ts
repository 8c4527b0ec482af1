/**
 * A red-black tree over integer node ids, kept in typed arrays (no object per node), with the
 * interface of Linux's lib/rbtree.c: the caller walks the tree itself (comparing page contents,
 * as mm/ksm.c does with memcmp_pages), then links the new node where the walk fell off
 * (rb_link_node) and rebalances (rb_insert_color). rb_erase and rb_replace_node complete it.
 *
 * Structures (struct-of-arrays, indexed by node id; -1 is the nil pointer):
 *   left[n], right[n], parent[n]   the links
 *   red[n]                          1 red, 0 black (nil counts as black)
 *   root                            the root node, -1 when empty
 * The tree never looks at keys: balancing depends on colours only. That is what lets KSM keep
 * an unstable tree whose pages change under it: a "corrupted" tree (keys no longer in order)
 * stays balanced, searches in it may simply miss. reset() empties the tree in O(1) (the
 * kernel's `root = RB_ROOT`); stale links in the arrays are overwritten when a node is linked.
 *
 * Insert: a red leaf, then the classic fix-up (uncle red: recolour and go up; else one or two
 * rotations). Erase: a node with two children is replaced by its in-order successor, which
 * takes its place and colour; if a black node left its spot, the double-black fix-up runs on
 * the spot's parent (sibling red → rotate; sibling's children black → recolour and go up;
 * otherwise one or two rotations). These are the cases of lib/rbtree.c (__rb_insert,
 * __rb_erase_augmented, ____rb_erase_color), so shapes match the kernel's for the same
 * operation sequence.
 */

export const NIL = -1;

export class ContentRbTree {
  root = NIL;
  left: Int32Array;
  right: Int32Array;
  parent: Int32Array;
  red: Uint8Array;

  constructor(capacity = 16) {
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.red = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.left.length;
  }

  /** Grows the per-node arrays to at least `capacity` node ids (links are kept). */
  grow(capacity: number): void {
    if (capacity <= this.left.length) return;
    const l = new Int32Array(capacity);
    const r = new Int32Array(capacity);
    const p = new Int32Array(capacity);
    const c = new Uint8Array(capacity);
    l.set(this.left);
    r.set(this.right);
    p.set(this.parent);
    c.set(this.red);
    this.left = l;
    this.right = r;
    this.parent = p;
    this.red = c;
  }

  /** Forgets every node (RB_ROOT). */
  reset(): void {
    this.root = NIL;
  }

  /** rb_link_node: attaches `node` as a red leaf under `parentNode` (left or right); -1 = root. */
  link(node: number, parentNode: number, asLeft: boolean): void {
    this.left[node] = NIL;
    this.right[node] = NIL;
    this.parent[node] = parentNode;
    this.red[node] = 1;
    if (parentNode === NIL) this.root = node;
    else if (asLeft) this.left[parentNode] = node;
    else this.right[parentNode] = node;
  }

  /** rb_insert_color: restores the red-black properties after link(). */
  insertColor(node: number): void {
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const red = this.red;
    let n = node;
    for (;;) {
      const p = parent[n]!;
      if (p === NIL) {
        red[n] = 0; // the root is black
        return;
      }
      if (red[p] === 0) return;
      const gp = parent[p]!; // a red parent is never the root
      const uncle = left[gp] === p ? right[gp]! : left[gp]!;
      if (uncle !== NIL && red[uncle] === 1) {
        red[p] = 0;
        red[uncle] = 0;
        red[gp] = 1;
        n = gp;
        continue;
      }
      if (left[gp] === p) {
        if (right[p] === n) {
          this.rotateLeft(p);
          n = p;
        }
        const q = parent[n]!;
        red[q] = 0;
        red[gp] = 1;
        this.rotateRight(gp);
      } else {
        if (left[p] === n) {
          this.rotateRight(p);
          n = p;
        }
        const q = parent[n]!;
        red[q] = 0;
        red[gp] = 1;
        this.rotateLeft(gp);
      }
      return;
    }
  }

  /** rb_erase: removes `node` from the tree and rebalances. */
  erase(node: number): void {
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const red = this.red;
    let child: number; // the node that moves into the vacated spot (may be nil)
    let childParent: number; // its parent after the removal
    let removedBlack: boolean;
    if (left[node] === NIL || right[node] === NIL) {
      child = left[node] === NIL ? right[node]! : left[node]!;
      childParent = parent[node]!;
      removedBlack = red[node] === 0;
      this.transplant(node, child);
    } else {
      let succ = right[node]!;
      while (left[succ] !== NIL) succ = left[succ]!;
      removedBlack = red[succ] === 0;
      child = right[succ]!;
      if (parent[succ] === node) {
        childParent = succ;
      } else {
        childParent = parent[succ]!;
        this.transplant(succ, child);
        right[succ] = right[node]!;
        parent[right[succ]!] = succ;
      }
      this.transplant(node, succ);
      left[succ] = left[node]!;
      parent[left[succ]!] = succ;
      red[succ] = red[node]!;
    }
    if (!removedBlack) return;
    if (child !== NIL && red[child] === 1) {
      red[child] = 0;
      return;
    }
    this.eraseColor(child, childParent);
  }

  /** rb_replace_node: `node` takes `victim`'s place, links and colour (victim leaves the tree). */
  replace(victim: number, node: number): void {
    const p = this.parent[victim]!;
    const l = this.left[victim]!;
    const r = this.right[victim]!;
    this.left[node] = l;
    this.right[node] = r;
    this.parent[node] = p;
    this.red[node] = this.red[victim]!;
    if (l !== NIL) this.parent[l] = node;
    if (r !== NIL) this.parent[r] = node;
    if (p === NIL) this.root = node;
    else if (this.left[p] === victim) this.left[p] = node;
    else this.right[p] = node;
  }

  /** Smallest node in tree order (rb_first), -1 when empty. */
  first(): number {
    let n = this.root;
    if (n === NIL) return NIL;
    while (this.left[n] !== NIL) n = this.left[n]!;
    return n;
  }

  /** In-order successor (rb_next), -1 after the last. */
  next(node: number): number {
    let n = this.right[node]!;
    if (n !== NIL) {
      while (this.left[n] !== NIL) n = this.left[n]!;
      return n;
    }
    n = node;
    let p = this.parent[n]!;
    while (p !== NIL && this.right[p] === n) {
      n = p;
      p = this.parent[p]!;
    }
    return p;
  }

  /** Nodes in tree order (cold path: tests and audits). */
  toArray(): number[] {
    const out: number[] = [];
    for (let n = this.first(); n !== NIL; n = this.next(n)) out.push(n);
    return out;
  }

  /**
   * Checks the red-black invariants and the links (cold path, for tests): root black, no red
   * node with a red child, equal black height on every path, parent links consistent, and, if
   * `compare` is given, strict in-order ordering. Returns the black height; throws on a violation.
   */
  check(compare?: (a: number, b: number) => number): number {
    if (this.root === NIL) return 0;
    if (this.parent[this.root] !== NIL) throw new Error(`root ${this.root} has a parent`);
    if (this.red[this.root] === 1) throw new Error(`root ${this.root} is red`);
    const height = (n: number): number => {
      if (n === NIL) return 1;
      const l = this.left[n]!;
      const r = this.right[n]!;
      if (l !== NIL && this.parent[l] !== n) throw new Error(`node ${l}: parent link broken`);
      if (r !== NIL && this.parent[r] !== n) throw new Error(`node ${r}: parent link broken`);
      if (this.red[n] === 1 && ((l !== NIL && this.red[l] === 1) || (r !== NIL && this.red[r] === 1)))
        throw new Error(`red node ${n} has a red child`);
      const hl = height(l);
      const hr = height(r);
      if (hl !== hr) throw new Error(`node ${n}: black heights differ (${hl} vs ${hr})`);
      return hl + (this.red[n] === 1 ? 0 : 1);
    };
    const h = height(this.root);
    if (compare) {
      const order = this.toArray();
      for (let i = 1; i < order.length; i++)
        if (compare(order[i - 1]!, order[i]!) >= 0) throw new Error(`nodes ${order[i - 1]} and ${order[i]} out of order`);
    }
    return h;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Puts `b` (may be nil) where `a` hangs from a's parent. */
  private transplant(a: number, b: number): void {
    const p = this.parent[a]!;
    if (p === NIL) this.root = b;
    else if (this.left[p] === a) this.left[p] = b;
    else this.right[p] = b;
    if (b !== NIL) this.parent[b] = p;
  }

  private rotateLeft(x: number): void {
    const y = this.right[x]!;
    const yl = this.left[y]!;
    this.right[x] = yl;
    if (yl !== NIL) this.parent[yl] = x;
    this.transplant(x, y);
    this.left[y] = x;
    this.parent[x] = y;
  }

  private rotateRight(x: number): void {
    const y = this.left[x]!;
    const yr = this.right[y]!;
    this.left[x] = yr;
    if (yr !== NIL) this.parent[yr] = x;
    this.transplant(x, y);
    this.right[y] = x;
    this.parent[x] = y;
  }

  private isBlack(n: number): boolean {
    return n === NIL || this.red[n] === 0;
  }

  /** Double-black fix-up at `n` (may be nil) whose parent is `p`. */
  private eraseColor(node: number, parentNode: number): void {
    const left = this.left;
    const right = this.right;
    const red = this.red;
    let n = node;
    let p = parentNode;
    while (p !== NIL && (n === NIL || red[n] === 0)) {
      if (left[p] === n) {
        let s = right[p]!;
        if (red[s] === 1) {
          red[s] = 0;
          red[p] = 1;
          this.rotateLeft(p);
          s = right[p]!;
        }
        if (this.isBlack(left[s]!) && this.isBlack(right[s]!)) {
          red[s] = 1;
          n = p;
          p = this.parent[n]!;
          continue;
        }
        if (this.isBlack(right[s]!)) {
          red[left[s]!] = 0;
          red[s] = 1;
          this.rotateRight(s);
          s = right[p]!;
        }
        red[s] = red[p]!;
        red[p] = 0;
        red[right[s]!] = 0;
        this.rotateLeft(p);
        n = this.root;
        break;
      } else {
        let s = left[p]!;
        if (red[s] === 1) {
          red[s] = 0;
          red[p] = 1;
          this.rotateRight(p);
          s = left[p]!;
        }
        if (this.isBlack(left[s]!) && this.isBlack(right[s]!)) {
          red[s] = 1;
          n = p;
          p = this.parent[n]!;
          continue;
        }
        if (this.isBlack(left[s]!)) {
          red[right[s]!] = 0;
          red[s] = 1;
          this.rotateLeft(s);
          s = left[p]!;
        }
        red[s] = red[p]!;
        red[p] = 0;
        red[left[s]!] = 0;
        this.rotateRight(p);
        n = this.root;
        break;
      }
    }
    if (n !== NIL) red[n] = 0;
  }
}
