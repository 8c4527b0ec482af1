/** A small seeded PRNG (mulberry32): deterministic, 32-bit state, no allocation. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform uint32. */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

/** Cumulative Zipf(s) weights over n ranks, normalised to end at 1 (cached by the caller). */
export function zipfCdf(n: number, s: number): Float64Array {
  const c = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) c[i] = acc += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) c[i]! /= acc;
  return c;
}

/** The rank whose cumulative weight first reaches u (binary search). */
export function sampleCdf(c: Float64Array, u: number): number {
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
