import { describe, expect, test } from "bun:test";
import { InvalidArgumentError } from "../../hypervisor/index.ts";
import { HashIndex } from "./hash-index.ts";
import { partitionOf } from "./partitions.ts";

/** The (frame, aux) pairs of a key in the order a lookup meets them. */
function inOrder(ix: HashIndex, hi: number, lo: number): string {
  const out: string[] = [];
  for (let p = ix.first(hi, lo); p >= 0; p = ix.next(p, hi, lo)) out.push(`${ix.frame[p]}:${ix.aux[p]}`);
  return out.join(",");
}

/** All (frame, aux) pairs stored under a key, sorted. */
function entries(ix: HashIndex, hi: number, lo: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = ix.first(hi, lo); p >= 0; p = ix.next(p, hi, lo)) out.push([ix.frame[p]!, ix.aux[p]!]);
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe("HashIndex", () => {
  test("insert, lookup and remove one entry", () => {
    const ix = new HashIndex();
    expect(ix.first(1, 2)).toBe(-1);
    const p = ix.insert(1, 2, 7, 3, -1);
    expect(ix.count).toBe(1);
    expect(ix.first(1, 2)).toBe(p);
    expect([ix.frame[p], ix.gen[p], ix.aux[p]]).toEqual([7, 3, -1]);
    expect(ix.first(2, 1)).toBe(-1);
    expect(ix.first(1, 3)).toBe(-1);
    ix.remove(p);
    expect(ix.count).toBe(0);
    expect(ix.first(1, 2)).toBe(-1);
  });

  test("repeated keys: every entry is found, locate picks by frame and aux", () => {
    const ix = new HashIndex();
    for (let f = 0; f < 5; f++) ix.insert(9, 9, f, 0, f === 2 ? 40 : -1);
    expect(entries(ix, 9, 9)).toEqual([[0, -1], [1, -1], [2, 40], [3, -1], [4, -1]]);
    expect(ix.frame[ix.locate(9, 9, 2, 40)]).toBe(2);
    expect(ix.locate(9, 9, 2, -1)).toBe(-1);
    ix.remove(ix.locate(9, 9, 3, -1));
    expect(entries(ix, 9, 9)).toEqual([[0, -1], [1, -1], [2, 40], [4, -1]]);
  });

  test("grows by rehash past load 0.7 and keeps every entry", () => {
    const ix = new HashIndex(16);
    expect(ix.capacity).toBe(16);
    for (let i = 0; i < 12; i++) ix.insert(i, i * 3, i, i + 100, i);
    expect(ix.capacity).toBe(32); // 16 * 0.7 = 11 entries fit, the 12th doubled it
    expect(ix.byteLength).toBe(32 * 20);
    for (let i = 0; i < 12; i++) {
      const p = ix.first(i, i * 3);
      expect([ix.frame[p], ix.gen[p], ix.aux[p]]).toEqual([i, i + 100, i]);
    }
  });

  test("deleting while iterating one key's entries: scan(pos) continues correctly", () => {
    const ix = new HashIndex(64);
    // interleave a colliding key's run with other keys
    for (let i = 0; i < 20; i++) {
      ix.insert(0, 0, i, 0, -1);
      ix.insert(0, i + 1, 1000 + i, 0, -1);
    }
    let seen = 0;
    for (let p = ix.first(0, 0); p >= 0; ) {
      seen++;
      if (ix.frame[p]! % 2 === 0) {
        ix.remove(p);
        p = ix.scan(p, 0, 0);
      } else p = ix.next(p, 0, 0);
    }
    expect(seen).toBe(20);
    expect(entries(ix, 0, 0).map((e) => e[0])).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    for (let i = 0; i < 20; i++) expect(ix.frame[ix.first(0, i + 1)]).toBe(1000 + i);
  });

  test("matches a reference multimap under random inserts and removes (backward shift keeps runs intact)", () => {
    const ix = new HashIndex(16);
    const ref = new Map<string, number[]>(); // key -> frames
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    let nextFrame = 0;
    for (let step = 0; step < 20000; step++) {
      const hi = rnd(3);
      const lo = rnd(40); // few keys: long runs and many collisions
      const key = `${hi}:${lo}`;
      const list = ref.get(key) ?? [];
      if (list.length > 0 && rnd(2) === 0) {
        const f = list.splice(rnd(list.length), 1)[0]!;
        ix.remove(ix.locate(hi, lo, f, -1));
      } else {
        const f = nextFrame++;
        ix.insert(hi, lo, f, 0, -1);
        list.push(f);
      }
      ref.set(key, list);
    }
    let total = 0;
    for (const [key, list] of ref) {
      const [hi, lo] = key.split(":").map(Number) as [number, number];
      expect(entries(ix, hi, lo).map((e) => e[0])).toEqual(list.slice().sort((a, b) => a - b));
      total += list.length;
    }
    expect(ix.count).toBe(total);
    ix.clear();
    expect(ix.count).toBe(0);
    expect(ix.first(0, 0)).toBe(-1);
  });

  test("bad input is rejected", () => {
    expect(() => new HashIndex(0)).toThrow(InvalidArgumentError);
    const ix = new HashIndex();
    expect(() => ix.insert(1, 1, -1, 0, 0)).toThrow(InvalidArgumentError);
    expect(() => ix.remove(3)).toThrow(InvalidArgumentError);
    expect(ix.count).toBe(0);
  });

  test("per-key order is insertion order: one table and tables split by partitionOf agree, through rehashes and wrapping runs", () => {
    for (const parts of [2, 3, 6]) {
      const one = new HashIndex(16);
      const split = Array.from({ length: parts }, () => new HashIndex(16, true));
      const of = (hi: number, lo: number) => split[partitionOf(hi, lo, parts)]!;
      let x = 99 + parts;
      const rnd = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      const live = new Map<string, number[]>();
      for (let step = 0; step < 6000; step++) {
        const hi = rnd(2);
        const lo = rnd(25);
        const key = `${hi}:${lo}`;
        const list = live.get(key) ?? [];
        if (list.length > 0 && rnd(3) === 0) {
          const f = list.splice(rnd(list.length), 1)[0]!;
          one.remove(one.locate(hi, lo, f, -1));
          of(hi, lo).remove(of(hi, lo).locate(hi, lo, f, -1));
        } else {
          one.insert(hi, lo, step, 0, -1);
          of(hi, lo).insert(hi, lo, step, 0, -1);
          list.push(step);
        }
        live.set(key, list);
        if (step % 997 === 0) for (const ix of split) ix.reserve(ix.count * 3); // rehash at other times than `one`
      }
      for (const [key, list] of live) {
        const [hi, lo] = key.split(":").map(Number) as [number, number];
        expect(inOrder(of(hi, lo), hi, lo)).toBe(inOrder(one, hi, lo));
        expect(inOrder(one, hi, lo)).toBe(list.map((f) => `${f}:-1`).join(",")); // insertion order
      }
      expect(split.reduce((n, ix) => n + ix.count, 0)).toBe(one.count);
    }
  });
});

