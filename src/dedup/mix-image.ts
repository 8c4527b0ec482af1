/**
 * The "mix" memory image of the scanner benchmarks (issue 3): `pages` pages over `guests` guests
 * (creation order, ascending gfn), every other page a copy of one of `contents` contents, the rest
 * unique. Contents are full pages of xorshift32 data seeded by a content id, so every byte differs
 * between contents (hashes and compares see realistic, incompressible pages).
 */
import { PAGE_SIZE, type Guest, type Hypervisor } from "../hypervisor/index.ts";

/** Writes content `id` (0 = all zeros) into `out` (4 KiB) and returns it. */
export function fillContent(id: number, out: Uint8Array = new Uint8Array(PAGE_SIZE)): Uint8Array {
  if (id === 0) return out.fill(0);
  const w = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE >>> 2);
  let x = Math.imul(id, 2654435761) >>> 0 || 1;
  w[0] = id;
  for (let k = 1; k < PAGE_SIZE >>> 2; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[k] = x >>> 0;
  }
  return out;
}

export interface MixOptions {
  pages: number; // a multiple of guests
  guests?: number; // default 4
  contents?: number; // distinct contents of the duplicated half, default 2048
  name?: string; // guest name prefix, default "mix"
}

/** Writes the mix into new guests of `hv` (which needs at least `pages` free frames). */
export function buildMixImage(hv: Hypervisor, o: MixOptions): Guest[] {
  const guests = o.guests ?? 4;
  const contents = o.contents ?? 2048;
  const per = o.pages / guests;
  const page = new Uint8Array(PAGE_SIZE);
  const out: Guest[] = [];
  let n = 0;
  for (let gi = 0; gi < guests; gi++) {
    const g = hv.createGuest({ pages: per, name: `${o.name ?? "mix"}-${gi}` });
    out.push(g);
    for (let gfn = 0; gfn < per; gfn++, n++) {
      const id = n % 2 === 0 ? 1 + ((n >>> 1) % contents) : 0x40000000 + (n >>> 1);
      g.write(gfn, 0, fillContent(id, page));
    }
  }
  return out;
}
