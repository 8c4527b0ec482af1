/**
 * Small .vmtrace files for the replay tests, written with src/trace's writer from page codes:
 * per guest and snapshot one code per page, -1 unpopulated, 0 zero, k > 0 content k (digest:
 * 16 bytes derived from k, size class 1 + k % 16). Equal k give equal digests across guests.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GuestImage, newHeader, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, TraceWriter, type TraceMeta } from "../trace/index.ts";

export const tmpDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export function digestOf(k: number, out: Uint8Array, at: number): void {
  let x = (Math.imul(k, 0x9e3779b1) ^ 0x85ebca6b) >>> 0 || 1;
  for (let b = 0; b < 16; b++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[at + b] = x & 0xff;
  }
}

export const classOf = (k: number) => 1 + (k % 16);

export function imageOf(codes: readonly number[]): GuestImage {
  const img = new GuestImage(codes.length);
  codes.forEach((c, i) => {
    if (c < 0) return;
    img.state[i] = c === 0 ? PAGE_ZERO : PAGE_CONTENT;
    img.sizeClass[i] = c === 0 ? 1 : classOf(c);
    if (c > 0) digestOf(c, img.digests, i * 16);
  });
  img.state.forEach((s, i) => s === PAGE_UNPOPULATED && (img.sizeClass[i] = 0));
  return img;
}

export interface FixtureGuest {
  name: string;
  /** codes[j] = the guest's pages at snapshot j. */
  codes: number[][];
  timesSec: number[];
}

export function writeTrace(path: string, guests: FixtureGuest[], meta: TraceMeta = {}): string {
  const snapshots = guests[0]!.codes.length;
  const h = newHeader(
    guests.map((g) => ({ name: g.name, pageCount: g.codes[0]!.length, extents: [[0, g.codes[0]!.length]], timesSec: g.timesSec })),
    snapshots,
    meta,
  );
  const w = new TraceWriter(path, h);
  for (let j = 0; j < snapshots; j++) w.addSnapshot(guests.map((g) => imageOf(g.codes[j]!)));
  w.finish();
  return path;
}

/** A seeded series: `guests` guests of `pages` pages, `snapshots` snapshots `everySec` apart, ~`churn` of pages changing per interval. */
export function seriesGuests(guests: number, pages: number, snapshots: number, everySec: number, churn: number, seed: number): FixtureGuest[] {
  let x = seed >>> 0 || 1;
  const r = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  let fresh = 100000;
  return Array.from({ length: guests }, (_, g) => {
    const first = Array.from({ length: pages }, () => {
      const u = r();
      return u < 0.15 ? -1 : u < 0.45 ? 0 : u < 0.8 ? 1 + Math.floor(r() * 50) : 1000 * (g + 1) + Math.floor(r() * 200);
    });
    const codes = [first];
    for (let j = 1; j < snapshots; j++)
      codes.push(codes[j - 1]!.map((c) => {
        if (r() >= churn) return c;
        const u = r();
        const n = u < 0.1 ? -1 : u < 0.3 ? 0 : u < 0.6 ? 1 + Math.floor(r() * 50) : fresh++;
        return n === c ? (c === 0 ? 7 : 0) : n;
      }));
    return { name: `vm${g}`, codes, timesSec: Array.from({ length: snapshots }, (_, j) => j * everySec) };
  });
}
