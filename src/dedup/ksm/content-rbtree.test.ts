import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ContentRbTree, NIL } from "./content-rbtree.ts";

/** Inserts node `n` by walking with keys[] (what KSM does with page contents). */
function insert(t: ContentRbTree, keys: number[], n: number): void {
  let cur = t.root;
  let parent = NIL;
  let asLeft = false;
  while (cur !== NIL) {
    parent = cur;
    asLeft = keys[n]! < keys[cur]!;
    cur = asLeft ? t.left[cur]! : t.right[cur]!;
  }
  t.link(n, parent, asLeft);
  t.insertColor(n);
}

function search(t: ContentRbTree, keys: number[], key: number): number {
  let cur = t.root;
  while (cur !== NIL) {
    if (key === keys[cur]) return cur;
    cur = key < keys[cur]! ? t.left[cur]! : t.right[cur]!;
  }
  return NIL;
}

describe("ContentRbTree", () => {
  test("ascending inserts stay balanced: 1023 nodes have black height <= 10 and depth <= 20", () => {
    const n = 1023;
    const t = new ContentRbTree(n);
    const keys = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n; i++) insert(t, keys, i);
    const bh = t.check((a, b) => keys[a]! - keys[b]!);
    expect(bh).toBeLessThanOrEqual(10);
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let c = i; c !== NIL; c = t.parent[c]!) d++;
      maxDepth = Math.max(maxDepth, d);
    }
    expect(maxDepth).toBeLessThanOrEqual(20);
    expect(t.toArray()).toEqual(keys);
  });

  test("the classic 3-node insert rotates: 1,2,3 gives root 2 (black) with red children", () => {
    const t = new ContentRbTree(3);
    const keys = [1, 2, 3];
    for (let i = 0; i < 3; i++) insert(t, keys, i);
    expect(t.root).toBe(1);
    expect([t.left[1], t.right[1]]).toEqual([0, 2]);
    expect([t.red[1], t.red[0], t.red[2]]).toEqual([0, 1, 1]);
  });

  test("erase of leaves, one-child and two-child nodes keeps order and balance", () => {
    const n = 200;
    const t = new ContentRbTree(n);
    const keys = Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
    for (let i = 0; i < n; i++) insert(t, keys, i);
    const alive = new Set(Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i += 3) {
      t.erase(i);
      alive.delete(i);
      t.check((a, b) => keys[a]! - keys[b]!);
    }
    expect(t.toArray().sort((a, b) => a - b)).toEqual([...alive].sort((a, b) => a - b));
    for (const i of alive) expect(search(t, keys, keys[i]!)).toBe(i);
    for (let i = 0; i < n; i += 3) expect(search(t, keys, keys[i]!)).toBe(NIL);
  });

  test("replace puts a new id in the victim's place with the same links and colour", () => {
    const t = new ContentRbTree(10);
    const keys = [50, 30, 70, 20, 40, 60, 80, 0, 0, 0];
    for (let i = 0; i < 7; i++) insert(t, keys, i);
    const before = { l: t.left[1], r: t.right[1], p: t.parent[1], c: t.red[1] };
    keys[9] = keys[1]!;
    t.replace(1, 9);
    expect({ l: t.left[9], r: t.right[9], p: t.parent[9], c: t.red[9] }).toEqual(before);
    expect(t.parent[before.l!]).toBe(9);
    expect(t.left[0]).toBe(9);
    t.check((a, b) => keys[a]! - keys[b]!);
    t.replace(t.root, 8); // the root too
    keys[8] = 50;
    expect(t.root).toBe(8);
    t.check((a, b) => keys[a]! - keys[b]!);
  });

  test("reset empties the tree in O(1) and ids can be linked again", () => {
    const t = new ContentRbTree(4);
    const keys = [3, 1, 2, 0];
    for (let i = 0; i < 4; i++) insert(t, keys, i);
    t.reset();
    expect(t.root).toBe(NIL);
    expect(t.toArray()).toEqual([]);
    insert(t, keys, 2);
    insert(t, keys, 0);
    expect(t.toArray()).toEqual([2, 0]);
    t.check();
  });

  test("a corrupted tree (keys changed after insert) stays balanced through inserts and erases", () => {
    const n = 300;
    const t = new ContentRbTree(n);
    const keys = Array.from({ length: n }, (_, i) => (i * 104729) % 997);
    for (let i = 0; i < 150; i++) insert(t, keys, i);
    for (let i = 0; i < 150; i += 2) keys[i] = 997 - keys[i]!; // contents change under the tree
    for (let i = 150; i < n; i++) insert(t, keys, i);
    for (let i = 0; i < n; i += 5) t.erase(i);
    const bh = t.check(); // balanced, though no longer ordered
    expect(bh).toBeGreaterThan(0);
    expect(t.toArray().length).toBe(n - 60);
  });

  test("grow keeps the links", () => {
    const t = new ContentRbTree(2);
    const keys = [2, 1, 3, 4];
    insert(t, keys, 0);
    insert(t, keys, 1);
    t.grow(4);
    insert(t, keys, 2);
    insert(t, keys, 3);
    expect(t.capacity).toBe(4);
    expect(t.toArray()).toEqual([1, 0, 2, 3]);
    t.check((a, b) => keys[a]! - keys[b]!);
  });

  test("property: random insert/erase sequences keep every invariant and match a sorted set", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 63 })), { maxLength: 300 }), (ops) => {
        const t = new ContentRbTree(64);
        const keys = Array.from({ length: 64 }, (_, i) => i * 3); // node id i has key 3i
        const inTree = new Set<number>();
        for (const [ins, id] of ops) {
          if (ins && !inTree.has(id)) {
            insert(t, keys, id);
            inTree.add(id);
          } else if (!ins && inTree.has(id)) {
            t.erase(id);
            inTree.delete(id);
          }
          t.check((a, b) => keys[a]! - keys[b]!);
        }
        expect(t.toArray()).toEqual([...inTree].sort((a, b) => a - b));
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});
