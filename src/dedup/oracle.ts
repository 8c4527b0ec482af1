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
  const seenFrame = new Map<number, boolean>(); // frame -> is zero content
  const byHash = new Map<bigint, number[]>(); // hash -> representative frames of distinct contents
  let populated = 0;
  let zero = 0;
  let distinct = 0;
  for (const g of hv.guests) {
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const f = sf[g.slotBase + gfn]!;
      if (f < 0) continue;
      populated++;
      if (f === hv.zeroFrame) {
        zero++;
        continue;
      }
      const known = seenFrame.get(f);
      if (known !== undefined) {
        if (known) zero++;
        continue;
      }
      const isZero = m.isZeroFrameContent(f);
      seenFrame.set(f, isZero);
      if (isZero) {
        zero++;
        continue;
      }
      const h = Bun.hash.xxHash3(m.view(f));
      const reps = byHash.get(h);
      if (!reps) {
        byHash.set(h, [f]);
        distinct++;
      } else if (!reps.some((r) => m.framesEqual(r, f))) {
        reps.push(f);
        distinct++;
      }
    }
  }
  return {
    populatedPages: populated,
    zeroPages: zero,
    distinctContents: distinct,
    savablePages: populated - distinct,
    savablePagesExclZero: populated - zero - distinct,
  };
}
