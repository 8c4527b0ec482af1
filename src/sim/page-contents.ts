/**
 * What every guest page's bytes are, as a few numbers per page, so that a swapped or compressed
 * page can be handed back to the hypervisor (which keeps only a fingerprint) and `--verify` can
 * check every page at the end, without the simulator keeping any bytes of its own.
 *
 * A full-page write leaves named content `id` (content.ts: bytes from (id, seed)). A unique write
 * of s bytes (a partial write) replaces bytes [0, s) and leaves the rest as it was, so a page's
 * bytes are: its *base* (the last full content; the zero page for a page populated by a partial
 * write, which the hypervisor zero-fills), then the unique writes since, oldest first, each
 * overwriting a prefix. Only writes that are not covered by a later, longer one matter, so the
 * list is kept with strictly decreasing sizes, oldest first:
 *   baseId[slot]    the base content id
 *   headSize[slot]  bytes of the latest unique write, 0 when the page holds its base whole
 *   older           slot -> [serial, size, serial, size, ...] of earlier, longer unique writes
 *                   (empty for every canned workload: a region sees one write size)
 * The latest unique write's serial is the runner's contentOf[slot] (UNIQUE_BIT | serial).
 * Allocated only on a host with a size or with --verify (6 bytes per guest page).
 */
import { NO_CONTENT, UNIQUE_BIT, ZERO_CONTENT, type PageFiller } from "./content.ts";

export class PageContents {
  readonly baseId: Uint32Array;
  readonly headSize: Uint16Array;
  private readonly older = new Map<number, number[]>();

  constructor(slots: number) {
    this.baseId = new Uint32Array(slots);
    this.headSize = new Uint16Array(slots);
  }

  /** A full-page write of named content `id` (or zeros). */
  full(slot: number, id: number): void {
    this.baseId[slot] = id;
    this.headSize[slot] = 0;
    if (this.older.size) this.older.delete(slot);
  }

  /** A unique write of `size` bytes onto a page that held `old` (the runner's contentOf before it). */
  unique(slot: number, old: number, size: number): void {
    if (old === NO_CONTENT || old < UNIQUE_BIT) {
      this.baseId[slot] = old === NO_CONTENT ? ZERO_CONTENT : old;
      if (this.older.size) this.older.delete(slot);
    } else {
      const h = this.headSize[slot]!;
      let list = this.older.get(slot);
      if (h > size) {
        if (!list) this.older.set(slot, (list = []));
        list.push(old & 0x7fffffff, h);
      } else if (list) {
        while (list.length && list[list.length - 1]! <= size) list.length -= 2;
        if (!list.length) this.older.delete(slot);
      }
    }
    this.headSize[slot] = size;
  }

  /** The bytes of the page at `slot` (guest `guestId`, page `gfn`) now holding `content`, into `out` (4 KiB). */
  bytes(slot: number, content: number, guestId: number, gfn: number, filler: PageFiller, out: Uint8Array): Uint8Array {
    const base = content < UNIQUE_BIT || content === NO_CONTENT ? content : this.baseId[slot]!;
    if (base === ZERO_CONTENT || base === NO_CONTENT) out.fill(0);
    else out.set(filler.named(base));
    if (content >= UNIQUE_BIT && content !== NO_CONTENT) {
      const list = this.older.get(slot);
      if (list) for (let i = 0; i < list.length; i += 2) out.set(filler.unique(list[i]!, guestId, gfn, list[i + 1]!));
      out.set(filler.unique(content & 0x7fffffff, guestId, gfn, this.headSize[slot]!));
    }
    return out;
  }

  /** Pages with earlier unique writes kept (metadata beyond the 6 bytes per page). */
  get olderPages(): number {
    return this.older.size;
  }
}
