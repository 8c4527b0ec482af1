import type { Hypervisor } from "./hypervisor.ts";
import { PAGE_SIZE } from "./machine-memory.ts";

export type GuestMode = "hvm" | "pv";

export interface GuestOptions {
  pages: number;
  mode?: GuestMode;
  name?: string;
}

/**
 * A guest domain. Its pseudo-physical pages (gfn 0 .. pages-1) map to machine frames through
 * the hypervisor's page table (the p2m: `hv.pageTable.slotFrame[slotBase + gfn]`).
 *
 * HVM guests: the hypervisor owns the p2m; remapping a page rewrites only the p2m.
 * PV guests: the guest's own page tables hold machine frame numbers. The model keeps that
 * guest-visible table (`frameTable`) beside the p2m; every remap of an existing entry rewrites
 * it too and counts one `ptUpdates`, because on real Xen that is a validated page-table write.
 *
 * All operations validate first and change nothing when they throw.
 */
export class Guest {
  readonly id: number;
  readonly name: string;
  readonly pages: number;
  readonly mode: GuestMode;
  /** First global page slot of this guest (see PageTable). */
  readonly slotBase: number;
  /** PV only: the guest-visible machine frame table (-1 = not present). Empty for HVM. */
  readonly frameTable: Int32Array;
  /** @internal */ destroyed = false;

  /** @internal use hv.createGuest() */
  constructor(
    private readonly hv: Hypervisor,
    id: number,
    slotBase: number,
    opts: Required<GuestOptions>,
  ) {
    this.id = id;
    this.name = opts.name;
    this.pages = opts.pages;
    this.mode = opts.mode;
    this.slotBase = slotBase;
    this.frameTable = opts.mode === "pv" ? new Int32Array(opts.pages).fill(-1) : new Int32Array(0);
  }

  get alive(): boolean {
    return !this.destroyed;
  }

  /** Writes bytes at offset of page gfn: populates the page or breaks sharing (CoW). */
  write(gfn: number, offset: number, bytes: Uint8Array): void {
    this.hv.writePage(this, gfn, offset, bytes);
  }

  /** A copy of length bytes from offset; an unpopulated page reads as zeros. */
  read(gfn: number, offset = 0, length = PAGE_SIZE - offset): Uint8Array {
    return this.hv.readPage(this, gfn, offset, length);
  }

  /** Copies length bytes from offset into `out` (no allocation: Bun pays ~2 us for a fresh 4 KiB array). */
  readInto(gfn: number, out: Uint8Array, offset = 0, length = Math.min(out.length, PAGE_SIZE - offset)): Uint8Array {
    return this.hv.readPageInto(this, gfn, offset, length, out);
  }

  /** Balloons pages out: they become unpopulated and their frames lose a mapping. */
  discard(gfn: number, count = 1): void {
    this.hv.discardPages(this, gfn, count);
  }

  /** The machine frame of gfn, -1 when unpopulated, hv.zeroFrame when zero-mapped. */
  frameOf(gfn: number): number {
    this.hv.checkGfn(this, gfn);
    return this.hv.pageTable.slotFrame[this.slotBase + gfn]!;
  }

  /** True when gfn maps a frame in the shared state (never for the zero frame). */
  isShared(gfn: number): boolean {
    return this.hv.isSharedFrame(this.frameOf(gfn));
  }
}
