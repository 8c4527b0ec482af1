/** Seeded guests made of content ids (0 = zero page) for the analysis and trace tests. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pageOf } from "./test-dumps.ts";

export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** guests x pages content ids: ~40% zero, ~30% from a pool shared by all guests, the rest private to the guest. */
export function guestContents(guests: number, pages: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: guests }, (_, g) =>
    Array.from({ length: pages }, () => {
      const u = r();
      return u < 0.4 ? 0 : u < 0.7 ? 1 + Math.floor(r() * 40) : 1000 * (g + 1) + Math.floor(r() * 60);
    }));
}

/** Changes a fraction of one guest's pages to new content ids. */
export function mutate(ids: number[], fraction: number, seed: number): number[] {
  const r = rng(seed);
  return ids.map((id) => (r() < fraction ? (r() < 0.3 ? 0 : 100000 + Math.floor(r() * 500)) : id));
}

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export function writeRawIds(path: string, ids: readonly number[]): string {
  writeFileSync(path, Buffer.concat(ids.map(pageOf)));
  return path;
}

/** The analysis figures counted from content ids, independently of digests and of the analyzer. */
export function countIds(guests: readonly (readonly number[])[]) {
  const seen = new Map<number, { count: number; guests: Set<number> }>();
  let zero = 0, content = 0, pages = 0, within = 0;
  const byGuestCount: number[] = [];
  guests.forEach((ids, g) => {
    const mine = new Set<number>();
    let cg = 0;
    for (const id of ids) {
      pages++;
      if (id === 0) { zero++; continue; }
      content++; cg++;
      mine.add(id);
      const e = seen.get(id) ?? { count: 0, guests: new Set<number>() };
      e.count++;
      e.guests.add(g);
      seen.set(id, e);
    }
    within += cg - mine.size;
    byGuestCount.push(((content - seen.size) * 100) / pages);
  });
  const hist = new Map<number, number>();
  for (const e of seen.values()) hist.set(e.count, (hist.get(e.count) ?? 0) + 1);
  return { pages, zero, content, distinct: seen.size, within, byGuestCount, hist: [...hist.entries()].sort((a, b) => a[0] - b[0]) };
}
