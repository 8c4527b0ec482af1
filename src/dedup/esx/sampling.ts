/**
 * Seeded random visit orders for ESX-style page sampling.
 *
 * SplitMix32 (a 32-bit variant of Steele, Lea & Flood's SplitMix: a Weyl sequence step of
 * 0x9e3779b9 followed by a murmur3-style finaliser) gives a deterministic stream from one 32-bit
 * state. passSeed(seed, pass) mixes the scanner's seed and the pass number into a fresh state, so
 * every pass gets its own order and the same seed always gives the same orders. shuffle() is
 * Fisher-Yates (Durstenfeld): for i from n-1 down to 1 swap a[i] with a[j], j uniform in 0..i
 * (by 32x32 -> high-32 multiplication; the bias is below 2^-32 * n and irrelevant here).
 */

export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next unsigned 32-bit value. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform integer in 0 .. n-1 (n <= 2^32). */
  below(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }
}

/** A state for pass `pass` of a scanner seeded with `seed`. */
export function passSeed(seed: number, pass: number): number {
  const r = new SplitMix32((seed ^ Math.imul(pass + 1, 0x632be5ab)) >>> 0);
  r.next();
  return r.next() ^ pass;
}

/** Shuffles a[0 .. n-1] in place. */
export function shuffle(a: Int32Array, n: number, rng: SplitMix32): void {
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
