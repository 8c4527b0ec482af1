/**
 * The page mixes validate-kernel runs through both the host kernel's KSM and the ksm policy.
 * A mix is data, generated once from its seed: guests x pages, the KSM knobs, the initial
 * contents, then steps; each step is a list of page operations (write a content, discard)
 * followed by a number of passes, each compared. Both sides apply exactly the same operations.
 *
 * Contents are ids: 0 is the zero page; any other id is a page of pseudo-random bytes from
 * the id's family (id >> 2), with variant (id & 3) 1 = first byte flipped, 2 = last byte
 * flipped (near-duplicates: the worst case for memcmp order), 0 = as generated.
 *
 * Changing mixes follow the churn recipe: before each phase, per guest, a set of fixed
 * hot pages gets new unique content and a fraction of all pages (chosen at random) is
 * rewritten: 35% new unique, 30% a pool content, 20% the page's own content again (a store of
 * the same bytes: it breaks CoW sharing, changes nothing else), 8% zeroed, 7% discarded.
 */
import { Rng } from "../../sim/rng.ts";

export const PAGE_SIZE = 4096;

export interface MixKnobs {
  maxPageSharing: number;
  smartScan: boolean;
  useZeroPages: boolean;
  /** stable_node_chains_prune_millisecs: 0 = prune stale dups on every lookup, huge = never. */
  stableNodeChainsPruneMillisecs: number;
}

/** Page operations of one step: page index (guest * pagesPerGuest + gfn) and content id, or -1 = discard. */
export interface MixStep {
  label: string;
  pages: Int32Array;
  contents: Int32Array;
  passes: number;
}

export interface Mix {
  name: string;
  description: string;
  guests: number;
  pagesPerGuest: number;
  knobs: MixKnobs;
  steps: MixStep[];
}

/** Prune "never" on both sides (1 h: neither the kernel's wall clock nor the simulated clock gets there). */
export const PRUNE_NEVER_MS = 3_600_000;

/** Fills `out` (4096 bytes) with content `id`. */
export function fillContent(id: number, out: Uint8Array): void {
  if (id === 0) {
    out.fill(0);
    return;
  }
  const w = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE >>> 2);
  let x = (Math.imul(id >>> 2, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[i] = x >>> 0;
  }
  const v = id & 3;
  if (v === 1) out[0] = out[0]! ^ 0xff;
  else if (v === 2) out[PAGE_SIZE - 1] = out[PAGE_SIZE - 1]! ^ 0xff;
}

/** Content ids: a family number times 4 (variant 0). */
const fam = (f: number) => f << 2;

export class Builder {
  readonly rng: Rng;
  readonly current: Int32Array; // content per page, -1 = not populated
  private nextUnique: number;
  private pages: number[] = [];
  private contents: number[] = [];
  readonly steps: MixStep[] = [];

  constructor(
    readonly guests: number,
    readonly pagesPerGuest: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.current = new Int32Array(guests * pagesPerGuest).fill(-1);
    this.nextUnique = 1_000_000 + (seed % 1000) * 100_000;
  }

  unique(): number {
    return fam(this.nextUnique++);
  }

  set(page: number, content: number): void {
    this.pages.push(page);
    this.contents.push(content);
    this.current[page] = content;
  }

  step(label: string, passes: number): void {
    this.steps.push({ label, pages: Int32Array.from(this.pages), contents: Int32Array.from(this.contents), passes });
    this.pages = [];
    this.contents = [];
  }
}

/** A skewed pool pick: content k of `n` with weight 1/(k+1)^1.2 (the first contents far more often). */
export function poolPick(rng: Rng, n: number, base: number): number {
  let total = 0;
  for (let k = 0; k < n; k++) total += 1 / Math.pow(k + 1, 1.2);
  let u = rng.float() * total;
  for (let k = 0; k < n; k++) {
    u -= 1 / Math.pow(k + 1, 1.2);
    if (u < 0) return fam(base + k);
  }
  return fam(base + n - 1);
}

export interface ChurnSpec {
  hotStride?: number;
  hotPages: number;
  rewriteFraction: number;
  phases: number;
}

/** The churn: hot pages, then rewrites with the 35/30/20/8/7 split. */
export function churn(b: Builder, spec: ChurnSpec, pool: (rng: Rng) => number): void {
  const { guests, pagesPerGuest: n, rng } = b;
  for (let phase = 1; phase <= spec.phases; phase++) {
    for (let g = 0; g < guests; g++) {
      const base = g * n;
      for (let h = 0; h < spec.hotPages; h++) b.set(base + h * (spec.hotStride ?? 7), b.unique());
      const k = Math.round(n * spec.rewriteFraction);
      for (let i = 0; i < k; i++) {
        const p = base + rng.int(n);
        const u = rng.float();
        if (u < 0.35) b.set(p, b.unique());
        else if (u < 0.65) b.set(p, pool(rng));
        else if (u < 0.85) b.set(p, b.current[p]! < 0 ? b.unique() : b.current[p]!);
        else if (u < 0.93) b.set(p, 0);
        else b.set(p, -1);
      }
    }
    b.step(`phase ${phase}`, 1);
  }
}

/** Initial fill: per page, zero / pool / shared-by-position / unique by the given fractions. */
export function initialFill(b: Builder, f: { zero: number; pool: number; sharedByPos?: number }, pool: (rng: Rng) => number): void {
  const { guests, pagesPerGuest: n, rng } = b;
  for (let g = 0; g < guests; g++)
    for (let i = 0; i < n; i++) {
      const u = rng.float();
      let c: number;
      if (u < f.zero) c = 0;
      else if (u < f.zero + f.pool) c = pool(rng);
      else if (u < f.zero + f.pool + (f.sharedByPos ?? 0)) c = fam(500_000 + i); // the same at this gfn in every guest
      else c = b.unique();
      b.set(g * n + i, c);
    }
}

export function make(name: string, description: string, guests: number, n: number, knobs: Partial<MixKnobs>, seed: number, build: (b: Builder) => void): Mix {
  const b = new Builder(guests, n, seed);
  build(b);
  return {
    name,
    description,
    guests,
    pagesPerGuest: n,
    knobs: { maxPageSharing: 256, smartScan: false, useZeroPages: false, stableNodeChainsPruneMillisecs: PRUNE_NEVER_MS, ...knobs },
    steps: b.steps,
  };
}

const pool20 = (rng: Rng) => poolPick(rng, 20, 100);

/** The divergence: 3 x 1500, 15% zero, 50% from a 20-content skewed pool, chains at 4 under churn. */
export function chainsChurnMix(phases: number, prune = PRUNE_NEVER_MS, name = "chains-4-churn", seed = 15): Mix {
  return make(name, `3x1500 pages, max_page_sharing 4, smart_scan off, ${phases} churn phases, prune ${prune === 0 ? "every lookup" : "never"}`, 3, 1500,
    { maxPageSharing: 4, stableNodeChainsPruneMillisecs: prune }, seed, (b) => {
      initialFill(b, { zero: 0.15, pool: 0.5 }, pool20);
      b.step("settle", 2);
      churn(b, { hotPages: 12, rewriteFraction: 0.04, phases }, pool20);
    });
}

function staticMix(name: string, description: string, knobs: Partial<MixKnobs>, seed: number, guests: number, n: number, f: { zero: number; pool: number; sharedByPos?: number }, passes = 3): Mix {
  return make(name, description, guests, n, knobs, seed, (b) => {
    // identical guests: guest 0's layout is copied to the others, except the unique pages
    initialFill(b, f, pool20);
    for (let g = 1; g < guests; g++)
      for (let i = 0; i < n; i++) {
        const c0 = b.current[i]!;
        if (c0 >= fam(1_000_000)) continue; // unique pages stay unique
        b.set(g * n + i, c0);
      }
    b.step("settle", passes);
  });
}

function nearDupMix(): Mix {
  return make("static-near-duplicates", "2x600 pages: families of a page and copies differing in the first or last byte", 2, 600, {}, 21, (b) => {
    for (let g = 0; g < 2; g++)
      for (let i = 0; i < 600; i++) b.set(g * 600 + i, fam(300 + (i % 150)) | ((i + g) % 3));
    b.step("settle", 3);
  });
}

function churnMix(name: string, knobs: Partial<MixKnobs>, phases: number, seed: number): Mix {
  return make(name, `3x1000 pages, 10% zero, 40% pool, churn pass by pass (${phases} phases), smart_scan ${knobs.smartScan ? "on" : "off"}, use_zero_pages ${knobs.useZeroPages ? "on" : "off"}`,
    3, 1000, knobs, seed, (b) => {
      initialFill(b, { zero: 0.1, pool: 0.4, sharedByPos: 0.2 }, pool20);
      b.step("settle", 2);
      churn(b, { hotPages: 12, rewriteFraction: 0.05, phases }, pool20);
    });
}

/**
 * The chains-under-churn mix with each guest in its own mapping, as mmap places them:
 * top-down, so guest 2 lies lowest and ksmd (which walks an mm's VMAs by address) walks guests
 * 2, 1, 0. Here that order is the mix's page order on both sides (the simulator walks guests in
 * creation order): the same contents, guests permuted.
 */
export function reversedGuests(m: Mix, name: string): Mix {
  const n = m.pagesPerGuest;
  const map = (p: number) => (m.guests - 1 - Math.floor(p / n)) * n + (p % n);
  return { ...m, name, description: `${m.description}, guests walked in reverse (one mapping each, top-down)`, steps: m.steps.map((s) => ({ ...s, pages: s.pages.map(map) })) };
}

/** The quick set (under 30 s with the kernel): one static mix and the chains-under-churn mix. */
export function quickMixes(): Mix[] {
  return [
    staticMix("static-identical", "3 identical guests x 800 pages: 10% zero, 30% pool, 40% same per gfn, rest unique", {}, 11, 3, 800, { zero: 0.1, pool: 0.3, sharedByPos: 0.4 }),
    chainsChurnMix(4),
  ];
}

export function fullMixes(): Mix[] {
  return [
    staticMix("static-identical", "3 identical guests x 1500 pages: 10% zero, 30% pool, 40% same per gfn, rest unique", {}, 11, 3, 1500, { zero: 0.1, pool: 0.3, sharedByPos: 0.4 }),
    staticMix("static-zero-pages", "3 identical guests x 1500 pages, 20% zero, use_zero_pages on", { useZeroPages: true }, 12, 3, 1500, { zero: 0.2, pool: 0.3, sharedByPos: 0.3 }),
    staticMix("static-chains-10", "2 guests x 1000 pages, 60% from a 20-content pool, max_page_sharing 10", { maxPageSharing: 10 }, 13, 2, 1000, { zero: 0.1, pool: 0.6 }),
    staticMix("static-chains-256", "2 guests x 2000 pages, 40% zero (> 256 sharers), max_page_sharing 256", {}, 14, 2, 2000, { zero: 0.4, pool: 0.3 }),
    nearDupMix(),
    churnMix("churn-smart-off", { smartScan: false }, 8, 31),
    churnMix("churn-smart-on", { smartScan: true }, 14, 32),
    churnMix("churn-zero-pages", { smartScan: true, useZeroPages: true }, 8, 33),
    chainsChurnMix(10),
    chainsChurnMix(8, 0, "chains-4-churn-prune-always"),
    reversedGuests(chainsChurnMix(10), "chains-4-churn-guests-reversed"),
  ];
}
