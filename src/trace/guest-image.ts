/**
 * One guest's memory at one moment, page by page, as the analysis and the .vmtrace format see it:
 * a state (unpopulated, zero, content), a size class (1..16, 0 when unpopulated) and, for content
 * pages, the 16-byte digest. 18 bytes per guest page in typed arrays; never the page bytes.
 * ImageSink fills an image from a dump reader: zero pages by a byte compare (not hashed), other
 * pages hashed; size classes (optional: import needs them, analysis does not) are computed once
 * per distinct digest through a DigestTable shared by all dumps of one import.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import type { DigestTable } from "./digest-table.ts";
import type { DumpReader, Extent, PageSink } from "./dump-file.ts";
import { DIGEST_BYTES, digestPage, isZeroPage, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, sizeClassOf, ZERO_SIZE_CLASS } from "./page-digest.ts";

export class GuestImage {
  readonly state: Uint8Array;
  readonly sizeClass: Uint8Array;
  /** Digest of page i at bytes [16 i, 16 i + 16); zeros unless the page is content. */
  readonly digests: Uint8Array;
  /** The same bytes as u32 words (4 per page), for the DigestTable. */
  readonly digestWords: Uint32Array;

  constructor(readonly pageCount: number) {
    this.state = new Uint8Array(pageCount);
    this.sizeClass = new Uint8Array(pageCount);
    this.digests = new Uint8Array(pageCount * DIGEST_BYTES);
    this.digestWords = new Uint32Array(this.digests.buffer);
  }

  copyFrom(o: GuestImage): void {
    this.state.set(o.state);
    this.sizeClass.set(o.sizeClass);
    this.digests.set(o.digests);
  }
}

export class ImageSink implements PageSink {
  constructor(
    readonly image: GuestImage,
    /** When given, size classes are computed (once per distinct digest, kept in aux + 1). */
    private readonly sizeClasses: DigestTable | null,
  ) {}

  pages(index: number, buf: Buffer, off: number, count: number): void {
    const img = this.image;
    for (let k = 0; k < count; k++) {
      const i = index + k, o = off + k * PAGE_SIZE;
      if (img.state[i] !== PAGE_UNPOPULATED) throw new Error(`bug: page ${i} emitted twice`);
      if (isZeroPage(buf, o)) {
        img.state[i] = PAGE_ZERO;
        img.sizeClass[i] = ZERO_SIZE_CLASS;
        continue;
      }
      img.state[i] = PAGE_CONTENT;
      digestPage(buf, o, img.digests, i * DIGEST_BYTES);
      const t = this.sizeClasses;
      if (t) {
        const slot = t.slotOf(img.digestWords, i);
        if (t.inserted) t.aux[slot] = sizeClassOf(buf.subarray(o, o + PAGE_SIZE));
        img.sizeClass[i] = t.aux[slot]!;
      }
    }
  }

  zeroPages(index: number, count: number): void {
    const img = this.image;
    for (let i = index; i < index + count; i++) {
      if (img.state[i] !== PAGE_UNPOPULATED) throw new Error(`bug: page ${i} emitted twice`);
      img.state[i] = PAGE_ZERO;
      img.sizeClass[i] = ZERO_SIZE_CLASS;
    }
  }
}

export interface LoadedDump {
  image: GuestImage;
  extents: readonly Extent[];
  guestKernel?: string;
}

/** Reads a whole dump into a fresh image (the reader is closed afterwards). */
export function loadDump(reader: DumpReader, sizeClasses: DigestTable | null): LoadedDump {
  try {
    const image = new GuestImage(reader.pageCount);
    reader.readAll(new ImageSink(image, sizeClasses));
    return { image, extents: reader.extents, guestKernel: reader.guestKernel };
  } finally {
    reader.close();
  }
}
