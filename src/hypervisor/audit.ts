/**
 * audit(): recomputes every invariant of the paging model from scratch, in the spirit of Xen's
 * mem_sharing audit, and throws AuditError naming the first one broken:
 *  - each frame's refcount equals the length of its reverse map, and every slot on that list
 *    maps the frame and belongs to a live guest; the list's prev/next links agree;
 *  - FREE and RESERVED (compression cache) frames have no mapping and are on the free list exactly once; nothing else is on it;
 *  - a frame mapped by two or more pages is SHARED (read-only); PRIVATE frames have one mapping;
 *  - the zero frame holds zeros and its refcount equals zeroMapped;
 *  - every populated page slot is on its frame's list (counted: the sum of refcounts equals the
 *    number of populated slots); PV frame tables agree with the p2m;
 *  - the incremental counters equal their recomputation, and
 *    populatedPages == framesUsed + sharingMappings + zeroMapped.
 */
import { AuditError } from "./errors.ts";
import type { Hypervisor } from "./hypervisor.ts";
import { FrameState } from "./machine-memory.ts";

function fail(msg: string): never {
  throw new AuditError(`audit: ${msg}`);
}

export function auditHypervisor(hv: Hypervisor): void {
  const m = hv.memory;
  const pt = hv.pageTable;
  const total = m.frames + 1;
  let sharedFrames = 0;
  let sharingMappings = 0;
  let used = 0;
  let mappedTotal = 0;
  let reserved = 0;
  for (let f = 0; f < total; f++) {
    const state = m.frameState[f]!;
    const rc = m.frameRefcount[f]!;
    let n = 0;
    let prev = -1;
    for (let s = m.frameRmapHead[f]!; s >= 0; s = pt.slotNext[s]!) {
      if (pt.slotPrev[s] !== prev) fail(`frame ${f}: reverse-map back link of slot ${s} is ${pt.slotPrev[s]}, expected ${prev}`);
      if (pt.slotFrame[s] !== f) fail(`frame ${f}: reverse map lists slot ${s}, which maps frame ${pt.slotFrame[s]}`);
      const g = hv.guestById[pt.slotGuest[s]!];
      if (!g || g.destroyed) fail(`frame ${f}: reverse map lists slot ${s} of a destroyed or unknown guest`);
      prev = s;
      if (++n > rc) fail(`frame ${f}: reverse map is longer than refcount ${rc}`);
    }
    if (n !== rc) fail(`frame ${f}: refcount ${rc} but ${n} mappings in its reverse map`);
    mappedTotal += rc;
    if (f === hv.zeroFrame) {
      if (state !== FrameState.ZERO) fail(`zero frame ${f} has state ${state}`);
      if (rc !== hv.zeroMapped) fail(`zero frame refcount ${rc} but zeroMapped counter ${hv.zeroMapped}`);
      if (!m.isZeroFrameContent(f)) fail(`zero frame ${f} holds non-zero bytes`);
      continue;
    }
    if (state === FrameState.FREE || state === FrameState.RESERVED) {
      if (rc !== 0) fail(`${state === FrameState.FREE ? "free" : "reserved"} frame ${f} has refcount ${rc}`);
      if (state === FrameState.RESERVED) reserved++;
      continue;
    }
    used++;
    if (state === FrameState.PRIVATE) {
      if (rc !== 1) fail(`private frame ${f} has refcount ${rc} (a frame mapped by 2+ pages must be shared)`);
    } else if (state === FrameState.SHARED) {
      if (rc < 1) fail(`shared frame ${f} has refcount ${rc}`);
      sharedFrames++;
      sharingMappings += rc - 1;
    } else fail(`frame ${f} has invalid state ${state}`);
  }
  // free list: each FREE frame exactly once, nothing else
  const seen = new Uint8Array(m.frames);
  for (let i = 0; i < m.freeCount; i++) {
    const f = m.freeStack[i]!;
    if (f < 0 || f >= m.frames) fail(`free list entry ${i} is ${f}, not a pool frame`);
    if (seen[f]) fail(`frame ${f} is on the free list twice`);
    seen[f] = 1;
    if (m.frameState[f] !== FrameState.FREE) fail(`frame ${f} is on the free list but in state ${m.frameState[f]}`);
  }
  if (m.freeCount !== m.frames - used - reserved) fail(`free list holds ${m.freeCount} frames but ${m.frames - used - reserved} frames are free`);
  // page slots
  let populated = 0;
  for (const g of hv.guests) {
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const f = pt.slotFrame[g.slotBase + gfn]!;
      if (f >= 0) {
        populated++;
        if (f > hv.zeroFrame) fail(`${g.name} gfn ${gfn} maps frame ${f}, outside machine memory`);
        if (f !== hv.zeroFrame && (m.frameState[f] === FrameState.FREE || m.frameState[f] === FrameState.RESERVED)) fail(`${g.name} gfn ${gfn} maps free or reserved frame ${f}`);
      }
      if (g.mode === "pv" && g.frameTable[gfn] !== f)
        fail(`PV guest ${g.name} gfn ${gfn}: frame table holds ${g.frameTable[gfn]}, p2m holds ${f}`);
    }
  }
  for (const g of hv.guestById) {
    if (!g.destroyed) continue;
    for (let gfn = 0; gfn < g.pages; gfn++)
      if (pt.slotFrame[g.slotBase + gfn] !== -1) fail(`destroyed guest ${g.name} still maps gfn ${gfn}`);
  }
  if (populated !== mappedTotal) fail(`${populated} populated pages but reverse maps hold ${mappedTotal} mappings`);
  if (populated !== hv.populatedPages) fail(`populatedPages counter ${hv.populatedPages}, recomputed ${populated}`);
  if (sharedFrames !== hv.sharedFrames) fail(`sharedFrames counter ${hv.sharedFrames}, recomputed ${sharedFrames}`);
  if (sharingMappings !== hv.sharingMappings) fail(`sharingMappings counter ${hv.sharingMappings}, recomputed ${sharingMappings}`);
  if (populated !== used + sharingMappings + hv.zeroMapped)
    fail(`identity broken: populatedPages ${populated} != framesUsed ${used} + sharingMappings ${sharingMappings} + zeroMapped ${hv.zeroMapped}`);
}
