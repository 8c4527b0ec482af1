/**
 * Host paging: where a guest page lives once the hypervisor has taken its frame away, and the
 * frames a compression cache takes out of the pool. Mechanism only: src/sim/reclaim.ts (the
 * policy) decides which frames to take, where their pages go and when they come back.
 *
 * A taken page lives in a *host slot* (index h), in one of two stores:
 *   SWAP   a slot of the hypervisor's swap device (ESX .vswp file, a KVM host's swap)
 *   CACHE  an entry of a compression cache (ESX memory compression, zswap on a KVM host)
 * slotHost[pageSlot] (PageTable) names the host slot of a taken page, -1 otherwise; a taken page
 * maps no frame (slotFrame -1), so every scanner skips it as it skips an unpopulated page.
 *
 * No bytes are kept. A host slot holds a 64-bit fingerprint (Bun's xxHash3) of the page as it
 * was taken and its stored size (4096 for swap, the compressed size for the cache). To bring a
 * page back the caller hands its bytes in (the simulator regenerates them from content ids, so
 * memory follows the simulated host, not the guests); they are checked against the fingerprint,
 * and a page that would not come back exactly is refused (InvalidArgumentError, nothing changed).
 *
 *   takeFrame(f, store, bytes)  every mapping of frame f moves to one new host slot (refs = the
 *                         mappings), f is freed: as Linux swaps a KSM page out of all its rmap
 *                         mappings at once (try_to_unmap); the zero frame cannot be taken
 *   bringBack(slot, bytes) the page gets a fresh PRIVATE frame holding `bytes` (fingerprint
 *                         checked); the host slot loses one reference and is freed with the last.
 *                         A page that was shared comes back unshared: Linux's ksm_swpin_copy
 *                         (ksm_might_need_to_copy); the scanner must merge it again
 *   dropSlot(slot)        the page's host slot reference is released (a balloon or a guest
 *                         destruction discards the page: its content is not needed any more)
 *   reserveFrames / releaseFrames  frames leave / rejoin the free pool for a compression cache
 *                         (state RESERVED, no mapping, never scanned)
 * Counters below are kept incrementally; hv.audit() recomputes them (auditHostSlots).
 */
import { AuditError, InvalidArgumentError, OutOfMachineMemoryError } from "./errors.ts";
import type { FrameMapper } from "./frame-mapper.ts";
import type { Guest } from "./guest.ts";
import { FrameState, PAGE_SIZE, type MachineMemory } from "./machine-memory.ts";
import type { PageTable } from "./page-table.ts";

export const HostStore = { FREE: 0, SWAP: 1, CACHE: 2 } as const;
export type HostStoreValue = (typeof HostStore)[keyof typeof HostStore];

export class HostPaging {
  /** Per host slot: HostStore value. */
  store = new Uint8Array(0);
  /** Per host slot: guest pages whose content it holds (a taken shared frame: all its mappings). */
  refs = new Uint32Array(0);
  /** Per host slot: xxHash3 of the page's 4 KiB when taken. */
  fingerprint = new BigUint64Array(0);
  /** Per host slot: bytes it occupies in its store (PAGE_SIZE for swap, the compressed size in a cache). */
  storedBytes = new Uint16Array(0);
  private freeSlots = new Int32Array(0);
  private freeCount = 0;
  private capacity = 0;
  /** Frames taken out of the pool for compression caches (state RESERVED), as a stack. */
  private reserved = new Int32Array(0);
  /** Frames in `reserved`: +1 per reserveFrames frame, -1 per releaseFrames frame. */
  reservedFrames = 0;
  /** Host slots in use per store: +1 when takeFrame fills one, -1 when its last reference goes. */
  swapSlotsUsed = 0;
  cacheSlotsUsed = 0;
  /** storedBytes summed over the CACHE slots in use. */
  cacheBytesUsed = 0;
  /** Guest pages whose content is in a SWAP / CACHE slot (the slots' refs summed per store). */
  swappedPages = 0;
  compressedPages = 0;
  /** Since creation: guest pages moved to a SWAP / CACHE slot by takeFrame (each mapping counts). */
  swapOuts = 0;
  compressions = 0;
  /** Since creation: guest pages brought back from a SWAP / CACHE slot by bringBack. */
  swapIns = 0;
  decompressions = 0;
  /** Since creation: pages brought back that had been taken from a frame with 2+ mappings (sharing lost: ksm_swpin_copy). */
  sharedSwapInCopies = 0;

  constructor(
    private readonly memory: MachineMemory,
    private readonly pageTable: PageTable,
    private readonly map: FrameMapper,
  ) {
    this.reserved = new Int32Array(memory.frames);
  }

  /** The host store holding the page of `slot` (HostStore.FREE when it is not taken). */
  storeOf(slot: number): HostStoreValue {
    const h = this.pageTable.slotHost[slot]!;
    return (h < 0 ? HostStore.FREE : this.store[h]!) as HostStoreValue;
  }

  /**
   * Moves every mapping of pool frame `f` to one new host slot in `store` (SWAP or CACHE) with
   * `bytes` stored bytes (1..4096), and frees f. Returns the host slot (refs[h] = the mappings taken).
   */
  takeFrame(f: number, store: HostStoreValue, bytes: number): number {
    const m = this.memory;
    if (!Number.isInteger(f) || f < 0 || f >= m.frames) throw new InvalidArgumentError(`frame ${f} is not a pool frame (0..${m.frames - 1})`);
    const st = m.frameState[f];
    if (st !== FrameState.PRIVATE && st !== FrameState.SHARED) throw new InvalidArgumentError(`frame ${f} holds no guest page (state ${st})`);
    if (store !== HostStore.SWAP && store !== HostStore.CACHE) throw new InvalidArgumentError(`store must be HostStore.SWAP or HostStore.CACHE, got ${store}`);
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > PAGE_SIZE) throw new InvalidArgumentError(`stored bytes must be an integer from 1 to ${PAGE_SIZE}, got ${bytes}`);
    const h = this.allocSlot();
    const n = m.frameRefcount[f]!;
    this.store[h] = store;
    this.refs[h] = n;
    this.storedBytes[h] = bytes;
    this.fingerprint[h] = Bun.hash.xxHash3(m.view(f)) as bigint;
    const pt = this.pageTable;
    while (m.frameRmapHead[f]! >= 0) {
      const slot = m.frameRmapHead[f]!;
      this.map.unmapSlot(slot, f); // frees f with its last mapping
      pt.slotFrame[slot] = -1;
      pt.slotHost[slot] = h;
      this.map.populated--;
    }
    if (store === HostStore.SWAP) {
      this.swapSlotsUsed++;
      this.swappedPages += n;
      this.swapOuts += n;
    } else {
      this.cacheSlotsUsed++;
      this.cacheBytesUsed += bytes;
      this.compressedPages += n;
      this.compressions += n;
    }
    return h;
  }

  /** Brings the page of `slot` (guest g) back into a fresh private frame holding `bytes`, checked against the fingerprint. */
  bringBack(g: Guest, slot: number, bytes: Uint8Array): number {
    const pt = this.pageTable;
    const h = pt.slotHost[slot]!;
    if (h < 0) throw new InvalidArgumentError(`${g.name} gfn ${slot - g.slotBase} is not swapped or compressed`);
    if (!(bytes instanceof Uint8Array) || bytes.length !== PAGE_SIZE) throw new InvalidArgumentError(`bytes must be a Uint8Array of ${PAGE_SIZE} bytes`);
    if ((Bun.hash.xxHash3(bytes) as bigint) !== this.fingerprint[h])
      throw new InvalidArgumentError(`${g.name} gfn ${slot - g.slotBase}: the bytes handed back differ from the page taken (fingerprint mismatch): content would be lost`);
    const m = this.memory;
    if (m.freeCount < 1)
      throw new OutOfMachineMemoryError(`machine memory exhausted: bringing back ${g.name} gfn ${slot - g.slotBase} needs 1 free frame, 0 free`, 1, 0);
    const f = m.allocFrame();
    m.segmentOf(f).set(bytes, m.byteOffset(f));
    const shared = this.refs[h]! > 1;
    if (this.store[h] === HostStore.SWAP) this.swapIns++;
    else this.decompressions++;
    this.releaseRef(h, slot);
    this.map.mapSlot(slot, f, false);
    this.map.populated++;
    if (shared) this.sharedSwapInCopies++;
    return f;
  }

  /** Releases the host slot reference of `slot` (its content is discarded); no-op when the page is not taken. */
  dropSlot(slot: number): void {
    const h = this.pageTable.slotHost[slot]!;
    if (h < 0) return;
    this.releaseRef(h, slot);
  }

  /** Takes `n` free frames out of the pool for a compression cache. */
  reserveFrames(n: number): void {
    const m = this.memory;
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`frames to reserve must be a non-negative integer, got ${n}`);
    if (n > m.freeCount) throw new OutOfMachineMemoryError(`machine memory exhausted: a compression cache needs ${n} free frame(s), ${m.freeCount} free`, n, m.freeCount);
    for (let i = 0; i < n; i++) {
      const f = m.allocFrame();
      m.frameState[f] = FrameState.RESERVED;
      this.reserved[this.reservedFrames++] = f;
    }
  }

  /** Returns `n` reserved frames to the pool. */
  releaseFrames(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.reservedFrames) throw new InvalidArgumentError(`frames to release must be an integer from 0 to ${this.reservedFrames}, got ${n}`);
    for (let i = 0; i < n; i++) this.memory.freeFrame(this.reserved[--this.reservedFrames]!);
  }

  private releaseRef(h: number, slot: number): void {
    this.pageTable.slotHost[slot] = -1;
    const swap = this.store[h] === HostStore.SWAP;
    if (swap) {
      this.swappedPages--;
    } else {
      this.compressedPages--;
    }
    if (--this.refs[h]! > 0) return;
    if (swap) this.swapSlotsUsed--;
    else {
      this.cacheSlotsUsed--;
      this.cacheBytesUsed -= this.storedBytes[h]!;
    }
    this.store[h] = HostStore.FREE;
    this.freeSlots[this.freeCount++] = h;
  }

  private allocSlot(): number {
    if (this.freeCount === 0) this.grow();
    return this.freeSlots[--this.freeCount]!;
  }

  private grow(): void {
    const cap = Math.max(1024, this.capacity * 2);
    const grow8 = (a: Uint8Array) => { const b = new Uint8Array(cap); b.set(a); return b; };
    this.store = grow8(this.store);
    const r = new Uint32Array(cap); r.set(this.refs); this.refs = r;
    const fp = new BigUint64Array(cap); fp.set(this.fingerprint); this.fingerprint = fp;
    const sb = new Uint16Array(cap); sb.set(this.storedBytes); this.storedBytes = sb;
    const fr = new Int32Array(cap); fr.set(this.freeSlots.subarray(0, this.freeCount));
    for (let h = cap - 1; h >= this.capacity; h--) fr[this.freeCount++] = h;
    this.freeSlots = fr;
    this.capacity = cap;
  }

  /** Host slots allocated so far (used and free): the metadata's size. */
  get slotCapacity(): number {
    return this.capacity;
  }
}

/**
 * The host-paging part of hv.audit(): every taken page maps no frame; each host slot's refs equal
 * the pages naming it; the per-store counters equal their recomputation; RESERVED frames are
 * exactly the reserved stack.
 */
export function auditHostSlots(hp: HostPaging, memory: MachineMemory, pt: PageTable, guests: readonly Guest[], destroyed: readonly Guest[]): void {
  const fail = (msg: string): never => {
    throw new AuditError(`audit: ${msg}`);
  };
  const refs = new Uint32Array(hp.refs.length);
  let swapped = 0;
  let compressed = 0;
  for (const g of guests)
    for (let s = g.slotBase, e = s + g.pages; s < e; s++) {
      const h = pt.slotHost[s]!;
      if (h < 0) continue;
      if (pt.slotFrame[s] !== -1) fail(`${g.name} gfn ${s - g.slotBase} is in host slot ${h} but maps frame ${pt.slotFrame[s]}`);
      if (h >= hp.store.length || hp.store[h] === HostStore.FREE) fail(`${g.name} gfn ${s - g.slotBase} names host slot ${h}, which is free`);
      refs[h]!++;
      if (hp.store[h] === HostStore.SWAP) swapped++;
      else compressed++;
    }
  for (const g of destroyed)
    for (let s = g.slotBase, e = s + g.pages; s < e; s++) if (pt.slotHost[s] !== -1) fail(`destroyed guest ${g.name} still holds host slot ${pt.slotHost[s]} (gfn ${s - g.slotBase})`);
  let swapSlots = 0;
  let cacheSlots = 0;
  let cacheBytes = 0;
  for (let h = 0; h < hp.store.length; h++) {
    const st = hp.store[h]!;
    if (st === HostStore.FREE) continue;
    if (refs[h] !== hp.refs[h]) fail(`host slot ${h}: refs ${hp.refs[h]} but ${refs[h]} pages name it`);
    if (st === HostStore.SWAP) swapSlots++;
    else {
      cacheSlots++;
      cacheBytes += hp.storedBytes[h]!;
    }
  }
  if (swapped !== hp.swappedPages) fail(`swappedPages counter ${hp.swappedPages}, recomputed ${swapped}`);
  if (compressed !== hp.compressedPages) fail(`compressedPages counter ${hp.compressedPages}, recomputed ${compressed}`);
  if (swapSlots !== hp.swapSlotsUsed) fail(`swapSlotsUsed counter ${hp.swapSlotsUsed}, recomputed ${swapSlots}`);
  if (cacheSlots !== hp.cacheSlotsUsed || cacheBytes !== hp.cacheBytesUsed)
    fail(`cache counters ${hp.cacheSlotsUsed} slots / ${hp.cacheBytesUsed} bytes, recomputed ${cacheSlots} / ${cacheBytes}`);
  let reserved = 0;
  for (let f = 0; f < memory.frames; f++) if (memory.frameState[f] === FrameState.RESERVED) reserved++;
  if (reserved !== hp.reservedFrames) fail(`${reserved} frames are RESERVED but the compression caches hold ${hp.reservedFrames}`);
}
