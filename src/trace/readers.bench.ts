#!/usr/bin/env bun
/**
 * Benchmark of the dump readers, each beside a sequential read of the same file in the same run
 * (manual timed loops, median of --trials, JSON on stdout or to --out):
 *   seqRead      readSync of the file in 4 MiB chunks into one buffer (page cache warm), the reference;
 *   raw, elf     the reader streaming every page into an ImageSink (zero test, XXH3-128 digest of
 *                every non-zero page; no size classes, as `vmdedup analyze` does), as GB/s and as a
 *                fraction of seqRead;
 *   kdump        a flattened kdump-zlib dump of the mix's first 64 MiB, its non-zero pages made
 *                compressible text so that every one is inflated, rate only;
 *   digests      per-page cost of the 128-bit digest candidates over a cold 128 MiB sweep of random pages;
 *   sizeCodecs   per-page cost of the size-class codec candidates on compressible pages.
 * Two page mixes: "guest-like" (60% zero, 20% from 2,000 shared contents, 20% unique; real guests
 * are 55-69% zero, real-guests.md) and "no-zero" (every page unique random: the digest on every page).
 *   bun src/trace/readers.bench.ts [--mib 256] [--trials 3] [--out FILE.json]
 */
import { createXXHash128 } from "hash-wasm";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deflateRawSync } from "node:zlib";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { CHUNK_BYTES } from "./dump-file.ts";
import { GuestImage, ImageSink } from "./guest-image.ts";
import { openDump } from "./open-dump.ts";
import { elfCore, kdump, pageOf, textPageOf } from "./test-dumps.ts";
import { rng } from "./trace-fixtures.test-util.ts";

const { values } = parseArgs({ options: { mib: { type: "string" }, trials: { type: "string" }, out: { type: "string" } } });
const MIB = Number(values.mib ?? 256), TRIALS = Number(values.trials ?? 3);
const pages = (MIB << 20) / PAGE_SIZE;
const dir = mkdtempSync(join(tmpdir(), "vmdedup-bench-"));
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

function mixIds(kind: "guest-like" | "no-zero", n: number): number[] {
  const r = rng(42);
  return Array.from({ length: n }, (_, i) => {
    if (kind === "no-zero") return 1 + i;
    const u = r();
    return u < 0.6 ? 0 : u < 0.8 ? 1 + Math.floor(r() * 2000) : 1_000_000 + i;
  });
}

function seqRead(path: string): number {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let total = 0, n = 0;
  while ((n = readSync(fd, buf, 0, CHUNK_BYTES, null)) > 0) total += n + buf[n - 1]!;
  closeSync(fd);
  return total;
}

function readDump(path: string): number {
  const r = openDump(path);
  const img = new GuestImage(r.pageCount);
  r.readAll(new ImageSink(img, null));
  r.close();
  return img.pageCount;
}

/** Median seconds of f over TRIALS, after one warm-up. */
function time(f: () => unknown, trials = TRIALS): number {
  f();
  const ts: number[] = [];
  for (let t = 0; t < trials; t++) {
    const t0 = performance.now();
    f();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

function benchMix(kind: "guest-like" | "no-zero") {
  const ids = mixIds(kind, pages);
  const rawPath = join(dir, `${kind}.raw`), elfPath = join(dir, `${kind}.elf`);
  const fd = openSync(rawPath, "w");
  for (let i = 0; i < pages; i += 1024) writeSync(fd, Buffer.concat(ids.slice(i, i + 1024).map(pageOf)));
  closeSync(fd);
  const data = Buffer.concat(ids.map(pageOf));
  writeFileSync(elfPath, elfCore([{ paddr: 0, data: data.subarray(0, data.length / 2) }, { paddr: 2 ** 32, data: data.subarray(data.length / 2) }]));
  const bytes = pages * PAGE_SIZE;
  const seqSec = time(() => seqRead(rawPath));
  const rawSec = time(() => readDump(rawPath));
  const seqElfSec = time(() => seqRead(elfPath));
  const elfSec = time(() => readDump(elfPath));
  const kPages = Math.min(pages, 16384);
  const frames = new Map<number, Buffer | null>(ids.slice(0, kPages).map((id, i) => [i, id === 0 ? pageOf(0) : textPageOf(id)])); // compressible, so zlib is used
  const kPath = join(dir, `${kind}.kdump`);
  writeFileSync(kPath, kdump({ frames, maxMapnr: kPages, flattened: true }));
  const kSec = time(() => readDump(kPath));
  rmSync(rawPath);
  rmSync(elfPath);
  rmSync(kPath);
  const gbs = (b: number, s: number) => b / s / 1e9;
  return {
    mix: kind,
    bytes,
    seqReadGBps: gbs(bytes, seqSec),
    raw: { GBps: gbs(bytes, rawSec), ofSeqRead: seqSec / rawSec },
    seqReadElfGBps: gbs(bytes, seqElfSec),
    elf: { GBps: gbs(bytes, elfSec), ofSeqRead: seqElfSec / elfSec },
    kdumpZlibFlattened: { pages: kPages, GBps: gbs(kPages * PAGE_SIZE, kSec), usPerPage: (kSec * 1e6) / kPages },
  };
}

async function benchDigests() {
  const n = 32768; // 128 MiB, far beyond L2
  const region = Buffer.concat(Array.from({ length: n }, (_, i) => pageOf(i + 1)));
  const h128 = await createXXHash128();
  let sink = 0;
  const per = (f: (v: Uint8Array) => void) => {
    const s = time(() => {
      for (let i = 0; i < n; i++) f(region.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    });
    return (s * 1e6) / n;
  };
  const i32 = new Int32Array(region.buffer, region.byteOffset, region.length / 4);
  const out = {
    "read page (Int32 xor loop), reference": per((v) => {
      const o = (v.byteOffset - region.byteOffset) >> 2;
      let x = 0;
      for (let k = o; k < o + 1024; k++) x ^= i32[k]!;
      sink ^= x;
    }),
    "hash-wasm xxhash128 (XXH3-128)": per((v) => {
      h128.init();
      h128.update(v);
      sink ^= h128.digest("binary")[0]!;
    }),
    "2 x Bun.hash.xxHash3, seeds 0 and 0x9e3779b9 (chosen)": per((v) => void (sink ^= Number((Bun.hash.xxHash3(v, 0n) ^ Bun.hash.xxHash3(v, 0x9e3779b9n)) & 1n))),
    "Bun.hash.xxHash3 + Bun.hash.wyhash": per((v) => void (sink ^= Number((Bun.hash.xxHash3(v) ^ Bun.hash.wyhash(v)) & 1n))),
    "Bun.hash.crc32 (32 bits only)": per((v) => void (sink ^= Bun.hash.crc32(v))),
    "Bun.hash.xxHash3 (64 bits only)": per((v) => void (sink ^= Number(Bun.hash.xxHash3(v) & 1n))),
  };
  return { usPerPage: out, sink: sink & 1 };
}

function benchCodecs() {
  const n = 4096;
  const region = Buffer.concat(Array.from({ length: n }, (_, i) => textPageOf(i)));
  const per = (f: (v: Uint8Array) => number) => {
    let total = 0;
    const s = time(() => {
      total = 0;
      for (let i = 0; i < n; i++) total += f(region.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    });
    return { usPerPage: (s * 1e6) / n, meanBytes: total / n };
  };
  return {
    "Bun.zstdCompressSync level 1 (chosen)": per((v) => Bun.zstdCompressSync(v, { level: 1 }).length),
    "Bun.deflateSync level 1": per((v) => Bun.deflateSync(v as Uint8Array<ArrayBuffer>, { level: 1 }).length),
    "node:zlib deflateRawSync level 1": per((v) => deflateRawSync(v, { level: 1 }).length),
  };
}

const result = {
  bench: "trace readers",
  date: new Date().toISOString(),
  mib: MIB,
  trials: TRIALS,
  mixes: [benchMix("guest-like"), benchMix("no-zero")],
  digests: await benchDigests(),
  sizeCodecs: benchCodecs(),
};
rmSync(dir, { recursive: true, force: true });
const text = JSON.stringify(result, null, 1);
if (values.out) writeFileSync(values.out, text + "\n");
console.log(text);
