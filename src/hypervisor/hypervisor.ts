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
 *   mapZero    one all-zero page moves onto the zero frame; its frame loses that mapping.
 *   unshare / unmergeAll  private copies, content unchanged.
 * Counters are kept incrementally (sharedFrames, sharingMappings, zeroMapped, populatedPages)
 * so stats() is O(1); audit() recomputes them all from scratch.
 */
import { InvalidArgumentError, OutOfMachineMemoryError, VmdedupError } from "./errors.ts";
import { Guest, type GuestOptions } from "./guest.ts";
import { FrameState, MachineMemory, PAGE_SIZE, ZERO_PAGE } from "./machine-memory.ts";
import { PageTable } from "./page-table.ts";
import { auditHypervisor } from "./audit.ts";

export interface HypervisorOptions {
  frames: number;
}

export interface HypervisorStats {
  framesTotal: number;
  framesUsed: number;
  framesFree: number;
  guestPages: number;
  populatedPages: number;
  sharedFrames: number;
  sharingMappings: number;
  zeroMapped: number;
  cowBreaks: number;
  cowCopies: number;
  ptUpdates: number;
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
  // incremental counters
  populatedPages = 0;
  sharedFrames = 0;
  sharingMappings = 0;
  zeroMapped = 0;
  cowBreaks = 0;
  cowCopies = 0;
  ptUpdates = 0;
  /** Bumped whenever the set of guests changes (scanners use it to notice new guests). */
  guestEpoch = 0;

  constructor(opts: HypervisorOptions) {
    const frames = opts?.frames;
    if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAMES)
      throw new InvalidArgumentError(`frames must be an integer from 1 to ${MAX_FRAMES}, got ${frames}`);
    this.memory = new MachineMemory(frames);
    this.zeroFrame = this.memory.zeroFrame;
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
    this.guestEpoch++;
    return g;
  }

  destroyGuest(g: Guest): void {
    this.checkGuest(g);
    const sf = this.pageTable.slotFrame;
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const slot = g.slotBase + gfn;
      const f = sf[slot]!;
      if (f < 0) continue;
      this.unmapSlot(slot, f);
      sf[slot] = -1;
      this.populatedPages--;
    }
    g.destroyed = true;
    this.liveGuests = this.liveGuests.filter((x) => x !== g);
    this.guestEpoch++;
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

  private needFrames(n: number, what: string): void {
    if (n > this.memory.freeCount)
      throw new OutOfMachineMemoryError(
        `machine memory exhausted: ${what} needs ${n} free frame(s), ${this.memory.freeCount} free`,
        n,
        this.memory.freeCount,
      );
  }

  // ---- mapping primitives (accounting in one place) ---------------------------------------

  private linkSlot(slot: number, f: number): void {
    const m = this.memory;
    const pt = this.pageTable;
    const head = m.frameRmapHead[f]!;
    pt.slotPrev[slot] = -1;
    pt.slotNext[slot] = head;
    if (head >= 0) pt.slotPrev[head] = slot;
    m.frameRmapHead[f] = slot;
    pt.slotFrame[slot] = f;
    m.frameRefcount[f]!++;
    if (f === this.zeroFrame) this.zeroMapped++;
    else if (m.frameState[f] === FrameState.SHARED) this.sharingMappings++;
  }

  /** Maps slot to f. `remap`: an existing entry is rewritten (counts a PV page-table update). */
  private mapSlot(slot: number, f: number, remap: boolean): void {
    this.linkSlot(slot, f);
    const g = this.guestById[this.pageTable.slotGuest[slot]!]!;
    if (g.mode === "pv") {
      g.frameTable[slot - g.slotBase] = f;
      if (remap) this.ptUpdates++;
    }
  }

  /** Removes slot from f's reverse map; frees f when its last mapping goes. Leaves slotFrame. */
  private unmapSlot(slot: number, f: number): void {
    const m = this.memory;
    const pt = this.pageTable;
    const prev = pt.slotPrev[slot]!;
    const next = pt.slotNext[slot]!;
    if (prev >= 0) pt.slotNext[prev] = next;
    else m.frameRmapHead[f] = next;
    if (next >= 0) pt.slotPrev[next] = prev;
    pt.slotNext[slot] = -1;
    pt.slotPrev[slot] = -1;
    const g = this.guestById[pt.slotGuest[slot]!]!;
    if (g.mode === "pv") g.frameTable[slot - g.slotBase] = -1;
    const rc = --m.frameRefcount[f]!;
    if (f === this.zeroFrame) {
      this.zeroMapped--;
      return;
    }
    if (m.frameState[f] === FrameState.SHARED) {
      if (rc > 0) this.sharingMappings--;
      else this.sharedFrames--;
    }
    if (rc === 0) m.freeFrame(f);
  }

  private markShared(f: number): void {
    const m = this.memory;
    if (m.frameState[f] !== FrameState.PRIVATE) return;
    m.frameState[f] = FrameState.SHARED;
    this.sharedFrames++;
    this.sharingMappings += m.frameRefcount[f]! - 1;
  }

  /** A SHARED frame with exactly one mapping left becomes PRIVATE (no copy). */
  private markPrivate(f: number): void {
    this.memory.frameState[f] = FrameState.PRIVATE;
    this.sharedFrames--;
  }

  /** Moves slot from frame `from` to a fresh private frame holding a copy (or zeros). */
  private moveToCopy(slot: number, from: number): number {
    const m = this.memory;
    const nf = m.allocFrame();
    if (from === this.zeroFrame) m.zeroFill(nf);
    else m.copyFrame(from, nf);
    this.unmapSlot(slot, from);
    this.mapSlot(slot, nf, true);
    return nf;
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
      this.needFrames(1, `populating ${g.name} gfn ${gfn}`);
      f = m.allocFrame();
      if (bytes.length !== PAGE_SIZE) m.zeroFill(f);
      this.mapSlot(slot, f, false);
      this.populatedPages++;
    } else if (f === this.zeroFrame) {
      this.needFrames(1, `CoW break of zero-mapped ${g.name} gfn ${gfn}`);
      f = this.moveToCopy(slot, f);
      this.cowBreaks++;
    } else if (m.frameState[f] === FrameState.SHARED) {
      if (m.frameRefcount[f] === 1) {
        this.markPrivate(f);
      } else {
        this.needFrames(1, `CoW break of ${g.name} gfn ${gfn}`);
        f = this.moveToCopy(slot, f);
        this.cowCopies++;
      }
      this.cowBreaks++;
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
    if (f < 0) out.fill(0, 0, length);
    else {
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
      if (f < 0) continue;
      this.unmapSlot(slot, f);
      sf[slot] = -1;
      this.populatedPages--;
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
    this.markShared(f1);
    const m = this.memory;
    while (m.frameRmapHead[f2]! >= 0) {
      const slot = m.frameRmapHead[f2]!;
      this.unmapSlot(slot, f2); // frees f2 with its last mapping
      this.mapSlot(slot, f1, true);
    }
  }

  /** Maps one populated, all-zero page onto the canonical zero frame. */
  mapZero(g: Guest, gfn: number): void {
    this.checkGfn(g, gfn);
    const slot = g.slotBase + gfn;
    const f = this.pageTable.slotFrame[slot]!;
    if (f < 0) throw new InvalidArgumentError(`cannot map unpopulated ${g.name} gfn ${gfn} to the zero frame`);
    if (f === this.zeroFrame) return;
    if (!this.memory.isZeroFrameContent(f)) throw new InvalidArgumentError(`${g.name} gfn ${gfn} is not all zeros`);
    this.unmapSlot(slot, f);
    this.mapSlot(slot, this.zeroFrame, true);
  }

  /** Gives gfn a private frame with the same content. */
  unshare(g: Guest, gfn: number): void {
    this.checkGfn(g, gfn);
    const slot = g.slotBase + gfn;
    const f = this.pageTable.slotFrame[slot]!;
    if (f < 0) return;
    if (f === this.zeroFrame) {
      this.needFrames(1, `unsharing zero-mapped ${g.name} gfn ${gfn}`);
      this.moveToCopy(slot, f);
    } else if (this.memory.frameState[f] === FrameState.SHARED) {
      if (this.memory.frameRefcount[f] === 1) this.markPrivate(f);
      else {
        this.needFrames(1, `unsharing ${g.name} gfn ${gfn}`);
        this.moveToCopy(slot, f);
      }
    }
  }

  /** Every page gets a private frame again (like KSM run=2). All-or-nothing. */
  unmergeAll(): void {
    this.needFrames(this.sharingMappings + this.zeroMapped, `unmerging everything`);
    const m = this.memory;
    for (let f = 0; f < m.frames; f++) {
      if (m.frameState[f] !== FrameState.SHARED) continue;
      while (m.frameRefcount[f]! > 1) this.moveToCopy(m.frameRmapHead[f]!, f);
      this.markPrivate(f);
    }
    while (m.frameRmapHead[this.zeroFrame]! >= 0) this.moveToCopy(m.frameRmapHead[this.zeroFrame]!, this.zeroFrame);
  }

  // ---- reporting ----------------------------------------------------------------------------

  stats(): HypervisorStats {
    let guestPages = 0;
    for (const g of this.liveGuests) guestPages += g.pages;
    const m = this.memory;
    return {
      framesTotal: m.frames,
      framesUsed: m.frames - m.freeCount,
      framesFree: m.freeCount,
      guestPages,
      populatedPages: this.populatedPages,
      sharedFrames: this.sharedFrames,
      sharingMappings: this.sharingMappings,
      zeroMapped: this.zeroMapped,
      cowBreaks: this.cowBreaks,
      cowCopies: this.cowCopies,
      ptUpdates: this.ptUpdates,
    };
  }

  /** Throws AuditError naming the first broken invariant. */
  audit(): void {
    auditHypervisor(this);
  }

  /** The guest that owns a page slot (cold path helper for scanners and reports). */
  guestOfSlot(slot: number): Guest {
    const g = this.guestById[this.pageTable.slotGuest[slot]!];
    if (!g) throw new VmdedupError(`slot ${slot} belongs to no guest`);
    return g;
  }
}

export { ZERO_PAGE };
