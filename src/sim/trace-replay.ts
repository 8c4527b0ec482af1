/**
 * Replaying a captured trace (.vmtrace, workloads/traces/FORMAT.md): `vmdedup run --workload
 * trace:NAME|PATH`. This module loads a trace into what the replay runner (replay-runner.ts)
 * writes, synthesises page bytes from digests, and describes a trace as a WorkloadSpec so that a
 * replay flows through every layer (catalogs, run requests, run documents) like a canned workload.
 *
 * What a replay does, guest by guest (times are the trace's, shifted so that the earliest first
 * snapshot of any guest is t = 0):
 *   1. at the guest's first snapshot time it is created (HVM, the trace's page count) and every
 *      populated page of that snapshot is written at once, costing no guest CPU (as a canned
 *      workload's boot): zero pages as zeros, content pages as bytes synthesised from the digest;
 *      unpopulated pages are left untouched (no host backing, so no scanner sees them);
 *   2. between snapshots j-1 and j, every page whose state or digest changed is written once, at
 *      t_{j-1} + u (t_j - t_{j-1}) with u uniform in [0, 1) from a PRNG seeded by (seed, guest):
 *      the changed pages are shuffled and given sorted uniform times. A page that became zero is
 *      written as zeros, one that became unpopulated is discarded (ballooned out), one with new
 *      content gets that content's bytes. So at t_j memory is exactly snapshot j;
 *   3. after its last snapshot a guest's memory stays as it was until the run ends (--duration;
 *      default: the trace's length plus the time for 6 full passes over the replayed guests'
 *      memory at pages-to-scan / sleep-ms).
 * A replayed write is one guest operation: it costs REPLAY_CPU_PER_WRITE (the canned workloads'
 * default cpuPerOp: the trace does not say how much work the guest did around a write) plus a
 * whole page at the cost model's writeByte, plus its CoW breaks. A guest short of CPU performs
 * its due writes later (a backlog, in order), never drops them: the trace says they happened.
 *
 * Page bytes from a digest (synthesizePage): the first 16 bytes are the digest itself (so two
 * different digests never give equal pages), followed by
 * xorshift32 output seeded from the digest up to K >= 98 bytes (never all zero, so no content
 * page is a zero page), then zeros to the end of the page.
 * Equal digests give equal bytes; the bytes do not depend on the seed. K approximates the
 * recorded compressibility: the size class c (zstd-1 size in 1/16ths of a page, rounded up)
 * means a compressed size in ((c-1)/16, c/16] of a page; random bytes do not compress and the
 * zero tail costs zstd about 20-40 bytes, so K = (c - 1/2) x 256 - 30 bytes lands mid-class (c =
 * 16: the whole page random). The test checks that every class comes back as itself under
 * sizeClassOf. Only the size is approximated: a real page's structure (text, pointers) is not.
 * A digest seen with several size classes (only a hand-made trace can do that) keeps the class
 * of its first occurrence, so that equal digests stay equal bytes.
 *
 * What a replay cannot know, and what it does to the counts:
 *   - writes that left a page as it was (a store of the same bytes, or a page written and then
 *     written back between two snapshots): the trace shows no change, so nothing is written.
 *     On a real host such a store breaks CoW on a merged page and the scanner must merge it
 *     again; the replay counts neither the break nor the re-merge;
 *   - several writes to a page within one interval: the replay writes the page once, with its
 *     content at the next snapshot. Real CoW breaks of that page in the interval are >= 1; the
 *     replay's are at most 1, and contents that lived only between two snapshots (and may have
 *     been merged for a while) are never seen;
 *   - when in the interval a write happened, how big it was, and the guest's work around it:
 *     times are seeded uniform, every write is a whole page, CPU per write is a constant.
 * So a replay's cowBreaks (and the CoW cost charged to guests) are a lower bound of the real
 * guests', the lower the longer the interval; merges of long-lived contents, which is what a
 * scanner can reach, are replayed as they were.
 */
import { readFileSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { InvalidArgumentError, PAGE_SIZE } from "../hypervisor/index.ts";
import { DigestTable, GuestImage, PAGE_CONTENT, PAGE_UNPOPULATED, TraceReader, type TraceHeader } from "../trace/index.ts";
import { fmix32, NO_CONTENT, ZERO_CONTENT } from "./content.ts";
import type { FamilySpec, TraceRef, WorkloadSpec } from "./spec.ts";

/** Guest CPU per replayed write besides the write itself: the canned workloads' default cpuPerOp. */
export const REPLAY_CPU_PER_WRITE = "20us";
/**
 * Reads of a replayed guest on a host with a size (replay-runner.ts): the trace records no reads,
 * so these are stated estimates (workloads/SOURCES.md [reads]): 1000 page reads per second per
 * guest (the order of the canned workloads' read rates per guest: 1,000-9,420/s), 90% of them of
 * the guest's last 4096 changed pages (16 MiB: the working set the trace shows), 10% uniform over
 * its memory.
 */
export const REPLAY_READS_PER_SEC = 1000;
export const REPLAY_HOT_READ_SHARE = 0.9;
export const REPLAY_READ_RING = 4096;
/** Repository root: relative trace paths (workloads/traces/NAME.vmtrace) are resolved against it. */
export const REPO_ROOT = resolve(import.meta.dir, "../..");

/** Event codes: the zero page, an unpopulated (discarded) page, or 1 + a content index. */
export const REPLAY_ZERO = ZERO_CONTENT;
export const REPLAY_UNPOPULATED = NO_CONTENT;

export interface ReplayGuest {
  name: string;
  pageCount: number;
  /** Snapshot times, seconds from the replay's start (the trace's minus the earliest first snapshot). */
  timesSec: Float64Array;
  /**
   * Events [eventStart[j], eventStart[j + 1]) are the pages that changed from snapshot j-1 to j
   * (j = 0: the first snapshot's populated pages), in page order.
   */
  eventStart: Uint32Array;
  eventPage: Uint32Array;
  /** REPLAY_ZERO, REPLAY_UNPOPULATED, or 1 + content index. */
  eventCode: Uint32Array;
}

export interface ReplayTrace {
  /** The path as the spec names it, and the file it was read from. */
  ref: TraceRef;
  file: string;
  header: TraceHeader;
  /** Distinct non-zero contents over every guest and snapshot, in order of first appearance. */
  distinct: number;
  /** Content k's digest at bytes [16 k, 16 k + 16), its size class at sizeClass[k]. */
  digests: Uint8Array;
  sizeClass: Uint8Array;
  guests: ReplayGuest[];
}

/** A growable u32 array (setup only). */
class U32List {
  a = new Uint32Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  done(): Uint32Array {
    return this.a.slice(0, this.n);
  }
}

/** The file a TraceRef path names. */
export function traceFile(path: string): string {
  return isAbsolute(path) ? path : join(REPO_ROOT, path);
}

export function fileXxh3(bytes: Uint8Array): string {
  return Bun.hash.xxHash3(bytes).toString(16).padStart(16, "0");
}

let cached: ReplayTrace | null = null;

/**
 * Reads and validates a trace (TraceFormatError on a bad one) and decodes it into per-guest
 * event lists. With `expectXxh3`, a file whose bytes changed is refused. The last trace loaded
 * is kept (it is immutable), so a run and its baseline read it once.
 */
export function loadReplayTrace(path: string, expectXxh3?: string): ReplayTrace {
  const file = traceFile(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InvalidArgumentError(`trace ${path}: cannot read ${file} (${(e as Error).message})`);
  }
  const hash = fileXxh3(bytes);
  if (expectXxh3 !== undefined && hash !== expectXxh3)
    throw new InvalidArgumentError(`trace ${path} changed since the workload was made from it (xxh3 ${hash}, expected ${expectXxh3})`);
  if (cached && cached.file === file && cached.ref.path === path && cached.ref.fileXxh3 === hash) return cached;
  cached = decodeTrace(file, { path, fileXxh3: hash });
  return cached;
}

function decodeTrace(file: string, ref: TraceRef): ReplayTrace {
  const reader = new TraceReader(file);
  const h = reader.header;
  const table = new DigestTable(1 << 14);
  let digests = new Uint8Array(16 << 12);
  let sizeClass = new Uint8Array(1 << 12);
  let distinct = 0;
  const prev = h.guests.map((g) => new GuestImage(g.pageCount));
  const pages = h.guests.map(() => new U32List());
  const codes = h.guests.map(() => new U32List());
  const starts = h.guests.map(() => new Uint32Array(h.snapshots + 1));
  for (const j of reader.snapshots()) {
    reader.images.forEach((img, g) => {
      const old = prev[g]!;
      const ow = old.digestWords, cw = img.digestWords;
      starts[g]![j] = pages[g]!.n;
      for (let i = 0; i < img.pageCount; i++) {
        const s = img.state[i]!;
        const w = i * 4;
        const same = s === old.state[i] && (s !== PAGE_CONTENT || (ow[w] === cw[w] && ow[w + 1] === cw[w + 1] && ow[w + 2] === cw[w + 2] && ow[w + 3] === cw[w + 3]));
        if (same) continue;
        let code: number = s === PAGE_UNPOPULATED ? REPLAY_UNPOPULATED : REPLAY_ZERO;
        if (s === PAGE_CONTENT) {
          // The table's per-digest u32 (count) holds 1 + the content index here.
          const slot = table.slotOf(cw, i);
          if (table.inserted) {
            if (distinct === sizeClass.length) {
              const d = new Uint8Array(digests.length * 2), c = new Uint8Array(sizeClass.length * 2);
              d.set(digests);
              c.set(sizeClass);
              digests = d;
              sizeClass = c;
            }
            digests.set(img.digests.subarray(i * 16, i * 16 + 16), distinct * 16);
            sizeClass[distinct] = img.sizeClass[i]!;
            table.count[slot] = ++distinct;
          }
          code = table.count[slot]!;
        }
        pages[g]!.push(i);
        codes[g]!.push(code);
      }
      old.copyFrom(img);
    });
  }
  const shift = Math.min(...h.guests.map((g) => g.timesSec[0]!));
  const guests = h.guests.map((g, gi): ReplayGuest => {
    starts[gi]![h.snapshots] = pages[gi]!.n;
    return {
      name: g.name, pageCount: g.pageCount, timesSec: Float64Array.from(g.timesSec, (t) => t - shift),
      eventStart: starts[gi]!, eventPage: pages[gi]!.done(), eventCode: codes[gi]!.done(),
    };
  });
  return { ref, file, header: h, distinct, digests: digests.slice(0, distinct * 16), sizeClass: sizeClass.slice(0, distinct), guests };
}

/** Random bytes for size class c (1..16): K of the formula in the header. */
export function randomBytesOfClass(c: number): number {
  return c >= 16 ? PAGE_SIZE : Math.round((Math.max(1, c) - 0.5) * (PAGE_SIZE / 16) - 30); // >= 98 bytes: never an all-zero page
}

/**
 * Fills `out` (4096 bytes) with content k of `digests` (16 bytes per content) at size class
 * `sizeClass` (header: the digest, xorshift32 from it up to randomBytesOfClass, zeros). No allocation.
 */
export function synthesizePage(digests: Uint8Array, k: number, sizeClass: number, out: Uint8Array): Uint8Array {
  const d = k * 16;
  for (let b = 0; b < 16; b++) out[b] = digests[d + b]!;
  const n = randomBytesOfClass(sizeClass);
  const w0 = digests[d]! | (digests[d + 1]! << 8) | (digests[d + 2]! << 16) | (digests[d + 3]! << 24);
  const w1 = digests[d + 8]! | (digests[d + 9]! << 8) | (digests[d + 10]! << 16) | (digests[d + 11]! << 24);
  let x = fmix32((w0 ^ fmix32(w1 ^ 0x9e3779b9)) >>> 0) || 0x6d2b79f5;
  let b = 16;
  for (; b + 4 <= n; b += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[b] = x & 0xff;
    out[b + 1] = (x >>> 8) & 0xff;
    out[b + 2] = (x >>> 16) & 0xff;
    out[b + 3] = x >>> 24;
  }
  for (; b < n; b++) out[b] = (x >>>= 1) & 0xff;
  out.fill(0, n); // xorshift32 never outputs 0, so bytes 16.. are not all zero even for an all-zero digest
  return out;
}

/** A family name for guest `name` (the spec's [a-z0-9-] names), unique by its index when needed. */
function familyName(name: string, i: number, used: Set<string>): string {
  let f = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  if (!/^[a-z0-9]/.test(f)) f = `g${i}${f ? `-${f}` : ""}`;
  if (used.has(f)) f = `${f}-${i}`;
  used.add(f);
  return f;
}

/**
 * The WorkloadSpec of a trace: one family of one HVM guest per trace guest (its page count, its
 * first snapshot time as start, REPLAY_CPU_PER_WRITE), named `trace-<file name>`, with the trace
 * reference (path as given: absolute, or relative to the repository root). Reads and validates
 * the whole trace (loadReplayTrace), so a bad file fails here.
 */
export function traceWorkloadSpec(path: string): WorkloadSpec {
  const t = loadReplayTrace(path);
  const h = t.header;
  const stem = basename(path).replace(/\.vmtrace$/, "");
  const name = `trace-${stem.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "unnamed"}`;
  const used = new Set<string>();
  const families: FamilySpec[] = t.guests.map((g, i) => ({
    name: familyName(g.name, i, used), guests: 1, memory: g.pageCount * PAGE_SIZE, start: g.timesSec[0]!, cpuPerOp: REPLAY_CPU_PER_WRITE,
    regions: [{ name: "trace", fraction: 1, fill: "untouched" }], phases: [{ name: "replay", activities: [] }],
  }));
  const last = Math.max(...t.guests.map((g) => g.timesSec[g.timesSec.length - 1]!));
  const m = h.meta;
  return {
    name,
    description: `replay of ${basename(path)}: ${h.guests.length} guest(s), ${h.snapshots} snapshot(s) over ${last} s${m.workload ? `, workload ${m.workload}` : ""}`,
    sources: [path, ...(m.source ? [m.source] : [])],
    families,
    trace: t.ref,
  };
}

/** Seconds from the replay's start to the last snapshot of the first `guests` guests. */
export function traceLengthSec(t: ReplayTrace, guests: number): number {
  return Math.max(...t.guests.slice(0, guests).map((g) => g.timesSec[g.timesSec.length - 1]!));
}
