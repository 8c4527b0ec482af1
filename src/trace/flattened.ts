/**
 * makedumpfile's "flattened" stream (makedumpfile.c write_start_flat_header / -R rearrange), the
 * form QEMU's dump-guest-memory writes kdump-* formats in: a 4096-byte header starting with the
 * signature "makedumpfile" (NUL padded to 16 bytes), then big-endian int64 type (1) and version
 * (1); then records {int64 offset; int64 size} big-endian, each followed by `size` bytes to be
 * placed at `offset` of the reassembled dump; the stream ends with offset = size = -1.
 * We never reassemble: one pass over the record headers (seeking past the data) indexes them,
 * sorted by offset (3 numbers per record; QEMU writes records of 16 KiB and up, so the index is
 * far smaller than the dump), and reads of the reassembled image are served from the records.
 * Bytes no record covers read as zeros, as in the sparse file `makedumpfile -R` would write.
 * Two records over the same bytes are rejected as overlapping.
 */
import type { DumpFile } from "./dump-file.ts";
import { DumpFormatError } from "./errors.ts";

export const FLAT_SIGNATURE = "makedumpfile";
const FLAT_HEADER_BYTES = 4096;

/** Random access to a dump's bytes: the file itself, or a flattened stream's reassembled image. */
export interface DumpImage {
  readonly size: number;
  /** True when offsets are in a reassembled flattened image, not in the file. */
  readonly flattened: boolean;
  read(pos: number, len: number, dst: Buffer, dstOff: number, what: string): void;
}

export function plainImage(file: DumpFile): DumpImage {
  return { size: file.size, flattened: false, read: (p, l, d, o, w) => file.readExact(p, l, d, o, w) };
}

export function isFlattened(head: Buffer): boolean {
  return head.length >= 16 && head.toString("latin1", 0, 12) === FLAT_SIGNATURE && head[12] === 0;
}

export class FlatImage implements DumpImage {
  readonly flattened = true;
  readonly size: number;
  private readonly off: Float64Array;
  private readonly len: Float64Array;
  private readonly filePos: Float64Array;

  constructor(private readonly file: DumpFile) {
    const head = file.bytesAt(0, Math.min(FLAT_HEADER_BYTES, file.size), "the flattened-format header");
    if (!isFlattened(head)) throw new DumpFormatError(file.path, 0, `the flattened-format signature "${FLAT_SIGNATURE}"`, `found ${JSON.stringify(head.toString("latin1", 0, 12))}`);
    if (file.size < FLAT_HEADER_BYTES) throw new DumpFormatError(file.path, 0, `a ${FLAT_HEADER_BYTES}-byte flattened-format header`, `the file is ${file.size} bytes`);
    const type = head.readBigInt64BE(16), version = head.readBigInt64BE(24);
    if (type !== 1n) throw new DumpFormatError(file.path, 16, "flattened-format type 1", `found ${type}`);
    if (version !== 1n) throw new DumpFormatError(file.path, 24, "flattened-format version 1", `found ${version}`);
    const recs: number[] = [];
    const rh = Buffer.alloc(16);
    let pos = FLAT_HEADER_BYTES;
    for (;;) {
      if (pos + 16 > file.size) throw new DumpFormatError(file.path, pos, "a flattened record header or the end marker (offset -1, size -1)", "the file ends first (truncated)");
      file.readExact(pos, 16, rh, 0, "a flattened record header");
      const o = rh.readBigInt64BE(0), s = rh.readBigInt64BE(8);
      if (o === -1n && s === -1n) break;
      if (o < 0n || s < 0n || o + s > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpFormatError(file.path, pos, "a record with offset >= 0 and size >= 0", `offset ${o}, size ${s}`);
      const size = Number(s);
      if (pos + 16 + size > file.size) throw new DumpFormatError(file.path, pos, `${size} bytes of record data after the record header`, `the file ends at ${file.size} (truncated)`);
      recs.push(Number(o), size, pos + 16);
      pos += 16 + size;
    }
    const n = recs.length / 3;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => recs[a * 3]! - recs[b * 3]!);
    this.off = new Float64Array(n);
    this.len = new Float64Array(n);
    this.filePos = new Float64Array(n);
    let end = 0;
    order.forEach((r, i) => {
      this.off[i] = recs[r * 3]!;
      this.len[i] = recs[r * 3 + 1]!;
      this.filePos[i] = recs[r * 3 + 2]!;
      if (i > 0 && this.off[i]! < this.off[i - 1]! + this.len[i - 1]!) {
        throw new DumpFormatError(file.path, this.filePos[i]! - 16, "flattened records over disjoint ranges of the dump", `the record for image offset ${this.off[i]} overlaps the one at ${this.off[i - 1]} (${this.len[i - 1]} bytes)`);
      }
      end = Math.max(end, this.off[i]! + this.len[i]!);
    });
    this.size = end;
  }

  read(pos: number, len: number, dst: Buffer, dstOff: number, what: string): void {
    if (pos < 0 || pos + len > this.size) throw new DumpFormatError(this.file.path, pos, `${len} bytes of ${what} (offset in the reassembled image)`, `the reassembled image ends at ${this.size}`);
    // last record starting at or before pos
    let lo = 0, hi = this.off.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.off[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    let p = pos, r = lo;
    const stop = pos + len;
    while (p < stop) {
      const ro = this.off[r] ?? Infinity, rl = this.len[r] ?? 0;
      if (p < ro) {
        const gap = Math.min(ro, stop) - p; // not covered by any record: zeros
        dst.fill(0, dstOff + p - pos, dstOff + p - pos + gap);
        p += gap;
      } else if (p < ro + rl) {
        const n = Math.min(ro + rl, stop) - p;
        this.file.readExact(this.filePos[r]! + (p - ro), n, dst, dstOff + p - pos, what);
        p += n;
      } else r++;
    }
  }
}
