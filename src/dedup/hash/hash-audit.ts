/**
 * scanner.audit() for the hash-table policies (vmdedup, esx): re-derives from scratch what the
 * index and the per-slot state must agree on, and reports the first broken invariant:
 *   - the index: `count` equals the occupied buckets, and every entry lies in the run of occupied
 *     buckets that starts at its key's home (else lookups would miss it);
 *   - every entry names a pool frame (never the zero frame); a shared entry (aux -1) that is still
 *     valid (its frame SHARED at the entry's generation) and an unshared entry ("hint") whose page
 *     still maps the entry's frame at its generation hold the recorded fingerprint: the frame,
 *     hashed again now, has the entry's key;
 *   - hints: the slot a hint stands for is INDEXED with the hint's fingerprint, and every INDEXED
 *     slot owns exactly one hint;
 *   - kindCount equals a recount of the slots' kinds.
 * Stale entries (frames rewritten or freed since) are legal: lookups drop them lazily.
 */
import { FrameState, type Hypervisor } from "../../hypervisor/index.ts";
import { splitHash, xxHash3Fingerprint } from "../fingerprint.ts";
import type { ResolvedScannerOptions } from "../types.ts";
import type { HashIndex } from "./hash-index.ts";
import { Kind, type HashSlots } from "./hash-slots.ts";
import { partitionOf } from "./partitions.ts";

type Fail = (msg: string) => never;

export function auditHashPolicy(hv: Hypervisor, options: ResolvedScannerOptions, parts: readonly HashIndex[], slots: HashSlots, registered: Uint8Array, fail: Fail): void {
  const hints = new Map<number, number>(); // slot -> hint entries
  for (let i = 0; i < parts.length; i++) auditPartition(hv, options, parts, i, slots, fail, hints);
  const recount = new Int32Array(5);
  const n = Math.min(slots.kind.length, hv.pageTable.slotCount);
  for (let s = 0; s < n; s++) {
    const k = slots.kind[s]!;
    if (k > Kind.VOLATILE) fail(`slot ${s}: kind ${k}`);
    recount[k]!++;
    if (k === Kind.INDEXED && hints.get(s) !== 1) fail(`slot ${s} is INDEXED but owns ${hints.get(s) ?? 0} hint entries`);
    if (k !== Kind.NONE && registered[s] !== 1 && k !== Kind.ZERO && k !== Kind.MERGED) fail(`slot ${s} is tracked (kind ${k}) but not registered`);
  }
  for (let k = 1; k <= Kind.VOLATILE; k++)
    if (recount[k] !== slots.kindCount[k]) fail(`kindCount[${k}] is ${slots.kindCount[k]}, recounted ${recount[k]}`);
}

/** One partition's entries: structure, the key's partition, and the entries' fingerprints. */
function auditPartition(hv: Hypervisor, options: ResolvedScannerOptions, parts: readonly HashIndex[], which: number, slots: HashSlots, fail: Fail, hints: Map<number, number>): void {
  const ix = parts[which]!;
  auditIndexStructure(ix, fail);
  const m = hv.memory;
  const sf = hv.pageTable.slotFrame;
  const fingerprint = options.fingerprintOverride ?? xxHash3Fingerprint;
  const h = { hi: 0, lo: 0 };
  for (let p = 0; p < ix.capacity; p++) {
    const f = ix.frame[p]!;
    if (f < 0) continue;
    const hi = ix.keyHi[p]!;
    const lo = ix.keyLo[p]!;
    const aux = ix.aux[p]!;
    if (parts.length > 1 && partitionOf(hi, lo, parts.length) !== which) fail(`partition ${which} bucket ${p}: a key of partition ${partitionOf(hi, lo, parts.length)}`);
    if (f >= m.frames) fail(`index bucket ${p}: frame ${f} is not a pool frame`);
    let live: boolean;
    if (aux >= 0) {
      if (slots.kind[aux] !== Kind.INDEXED) fail(`index bucket ${p}: hint for slot ${aux}, whose kind is ${slots.kind[aux]}, not INDEXED`);
      if (slots.hashHi[aux] !== hi || slots.hashLo[aux] !== lo) fail(`index bucket ${p}: hint for slot ${aux} under a fingerprint that is not the slot's`);
      hints.set(aux, (hints.get(aux) ?? 0) + 1);
      live = sf[aux] === f && m.frameWriteGen[f] === ix.gen[p];
    } else {
      if (aux !== -1) fail(`index bucket ${p}: aux ${aux}`);
      live = m.frameState[f] === FrameState.SHARED && m.frameWriteGen[f] === ix.gen[p];
    }
    if (!live) continue;
    splitHash(fingerprint(m.view(f)), h);
    if (h.hi !== hi || h.lo !== lo) fail(`index bucket ${p}: frame ${f} (generation ${ix.gen[p]}) no longer has the entry's fingerprint`);
  }
}

function auditIndexStructure(ix: HashIndex, fail: Fail): void {
  const cap = ix.capacity;
  const mask = cap - 1;
  let occupied = 0;
  for (let p = 0; p < cap; p++) {
    if (ix.frame[p]! < 0) continue;
    occupied++;
    for (let q = ix.home(ix.keyHi[p]!, ix.keyLo[p]!); q !== p; q = (q + 1) & mask)
      if (ix.frame[q]! < 0) fail(`index bucket ${p}: an empty bucket ${q} lies between the entry and its home`);
  }
  if (occupied !== ix.count) fail(`index count ${ix.count}, ${occupied} occupied buckets`);
}
