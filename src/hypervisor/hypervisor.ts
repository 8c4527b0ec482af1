/**
 * The hypervisor paging model: machine frames shared copy-on-write between guest pages.
 *
 * State lives in two flat structures (see machine-memory.ts and page-table.ts): per-frame
 * refcount/state/write-generation/reverse-map head, and per-page-slot frame/reverse-map links.
 * A frame is FREE (on the free list), PRIVATE (one mapping, writable), SHARED (read-only; it
 * stays SHARED while one mapping remains, until that last sharer writes) or the one ZERO frame.
 *
 * Operations, each validated before it changes anything and all-or-nothing in frames:
 *   write      populate (zero-filled frame) | CoW break: last sharer keeps the frame (Xen's rule,
 *              no copy), else a new frame gets a 4 KiB copy; the zero frame breaks into a fresh
 *              zero-filled frame. Any write of >= 1 byte breaks sharing, whatever the bytes.
 *   share      Xen's share op with the byte check it lacks: every mapping of the source frame
 *              moves onto the surviving frame, which becomes SHARED; the source frame is freed.
 *   shareByHandle  the policies' share (@internal): as Xen's mem_sharing shares by handle, the
 *              caller names the two (slot, frame, write generation) it has just compared equal;
 *              they are validated in O(1) (each slot still maps its frame, neither frame was
 *              written since) instead of comparing 8 KiB again. The byte check runs only with
 *              verifyMerges (option, or VMDEDUP_VERIFY_MERGES=1: tests and debugging).
 *              Option `relocatePick` (VUsion's randomised allocation of fused pages): after the
 *              share, the surviving frame's content and every mapping move to the free frame at
 *              free-list position relocatePick mod framesFree (the caller draws it from its seeded
 *              RNG; which pages and when is the caller's decision); the old frame is freed.
 *   mapZero    one all-zero page moves onto the zero frame; its frame loses that mapping
 *              (mapZeroByHandle: the same by handle, for policies that tested the zeros).
 *   unshare / unmergeAll  private copies, content unchanged.
 * Counters are kept incrementally (sharedFrames, sharingMappings, zeroMapped, populatedPages)
 * so stats() is O(1); audit() recomputes them all from scratch.
 *
 * Size: about 430 lines, over the ~400 guideline since the host swap/compression slots and
 * vusion's relocation joined it; the next split moves the host-slot entry points beside
 * host-slots.ts as frame-mapper.ts took the mapping primitives.
 */
import { InvalidArgumentError, OutOfMachineMemoryError, PageNotPresentError, VmdedupError } from "./errors.ts";
import { Guest, type GuestOptions } from "./guest.ts";
import { FrameState, MachineMemory, PAGE_SIZE, ZERO_PAGE } from "./machine-memory.ts";
import { PageTable } from "./page-table.ts";
import { FrameMapper } from "./frame-mapper.ts";
import { auditHypervisor } from "./audit.ts";
import { auditHostSlots, HostPaging } from "./host-slots.ts";

export interface HypervisorOptions {
  frames: number;
  /** Re-compare the bytes on every shareByHandle/mapZeroByHandle (default: the environment
   * variable VMDEDUP_VERIFY_MERGES=1; off otherwise). The public share/mapZero always do. */
  verifyMerges?: boolean;
}

/** A snapshot of the paging model's counters (hv.stats()). */
export interface HypervisorStats {
  /** Machine frames in the pool (the zero frame excluded). */
  framesTotal: number;
  /** Pool frames not on the free list (PRIVATE or SHARED). */
  framesUsed: number;
  /** Pool frames on the free list. */
  framesFree: number;
  /** Pages of the live guests, populated or not. */
  guestPages: number;
  /** Live guest pages mapping a frame (the zero frame included). */
  populatedPages: number;
  /** Frames in the SHARED state (read-only), whatever their mapping count (>= 1). */
  sharedFrames: number;
  /** Mappings of SHARED frames beyond each frame's first: the pages sharing saves. */
  sharingMappings: number;
  /** Pages mapping the canonical zero frame. */
  zeroMapped: number;
  /** Guest writes that hit a SHARED or zero-mapped page (each breaks its sharing), since creation. */
  cowBreaks: number;
  /** Those CoW breaks that copied the page into a new frame (the last sharer writes in place), since creation. */
  cowCopies: number;
  /** PV page-table entries rewritten because an existing mapping moved (share, mapZero, CoW, unshare), since creation. */
  ptUpdates: number;
  /** Host paging (host-slots.ts): pool frames RESERVED for compression caches; live pages in swap / cache slots; cache bytes. */
  framesReserved: number; swappedPages: number; compressedPages: number; cacheBytes: number;
  /** Since creation: pages moved to swap / to a cache, and brought back from each. */
  swapOuts: number; compressions: number; swapIns: number; decompressions: number;
}

/** Largest pool accepted: 64 GiB of 4 KiB frames. */
export const MAX_FRAMES = 1 << 24;

export class Hypervisor {
  readonly pageSize = PAGE_SIZE;
  readonly memory: MachineMemory;
  readonly pageTable = new PageTable();
  readonly zeroFrame: number;
  /** Every guest ever created, by id (destroyed ones stay, marked). */
  readonly guestById: Guest[] = [];
  private liveGuests: Guest[] = [];
  /** Whether shareByHandle/mapZeroByHandle compare the bytes too (see HypervisorOptions). */
  readonly verifyMerges: boolean;
  /** +1 whenever a guest is created or destroyed (scanners compare it to notice both). */
  private nGuestEpoch = 0;
  /** The mapping primitives and the paging counters they keep (frame-mapper.ts). */
  private readonly map: FrameMapper;
  /** Swap and compression-cache slots of pages whose frames were taken (host-slots.ts; @internal for reclaim policies). */
  readonly host: HostPaging;

  constructor(opts: HypervisorOptions) {
    const frames = opts?.frames;
    if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES)
      throw new InvalidArgumentError(`frames must be an integer from 1 to ${MAX_FRAMES}, got ${frames}`);
    const verify = opts.verifyMerges ?? process.env.VMDEDUP_VERIFY_MERGES === "1";
    if (typeof verify !== "boolean") throw new InvalidArgumentError(`verifyMerges must be a boolean`);
    this.verifyMerges = verify;
    this.memory = new MachineMemory(frames);
    this.zeroFrame = this.memory.zeroFrame;
    this.map = new FrameMapper(this.memory, this.pageTable, this.guestById);
    this.host = new HostPaging(this.memory, this.pageTable, this.map);
  }

  get populatedPages(): number {
    return this.map.populated;
  }
  get sharedFrames(): number {
    return this.map.sharedFrames;
  }
  get sharingMappings(): number {
    return this.map.sharingMappings;
  }
  get zeroMapped(): number {
    return this.map.zeroMapped;
  }
  get cowBreaks(): number {
    return this.map.cowBreaks;
  }
  get cowCopies(): number {
    return this.map.cowCopies;
  }
  get ptUpdates(): number {
    return this.map.ptUpdates;
  }
  get guestEpoch(): number {
    return this.nGuestEpoch;
  }

  get guests(): readonly Guest[] {
    return this.liveGuests;
  }

  createGuest(opts: GuestOptions): Guest {
    const pages = opts?.pages;
    if (!Number.isInteger(pages) || pages < 1 || pages > 1 << 26)
      throw new InvalidArgumentError(`guest pages must be an integer from 1 to ${1 << 26}, got ${pages}`);
    const mode = opts.mode ?? "hvm";
    if (mode !== "hvm" && mode !== "pv") throw new InvalidArgumentError(`guest mode must be "hvm" or "pv", got ${String(mode)}`);
    const id = this.guestById.length;
    const name = opts.name ?? `guest-${id}`;
    if (typeof name !== "string") throw new InvalidArgumentError(`guest name must be a string`);
    const slotBase = this.pageTable.reserve(pages, id);
    const g = new Guest(this, id, slotBase, { pages, mode, name });
    this.guestById.push(g);
    this.liveGuests.push(g);
    this.nGuestEpoch++;
    return g;
  }

  destroyGuest(g: Guest): void {
    this.checkGuest(g);
    const sf = this.pageTable.slotFrame;
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const slot = g.slotBase + gfn;
      const f = sf[slot]!;
      if (f < 0) this.host.dropSlot(slot);
      else {
        this.map.unmapSlot(slot, f);
        sf[slot] = -1;
        this.map.populated--;
      }
    }
    g.destroyed = true;
    this.liveGuests = this.liveGuests.filter((x) => x !== g);
    this.nGuestEpoch++;
  }

  // ---- validation -------------------------------------------------------------------------

  /** @internal */ checkGuest(g: Guest): void {
    if (!(g instanceof Guest) || this.guestById[g.id] !== g) throw new InvalidArgumentError(`not a guest of this hypervisor`);
    if (g.destroyed) throw new InvalidArgumentError(`guest ${g.name} (id ${g.id}) is destroyed`);
  }

  /** @internal */ checkGfn(g: Guest, gfn: number): void {
    this.checkGuest(g);
    if (!Number.isInteger(gfn) || gfn < 0 || gfn >= g.pages)
      throw new InvalidArgumentError(`gfn ${gfn} out of range for guest ${g.name} (0..${g.pages - 1})`);
  }

  private checkSpan(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > PAGE_SIZE)
      throw new InvalidArgumentError(`offset ${offset} must be an integer in 0..${PAGE_SIZE}`);
    if (!Number.isInteger(length) || length < 0 || offset + length > PAGE_SIZE)
      throw new InvalidArgumentError(`offset ${offset} + length ${length} runs past the ${PAGE_SIZE}-byte page`);
  }

  /** A page whose frame was taken (swap, compression cache) must be brought back (hv.host.bringBack) before it is read or written. */
  private checkPresent(g: Guest, gfn: number, slot: number): void {
    if (this.pageTable.slotHost[slot]! >= 0)
      throw new PageNotPresentError(`${g.name} gfn ${gfn} is ${this.host.store[this.pageTable.slotHost[slot]!] === 1 ? "swapped out" : "compressed"}: bring it back first`);
  }

  private needFrames(n: number, what: string): void {
    if (n > this.memory.freeCount)
      throw new OutOfMachineMemoryError(
        `machine memory exhausted: ${what} needs ${n} free frame(s), ${this.memory.freeCount} free`,
        n,
        this.memory.freeCount,
      );
  }

  // ---- guest page operations --------------------------------------------------------------

  /** @internal */ writePage(g: Guest, gfn: number, offset: number, bytes: Uint8Array): void {
    this.checkGfn(g, gfn);
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`bytes must be a Uint8Array`);
    this.checkSpan(offset, bytes.length);
    if (bytes.length === 0) return;
    const m = this.memory;
    const slot = g.slotBase + gfn;
    let f = this.pageTable.slotFrame[slot]!;
    if (f < 0) {
      this.checkPresent(g, gfn, slot);
      this.needFrames(1, `populating ${g.name} gfn ${gfn}`);
      f = m.allocFrame();
      if (bytes.length !== PAGE_SIZE) m.zeroFill(f);
      this.map.mapSlot(slot, f, false);
      this.map.populated++;
    } else if (f === this.zeroFrame) {
      this.needFrames(1, `CoW break of zero-mapped ${g.name} gfn ${gfn}`);
      f = this.map.moveToCopy(slot, f);
      this.map.cowBreaks++;
    } else if (m.frameState[f] === FrameState.SHARED) {
      if (m.frameRefcount[f] === 1) {
        this.map.markPrivate(f);
      } else {
        this.needFrames(1, `CoW break of ${g.name} gfn ${gfn}`);
        f = this.map.moveToCopy(slot, f);
        this.map.cowCopies++;
      }
      this.map.cowBreaks++;
    }
    m.segmentOf(f).set(bytes, m.byteOffset(f) + offset);
    m.frameWriteGen[f] = (m.frameWriteGen[f]! + 1) >>> 0;
  }

  /** @internal */ readPage(g: Guest, gfn: number, offset: number, length: number): Uint8Array {
    this.checkSpan(offset, length);
    return this.readPageInto(g, gfn, offset, length, new Uint8Array(length));
  }

  /** @internal */ readPageInto(g: Guest, gfn: number, offset: number, length: number, out: Uint8Array): Uint8Array {
    this.checkGfn(g, gfn);
    this.checkSpan(offset, length);
    if (!(out instanceof Uint8Array) || out.length < length) throw new InvalidArgumentError(`out must be a Uint8Array of at least ${length} bytes`);
    const f = this.pageTable.slotFrame[g.slotBase + gfn]!;
    if (f < 0) {
      this.checkPresent(g, gfn, g.slotBase + gfn);
      out.fill(0, 0, length);
    } else {
      const off = this.memory.byteOffset(f) + offset;
      out.set(this.memory.segmentOf(f).subarray(off, off + length));
    }
    return out;
  }

  /** @internal */ discardPages(g: Guest, gfn: number, count: number): void {
    this.checkGuest(g);
    if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError(`count ${count} must be a non-negative integer`);
    if (count === 0) return this.checkGfn(g, gfn);
    this.checkGfn(g, gfn);
    if (gfn + count > g.pages) throw new InvalidArgumentError(`gfn ${gfn} + count ${count} runs past guest ${g.name} (${g.pages} pages)`);
    const sf = this.pageTable.slotFrame;
    for (let i = 0; i < count; i++) {
      const slot = g.slotBase + gfn + i;
      const f = sf[slot]!;
      if (f < 0) {
        this.host.dropSlot(slot); // a swapped or compressed page ballooned: its content is discarded
        continue;
      }
      this.map.unmapSlot(slot, f);
      sf[slot] = -1;
      this.map.populated--;
    }
  }

  /** @internal */ isSharedFrame(f: number): boolean {
    return f >= 0 && f !== this.zeroFrame && this.memory.frameState[f] === FrameState.SHARED;
  }

  // ---- sharing ------------------------------------------------------------------------------

  /** Xen-style share: g1's frame survives, every mapping of g2's frame moves onto it. */
  share(g1: Guest, gfn1: number, g2: Guest, gfn2: number): void {
    this.checkGfn(g1, gfn1);
    this.checkGfn(g2, gfn2);
    const sf = this.pageTable.slotFrame;
    const f1 = sf[g1.slotBase + gfn1]!;
    const f2 = sf[g2.slotBase + gfn2]!;
    if (f1 < 0 || f2 < 0)
      throw new InvalidArgumentError(`cannot share an unpopulated page (${f1 < 0 ? `${g1.name} gfn ${gfn1}` : `${g2.name} gfn ${gfn2}`})`);
    if (f1 === f2) return;
    if (f2 === this.zeroFrame) throw new InvalidArgumentError(`the zero frame cannot be shared away; use mapZero on ${g1.name} gfn ${gfn1}`);
    if (!this.memory.framesEqual(f1, f2))
      throw new InvalidArgumentError(`content differs: ${g1.name} gfn ${gfn1} and ${g2.name} gfn ${gfn2} are not identical`);
    this.map.moveMappings(f1, f2);
  }

  /**
   * @internal The policies' share, by handle: `keepSlot` maps `keepFrame` at write generation
   * `keepGen`, `moveSlot` maps `moveFrame` at `moveGen`, as the caller saw them when it compared
   * the two frames equal. Checked in O(1); every mapping of moveFrame moves onto keepFrame (as
   * share). A stale handle (a slot remapped, a frame written since) throws InvalidArgumentError
   * and changes nothing; the bytes are compared again only with verifyMerges.
   * `relocatePick` (an unsigned 32-bit integer; absent or -1: none): the merged page then moves
   * to the free frame at free-list position relocatePick mod framesFree (see the file comment);
   * checked before anything changes, and a free frame always exists then (moveFrame was freed).
   * Returns the frame the merged page lives in: keepFrame, or the relocated frame.
   */
  shareByHandle(keepSlot: number, keepFrame: number, keepGen: number, moveSlot: number, moveFrame: number, moveGen: number, relocatePick = -1): number {
    const sf = this.pageTable.slotFrame;
    const wg = this.memory.frameWriteGen;
    if (sf[keepSlot] !== keepFrame || sf[moveSlot] !== moveFrame || keepFrame < 0 || moveFrame < 0 || wg[keepFrame] !== keepGen || wg[moveFrame] !== moveGen)
      throw new InvalidArgumentError(
        `stale share handle: slot ${keepSlot} frame ${keepFrame} gen ${keepGen} / slot ${moveSlot} frame ${moveFrame} gen ${moveGen} (now frames ${sf[keepSlot]}, ${sf[moveSlot]})`,
      );
    if (relocatePick !== -1 && !(Number.isInteger(relocatePick) && relocatePick >= 0 && relocatePick <= 0xffffffff))
      throw new InvalidArgumentError(`relocatePick must be an unsigned 32-bit integer or -1, got ${relocatePick}`);
    if (keepFrame === moveFrame) return keepFrame;
    if (moveFrame === this.zeroFrame) throw new InvalidArgumentError(`the zero frame cannot be shared away (slot ${moveSlot})`);
    if (keepFrame === this.zeroFrame && relocatePick !== -1) throw new InvalidArgumentError(`the zero frame cannot be relocated (slot ${keepSlot})`);
    if (this.verifyMerges && !this.memory.framesEqual(keepFrame, moveFrame))
      throw new InvalidArgumentError(`content differs: frames ${keepFrame} (slot ${keepSlot}) and ${moveFrame} (slot ${moveSlot}) are not identical`);
    this.map.moveMappings(keepFrame, moveFrame);
    return relocatePick === -1 ? keepFrame : this.map.relocateShared(keepFrame, relocatePick);
  }

  /** Shared frames moved to a drawn free frame by shareByHandle's relocatePick (FrameMapper.relocations). */
  get sharedRelocations(): number {
    return this.map.relocations;
  }

  /** Maps one populated, all-zero page onto the canonical zero frame. */
  mapZero(g: Guest, gfn: number): void {
    this.checkGfn(g, gfn);
    const slot = g.slotBase + gfn;
    const f = this.pageTable.slotFrame[slot]!;
    if (f < 0) throw new InvalidArgumentError(`cannot map unpopulated ${g.name} gfn ${gfn} to the zero frame`);
    if (f === this.zeroFrame) return;
    if (!this.memory.isZeroFrameContent(f)) throw new InvalidArgumentError(`${g.name} gfn ${gfn} is not all zeros`);
    this.map.unmapSlot(slot, f);
    this.map.mapSlot(slot, this.zeroFrame, true);
  }

  /**
   * @internal mapZero by handle, for a policy that has just tested frame `frame` (mapped by
   * `slot` at generation `gen`) for zeros: validated in O(1), bytes re-checked only with verifyMerges.
   */
  mapZeroByHandle(slot: number, frame: number, gen: number): void {
    const sf = this.pageTable.slotFrame;
    if (sf[slot] !== frame || frame < 0 || this.memory.frameWriteGen[frame] !== gen)
      throw new InvalidArgumentError(`stale zero-map handle: slot ${slot} frame ${frame} gen ${gen} (now frame ${sf[slot]})`);
    if (frame === this.zeroFrame) return;
    if (this.verifyMerges && !this.memory.isZeroFrameContent(frame)) throw new InvalidArgumentError(`slot ${slot} (frame ${frame}) is not all zeros`);
    this.map.unmapSlot(slot, frame);
    this.map.mapSlot(slot, this.zeroFrame, true);
  }

  /** Gives gfn a private frame with the same content. */
  unshare(g: Guest, gfn: number): void {
    this.checkGfn(g, gfn);
    const slot = g.slotBase + gfn;
    const f = this.pageTable.slotFrame[slot]!;
    if (f < 0) return;
    if (f === this.zeroFrame) {
      this.needFrames(1, `unsharing zero-mapped ${g.name} gfn ${gfn}`);
      this.map.moveToCopy(slot, f);
    } else if (this.memory.frameState[f] === FrameState.SHARED) {
      if (this.memory.frameRefcount[f] === 1) this.map.markPrivate(f);
      else {
        this.needFrames(1, `unsharing ${g.name} gfn ${gfn}`);
        this.map.moveToCopy(slot, f);
      }
    }
  }

  /** Every page gets a private frame again (like KSM run=2). All-or-nothing. */
  unmergeAll(): void {
    this.needFrames(this.map.sharingMappings + this.map.zeroMapped, `unmerging everything`);
    const m = this.memory;
    for (let f = 0; f < m.frames; f++) {
      if (m.frameState[f] !== FrameState.SHARED) continue;
      while (m.frameRefcount[f]! > 1) this.map.moveToCopy(m.frameRmapHead[f]!, f);
      this.map.markPrivate(f);
    }
    while (m.frameRmapHead[this.zeroFrame]! >= 0) this.map.moveToCopy(m.frameRmapHead[this.zeroFrame]!, this.zeroFrame);
  }

  // ---- reporting ----------------------------------------------------------------------------

  stats(): HypervisorStats {
    let guestPages = 0;
    for (const g of this.liveGuests) guestPages += g.pages;
    const m = this.memory;
    const hp = this.host;
    return {
      framesTotal: m.frames,
      framesUsed: m.frames - m.freeCount - hp.reservedFrames,
      framesFree: m.freeCount,
      guestPages,
      populatedPages: this.map.populated,
      sharedFrames: this.map.sharedFrames,
      sharingMappings: this.map.sharingMappings,
      zeroMapped: this.map.zeroMapped,
      cowBreaks: this.map.cowBreaks,
      cowCopies: this.map.cowCopies,
      ptUpdates: this.map.ptUpdates,
      framesReserved: hp.reservedFrames, swappedPages: hp.swappedPages, compressedPages: hp.compressedPages, cacheBytes: hp.cacheBytesUsed,
      swapOuts: hp.swapOuts, compressions: hp.compressions, swapIns: hp.swapIns, decompressions: hp.decompressions,
    };
  }

  /** Throws AuditError naming the first broken invariant. */
  audit(): void {
    auditHypervisor(this);
    auditHostSlots(this.host, this.memory, this.pageTable, this.liveGuests, this.guestById.filter((g) => g.destroyed));
  }

  /** The guest that owns a page slot (cold path helper for scanners and reports). */
  guestOfSlot(slot: number): Guest {
    const g = this.guestById[this.pageTable.slotGuest[slot]!];
    if (!g) throw new VmdedupError(`slot ${slot} belongs to no guest`);
    return g;
  }
}

export { ZERO_PAGE };
