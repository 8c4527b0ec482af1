/**
 * A guest image filled from a byte stream of guest-physical memory (QEMU `pmemsave` into a named
 * pipe, read by the capture script): chunks of any length arrive in order; whole pages go to an
 * ImageSink (zero test by bytes, digest, size class once per distinct content through a shared
 * DigestTable), a page split across two chunks is carried in one 4 KiB buffer. Memory: the
 * image (18 bytes per page) and one page; the stream's bytes are never kept.
 *
 * markUnpopulated() then turns the pages the host has not backed (from /proc/PID/pagemap) into
 * state "unpopulated": pmemsave reads such a page as zeros, so only a zero page can be one; a
 * content page reported unbacked (the map was read at another moment than the bytes) keeps its
 * content and is counted in `backingConflicts`.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import type { DigestTable } from "./digest-table.ts";
import { GuestImage, ImageSink } from "./guest-image.ts";
import { PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO } from "./page-digest.ts";

export class StreamImageBuilder {
  readonly image: GuestImage;
  private readonly sink: ImageSink;
  private readonly carry = Buffer.alloc(PAGE_SIZE);
  private carried = 0;
  /** Pages received so far. */
  pagesDone = 0;

  constructor(pageCount: number, sizeClasses: DigestTable | null) {
    this.image = new GuestImage(pageCount);
    this.sink = new ImageSink(this.image, sizeClasses);
  }

  /** Feeds the next bytes of the stream; throws when the stream is longer than the guest. */
  push(chunk: Buffer): void {
    let off = 0;
    if (this.carried > 0) {
      const take = Math.min(PAGE_SIZE - this.carried, chunk.length);
      chunk.copy(this.carry, this.carried, 0, take);
      this.carried += take;
      off = take;
      if (this.carried < PAGE_SIZE) return;
      this.emit(this.carry, 0, 1);
      this.carried = 0;
    }
    const whole = Math.floor((chunk.length - off) / PAGE_SIZE);
    if (whole > 0) this.emit(chunk, off, whole);
    off += whole * PAGE_SIZE;
    if (off < chunk.length) {
      chunk.copy(this.carry, 0, off);
      this.carried = chunk.length - off;
    }
  }

  private emit(buf: Buffer, off: number, count: number): void {
    if (this.pagesDone + count > this.image.pageCount) throw new Error(`stream longer than the guest's ${this.image.pageCount} pages`);
    this.sink.pages(this.pagesDone, buf, off, count);
    this.pagesDone += count;
  }

  /** The image once every page has arrived; throws when the stream ended early or mid-page. */
  finish(): GuestImage {
    if (this.carried !== 0 || this.pagesDone !== this.image.pageCount)
      throw new Error(`stream ended after ${this.pagesDone * PAGE_SIZE + this.carried} bytes, expected ${this.image.pageCount * PAGE_SIZE}`);
    return this.image;
  }

  /** Content pages that markUnpopulated() was told are unbacked (left as content). */
  backingConflicts = 0;

  /** Marks zero page i unpopulated where backed[i] === 0; returns how many were marked. */
  markUnpopulated(backed: Uint8Array): number {
    const img = this.image;
    if (backed.length !== img.pageCount) throw new Error(`bug: backing map of ${backed.length} pages for ${img.pageCount}`);
    let n = 0;
    for (let i = 0; i < img.pageCount; i++) {
      if (backed[i] !== 0) continue;
      if (img.state[i] === PAGE_CONTENT) this.backingConflicts++;
      else if (img.state[i] === PAGE_ZERO) {
        img.state[i] = PAGE_UNPOPULATED;
        img.sizeClass[i] = 0;
        n++;
      }
    }
    return n;
  }
}
