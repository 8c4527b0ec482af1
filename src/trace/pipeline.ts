/**
 * The two jobs the CLI runs: import dumps into a .vmtrace, and analyse dumps or a trace.
 * Import validates everything it can before the long work: the output's directory, then every
 * dump's headers and tables (and that the dumps of one guest describe the same frames); the
 * trace goes to a temporary file renamed only when complete, so a bad dump leaves nothing.
 * Analysing dumps reads one dump at a time into a guest image, adds it to the snapshot's counter
 * and drops it: memory is the counter's digest table plus one guest's image.
 */
import { accessSync, constants, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { AnalysisBuilder, SnapshotCounter, type Analysis } from "./analyze.ts";
import { DigestTable } from "./digest-table.ts";
import type { DumpFormat, DumpReader, Extent } from "./dump-file.ts";
import { DumpFormatError, TraceInputError } from "./errors.ts";
import { GuestImage, loadDump } from "./guest-image.ts";
import { openDump } from "./open-dump.ts";
import { newHeader, type TraceGuest, type TraceHeader, type TraceMeta } from "./vmtrace-header.ts";
import { TraceReader, TraceWriter } from "./vmtrace.ts";

export interface ImportGuest {
  name: string;
  /** One dump per snapshot, in time order. */
  dumps: string[];
}

export interface ImportOptions {
  everySec?: number;
  format?: DumpFormat;
  meta?: TraceMeta;
  onDump?: (guest: string, snapshot: number, path: string, seconds: number) => void;
}

/** A guest name from a dump's file name: the base name without its last extension. */
export function guestNameOf(path: string): string {
  const b = basename(path);
  const dot = b.lastIndexOf(".");
  return dot > 0 ? b.slice(0, dot) : b;
}

/** Throws a TraceInputError unless `out` can be created or replaced as a file. */
export function checkOutputPath(out: string): void {
  const dir = dirname(out);
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new TraceInputError(out, -1, "an output path in an existing, writable directory", `${dir}: ${(e as Error).message}`);
  }
  try {
    if (statSync(out).isDirectory()) throw new TraceInputError(out, -1, "an output file path", "it is a directory");
  } catch (e) {
    if (e instanceof TraceInputError) throw e;
  }
}

const sameExtents = (a: readonly Extent[], b: readonly Extent[]) => a.length === b.length && a.every((e, i) => e.firstPfn === b[i]!.firstPfn && e.pages === b[i]!.pages);

/** Opens every dump once to validate it and learn its layout; returns the trace header. */
function planImport(guests: readonly ImportGuest[], o: ImportOptions): TraceHeader {
  const snapshots = guests[0]!.dumps.length;
  const tg: TraceGuest[] = [];
  let kernel: string | undefined;
  const formats = new Set<string>();
  for (const g of guests) {
    let first: DumpReader | null = null;
    let extents: readonly Extent[] = [];
    for (const d of g.dumps) {
      const r = openDump(d, o.format);
      try {
        formats.add(r.format);
        kernel ??= r.guestKernel;
        if (!first) {
          first = r;
          extents = r.extents;
        } else if (!sameExtents(extents, r.extents)) {
          throw new DumpFormatError(d, -1, `the same guest-physical frames as ${g.dumps[0]} (every dump of guest ${g.name})`, `${r.pageCount} pages in ${r.extents.length} runs against ${first.pageCount} in ${extents.length}`);
        }
      } finally {
        r.close();
      }
    }
    tg.push({
      name: g.name,
      pageCount: first!.pageCount,
      extents: extents.map((e) => [e.firstPfn, e.pages]),
      timesSec: g.dumps.map((_, j) => j * (o.everySec ?? 0)),
      sources: g.dumps.map((d) => basename(d)),
    });
  }
  const meta: TraceMeta = { source: `vmdedup import (${[...formats].join(", ")} dumps)`, ...(kernel ? { guestKernel: kernel } : {}), ...(snapshots > 1 ? { intervalSec: o.everySec } : {}), ...o.meta };
  return newHeader(tg, snapshots, meta);
}

/** Imports dumps into a trace at `out`; nothing is left at `out` (or beside it) on error. */
export function importDumps(out: string, guests: readonly ImportGuest[], o: ImportOptions = {}): TraceHeader {
  if (guests.length === 0) throw new Error("bug: no guests");
  const snapshots = guests[0]!.dumps.length;
  if (guests.some((g) => g.dumps.length !== snapshots)) throw new Error("bug: guests with different snapshot counts");
  if (snapshots > 1 && !(o.everySec! > 0)) throw new Error("bug: a time series needs everySec > 0");
  checkOutputPath(out);
  const header = planImport(guests, o);
  const writer = new TraceWriter(out, header);
  try {
    const sizeClasses = new DigestTable(1 << 16);
    for (let j = 0; j < snapshots; j++) {
      const images: GuestImage[] = [];
      for (const g of guests) {
        const t0 = performance.now();
        images.push(loadDump(openDump(g.dumps[j]!, o.format), sizeClasses).image);
        o.onDump?.(g.name, j, g.dumps[j]!, (performance.now() - t0) / 1000);
      }
      writer.addSnapshot(images);
    }
    writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
  return header;
}

/** Analyses dumps as one snapshot, one guest per dump (named after the files). */
export function analyzeDumps(paths: readonly string[], o: { format?: DumpFormat; perSnapshot?: boolean } = {}): Analysis {
  const readers = paths.map((p) => openDump(p, o.format)); // validate all before reading any
  readers.forEach((r) => r.close());
  const names = paths.map(guestNameOf);
  const builder = new AnalysisBuilder(names, names.map(() => [0]), !!o.perSnapshot);
  const counter = new SnapshotCounter();
  for (const p of paths) counter.addGuest(loadDump(openDump(p, o.format), null).image);
  builder.addFigures(counter.figures(0), counter.pagesPerGuest);
  return builder.finish();
}

export function analyzeTrace(path: string, o: { perSnapshot?: boolean } = {}): Analysis & { header: TraceHeader } {
  const r = new TraceReader(path);
  const h = r.header;
  const builder = new AnalysisBuilder(h.guests.map((g) => g.name), h.guests.map((g) => g.timesSec), !!o.perSnapshot);
  for (const j of r.snapshots()) builder.add(r.images, j > 0 ? r.changed : null, j === h.snapshots - 1);
  return { ...builder.finish(), header: h };
}
