/**
 * The .vmtrace container (workloads/traces/FORMAT.md): writer and validating reader.
 *   bytes 0-7    magic "VMTRACE\0"
 *   8-11         u32 LE format version (1)
 *   12-15        u32 LE header length H
 *   16-19        u32 LE CRC-32 (IEEE, zlib's) of the header bytes
 *   20 ..        H bytes of header JSON (vmtrace-header.ts), then one block per snapshot:
 *                  u32 LE raw length R, u32 LE stored length S, S bytes of zlib (RFC 1950) data
 *                  that inflate to R bytes; nothing after the last block.
 * A block holds, guest after guest, the delta from that guest's previous snapshot (before the
 * first: every page unpopulated, size class 0):
 *   u32 LE n                      pages that changed (state, size class or digest);
 *   n LEB128 varints              index gaps: first = index, then index - previous index - 1;
 *   n bytes                       new state (bits 0-1: 0 unpopulated, 1 zero, 2 content) | size
 *                                 class << 2 (0 for unpopulated, 1..16 otherwise); bit 7 zero;
 *   16 bytes per content entry    its xxh3-64x2 digest (page-digest.ts), in entry order.
 * Canonical: an entry that changes nothing is invalid, so a trace has exactly one encoding and
 * reading then writing it gives the same bytes (zlib level 9 output is deterministic per zlib).
 * The writer holds one previous image per guest (18 bytes per page); the reader one current image.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import { GuestImage } from "./guest-image.ts";
import { TraceFormatError } from "./errors.ts";
import { DIGEST_BYTES, PAGE_CONTENT, PAGE_UNPOPULATED } from "./page-digest.ts";
import { checkHeader, headerJson, VMTRACE_VERSION, type TraceHeader } from "./vmtrace-header.ts";

export const VMTRACE_MAGIC = Buffer.from("VMTRACE\0", "latin1");
const PREFIX = 20;

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** Encodes guest `cur`'s delta from `prev`. */
export function encodeDelta(prev: GuestImage, cur: GuestImage): Buffer {
  let n = 0, contentEntries = 0;
  const pw = prev.digestWords, cw = cur.digestWords;
  const changed = (i: number) =>
    prev.state[i] !== cur.state[i] || prev.sizeClass[i] !== cur.sizeClass[i] ||
    (cur.state[i] === PAGE_CONTENT && (pw[i * 4] !== cw[i * 4] || pw[i * 4 + 1] !== cw[i * 4 + 1] || pw[i * 4 + 2] !== cw[i * 4 + 2] || pw[i * 4 + 3] !== cw[i * 4 + 3]));
  for (let i = 0; i < cur.pageCount; i++) if (changed(i)) {
    n++;
    if (cur.state[i] === PAGE_CONTENT) contentEntries++;
  }
  const out = Buffer.alloc(4 + n * 5 + n + contentEntries * DIGEST_BYTES);
  out.writeUInt32LE(n, 0);
  let p = 4, e = 0, prevIdx = -1;
  const entries = Buffer.alloc(n);
  const digests = Buffer.alloc(contentEntries * DIGEST_BYTES);
  let dp = 0;
  for (let i = 0; i < cur.pageCount; i++) {
    if (!changed(i)) continue;
    let gap = i - prevIdx - 1;
    prevIdx = i;
    while (gap >= 0x80) {
      out[p++] = (gap & 0x7f) | 0x80;
      gap = Math.floor(gap / 128);
    }
    out[p++] = gap;
    entries[e++] = cur.state[i]! | (cur.sizeClass[i]! << 2);
    if (cur.state[i] === PAGE_CONTENT) {
      digests.set(cur.digests.subarray(i * 16, i * 16 + 16), dp);
      dp += 16;
    }
  }
  return Buffer.concat([out.subarray(0, p), entries, digests]);
}

/** Writes a trace to `path` through a temporary file renamed at finish(); abort() leaves nothing. */
export class TraceWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly prev: GuestImage[];
  private written = 0;
  private closed = false;

  constructor(private readonly path: string, readonly header: TraceHeader) {
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmp, "w");
    const json = Buffer.from(headerJson(header), "utf8");
    writeSync(this.fd, Buffer.concat([VMTRACE_MAGIC, u32le(VMTRACE_VERSION), u32le(json.length), u32le(crc32(json)), json]));
    this.prev = header.guests.map((g) => new GuestImage(g.pageCount));
  }

  /** Appends the next snapshot: images[g] is guest g's memory at it. */
  addSnapshot(images: readonly GuestImage[]): void {
    if (this.written >= this.header.snapshots) throw new Error(`bug: more than ${this.header.snapshots} snapshots`);
    const parts = images.map((img, g) => {
      if (img.pageCount !== this.prev[g]!.pageCount) throw new Error(`bug: guest ${g} changed size`);
      const d = encodeDelta(this.prev[g]!, img);
      this.prev[g]!.copyFrom(img);
      return d;
    });
    const raw = Buffer.concat(parts);
    const z = deflateSync(raw, { level: 9 });
    writeSync(this.fd, Buffer.concat([u32le(raw.length), u32le(z.length), z]));
    this.written++;
  }

  finish(): void {
    if (this.written !== this.header.snapshots) throw new Error(`bug: ${this.written} of ${this.header.snapshots} snapshots written`);
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
    rmSync(this.tmp, { force: true });
  }
}

/** Reads and validates a trace; snapshots() applies one block after another to `images`. */
export class TraceReader {
  readonly header: TraceHeader;
  readonly images: GuestImage[];
  /** Per guest, pages whose state or digest changed in the last applied snapshot. */
  readonly changed: number[];
  private readonly bytes: Buffer;
  private readonly bodyOffset: number;

  constructor(readonly path: string) {
    let b: Buffer;
    try {
      b = readFileSync(path);
    } catch (e) {
      throw new TraceFormatError(path, -1, "a readable .vmtrace file", (e as Error).message);
    }
    this.bytes = b;
    if (b.length < PREFIX) throw new TraceFormatError(path, 0, `a ${PREFIX}-byte .vmtrace prefix`, `the file is ${b.length} bytes (truncated)`);
    if (!b.subarray(0, 8).equals(VMTRACE_MAGIC)) throw new TraceFormatError(path, 0, 'the magic "VMTRACE\\0"', `found ${b.subarray(0, 8).toString("hex")}`);
    const version = b.readUInt32LE(8);
    if (version !== VMTRACE_VERSION) throw new TraceFormatError(path, 8, `format version ${VMTRACE_VERSION}`, `found ${version}`);
    const hlen = b.readUInt32LE(12);
    if (PREFIX + hlen > b.length) throw new TraceFormatError(path, 12, `a header of ${hlen} bytes inside the file`, `the file ends at ${b.length} (truncated)`);
    const json = b.subarray(PREFIX, PREFIX + hlen);
    if (crc32(json) !== b.readUInt32LE(16)) throw new TraceFormatError(path, 16, "the header's CRC-32", "the header bytes do not match it");
    let parsed: unknown;
    try {
      parsed = JSON.parse(json.toString("utf8"));
    } catch (e) {
      throw new TraceFormatError(path, PREFIX, "a JSON header", (e as Error).message);
    }
    const h = checkHeader(parsed);
    if (typeof h === "string") throw new TraceFormatError(path, PREFIX, h);
    this.header = h;
    this.bodyOffset = PREFIX + hlen;
    this.images = h.guests.map((g) => new GuestImage(g.pageCount));
    this.changed = h.guests.map(() => 0);
  }

  /** Applies snapshot after snapshot, yielding each index; a bad block throws TraceFormatError. */
  *snapshots(): Generator<number> {
    const b = this.bytes;
    let pos = this.bodyOffset;
    for (let j = 0; j < this.header.snapshots; j++) {
      if (pos + 8 > b.length) throw new TraceFormatError(this.path, pos, `the block of snapshot ${j}`, `the file ends at ${b.length} (truncated)`);
      const rawLen = b.readUInt32LE(pos), zLen = b.readUInt32LE(pos + 4);
      if (pos + 8 + zLen > b.length) throw new TraceFormatError(this.path, pos + 4, `${zLen} bytes of snapshot ${j}'s block`, `the file ends at ${b.length} (truncated)`);
      let raw: Buffer;
      try {
        raw = inflateSync(b.subarray(pos + 8, pos + 8 + zLen));
      } catch (e) {
        throw new TraceFormatError(this.path, pos + 8, `zlib data for snapshot ${j}`, (e as Error).message);
      }
      if (raw.length !== rawLen) throw new TraceFormatError(this.path, pos, `snapshot ${j}'s block to inflate to ${rawLen} bytes`, `it gives ${raw.length}`);
      this.applyBlock(raw, j, pos);
      pos += 8 + zLen;
      yield j;
    }
    if (pos !== b.length) throw new TraceFormatError(this.path, pos, "the end of the file after the last snapshot", `${b.length - pos} more bytes`);
  }

  private applyBlock(raw: Buffer, j: number, blockAt: number): void {
    let p = 0;
    const bad = (what: string, detail?: string): never => {
      throw new TraceFormatError(this.path, blockAt, `${what} (snapshot ${j}, byte ${p} of its inflated block)`, detail);
    };
    for (let g = 0; g < this.images.length; g++) {
      const img = this.images[g]!;
      if (p + 4 > raw.length) bad(`the change count of guest ${g}`);
      const n = raw.readUInt32LE(p);
      p += 4;
      if (n > img.pageCount) bad(`at most ${img.pageCount} changed pages for guest ${g}`, `found ${n}`);
      const idx = new Float64Array(n);
      let prev = -1;
      for (let e = 0; e < n; e++) {
        let gap = 0, mul = 1, byte: number;
        do {
          if (p >= raw.length || mul > 2 ** 35) bad(`a varint index gap for guest ${g}`);
          byte = raw[p++]!;
          gap += (byte & 0x7f) * mul;
          mul *= 128;
        } while (byte & 0x80);
        prev = prev + 1 + gap;
        if (prev >= img.pageCount) bad(`a page index below ${img.pageCount} for guest ${g}`, `found ${prev}`);
        idx[e] = prev;
      }
      if (p + n > raw.length) bad(`${n} entry bytes for guest ${g}`);
      const entryAt = p;
      p += n;
      let changed = 0;
      for (let e = 0; e < n; e++) {
        const v = raw[entryAt + e]!, i = idx[e]!, state = v & 3, cls = v >> 2;
        if (state === 3 || v & 0x80) bad(`a page state of 0, 1 or 2 for page ${i} of guest ${g}`, `entry byte 0x${v.toString(16)}`);
        if (state === PAGE_UNPOPULATED ? cls !== 0 : cls < 1 || cls > 16) bad(`size class ${state === PAGE_UNPOPULATED ? "0 for an unpopulated page" : "1..16"} for page ${i} of guest ${g}`, `found ${cls}`);
        let digestChanged = false;
        if (state === PAGE_CONTENT) {
          if (p + 16 > raw.length) bad(`a digest for page ${i} of guest ${g}`);
          const d = raw.subarray(p, p + 16);
          p += 16;
          digestChanged = img.state[i] !== PAGE_CONTENT || Buffer.compare(d, img.digests.subarray(i * 16, i * 16 + 16)) !== 0;
          img.digests.set(d, i * 16);
        } else if (img.state[i] === PAGE_CONTENT) img.digests.fill(0, i * 16, i * 16 + 16);
        const stateChanged = img.state[i] !== state;
        if (!stateChanged && !digestChanged && img.sizeClass[i] === cls) bad(`an entry that changes page ${i} of guest ${g}`, "it repeats the page's previous state (not canonical)");
        if (stateChanged || digestChanged) changed++;
        img.state[i] = state;
        img.sizeClass[i] = cls;
      }
      this.changed[g] = changed;
    }
    if (p !== raw.length) bad("the end of the block after the last guest", `${raw.length - p} more bytes`);
  }
}
