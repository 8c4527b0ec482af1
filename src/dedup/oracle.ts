/**
 * The oracle: what merging every duplicate page would save, over the populated pages of the
 * live guests. Zero pages (zero-mapped or all-zero content) can all go onto the zero frame;
 * every other content needs one frame. Exact: hashes only group candidates, bytes decide.
 */
import type { Hypervisor } from "../hypervisor/index.ts";

export interface MaxSharing {
  populatedPages: number;
  zeroPages: number;
  distinctContents: number; // distinct non-zero contents
  savablePages: number; // populated - distinct non-zero contents
  savablePagesExclZero: number; // non-zero pages - distinct non-zero contents
}

export function maxSharing(hv: Hypervisor): MaxSharing {
  const m = hv.memory;
  const sf = hv.pageTable.slotFrame;
  // typed arrays, not Maps: per frame 1 byte (0 unseen, 1 non-zero, 2 zero content), and an
  // open-addressing table of distinct contents (hash hi, lo, representative frame) at <= 50% load
  const seenFrame = new Uint8Array(m.frames + 1);
  const table = new DistinctTable();
  let populated = 0;
  let zero = 0;
  for (const g of hv.guests) {
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const f = sf[g.slotBase + gfn]!;
      if (f < 0) continue;
      populated++;
      if (f === hv.zeroFrame) {
        zero++;
        continue;
      }
      const known = seenFrame[f]!;
      if (known !== 0) {
        if (known === 2) zero++;
        continue;
      }
      const isZero = m.isZeroFrameContent(f);
      seenFrame[f] = isZero ? 2 : 1;
      if (isZero) {
        zero++;
        continue;
      }
      table.add(Bun.hash.xxHash3(m.view(f)), f, m);
    }
  }
  const distinct = table.count;
  return {
    populatedPages: populated,
    zeroPages: zero,
    distinctContents: distinct,
    savablePages: populated - distinct,
    savablePagesExclZero: populated - zero - distinct,
  };
}

/** Distinct contents by 64-bit hash; equal hashes are told apart by the bytes (each distinct content one entry). */
class DistinctTable {
  count = 0;
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  private rep = new Int32Array(1024).fill(-1);

  /** Adds frame f's content unless an equal one is present. */
  add(h: bigint, f: number, m: Hypervisor["memory"]): void {
    const lo = Number(h & 0xffffffffn) >>> 0;
    const hi = Number(h >> 32n) >>> 0;
    const mask = this.rep.length - 1;
    for (let i = slotOf(hi, lo, mask); ; i = (i + 1) & mask) {
      const r = this.rep[i]!;
      if (r < 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.rep[i] = f;
        if (++this.count * 2 > this.rep.length) this.grow();
        return;
      }
      if (this.hi[i] === hi && this.lo[i] === lo && m.framesEqual(r, f)) return;
    }
  }

  private grow(): void {
    const { hi, lo, rep } = this;
    const n = rep.length * 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.rep = new Int32Array(n).fill(-1);
    const mask = n - 1;
    for (let k = 0; k < rep.length; k++) {
      if (rep[k]! < 0) continue;
      let i = slotOf(hi[k]!, lo[k]!, mask);
      while (this.rep[i]! >= 0) i = (i + 1) & mask;
      this.hi[i] = hi[k]!;
      this.lo[i] = lo[k]!;
      this.rep[i] = rep[k]!;
    }
  }
}

function slotOf(hi: number, lo: number, mask: number): number {
  return (Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> 0) & mask;
}
