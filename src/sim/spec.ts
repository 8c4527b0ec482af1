/**
 * Workload specs: the typed format of workloads/*.ts and user spec files (.ts or .json), its
 * validator, and its resolution into numbers (bytes, seconds, pages) with --guests/--guest-mem
 * overrides applied. The format is documented in workloads/README.md.
 *
 * A spec is a list of guest families. Each family has identical guests whose memory is cut into
 * regions (fractions of guest memory, adding up to 1, laid out in order from gfn 0) and whose
 * behaviour runs through phases (boot, warm-up, steady ...; the last phase lasts to the end).
 * Validation runs before anything is built: an unknown field, a wrong type, a negative size,
 * fractions or weights that do not add up, a region name an activity does not know: every
 * error is a WorkloadSpecError naming the field by its path.
 *
 * Size: about 460 lines, over the ~400 guideline (types, validator and resolution of one
 * format); the next split moves the field validators into their own module.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { WorkloadSpecError } from "./errors.ts";
import { parseDuration, parseSize } from "./units.ts";

export type RegionFill = "untouched" | "zero" | "shared" | "private";
export const REGION_FILLS: readonly RegionFill[] = ["untouched", "zero", "shared", "private"];

export interface RegionSpec {
  name: string;
  /** Share of guest memory, 0..1. A family's region fractions add up to 1. */
  fraction: number;
  /** untouched: never written at boot; zero: written zeros; shared: the same bytes in every guest with this shareKey; private: this guest's own bytes. */
  fill: RegionFill;
  /** >= 1: each distinct content appears this many times inside one guest (default 1 = all distinct). */
  copies?: number;
  /** shared regions with the same key hold the same contents, page for page (default "<family>/<region>"). */
  shareKey?: string;
  /** Fraction of the region written at boot (default 1; 0 for untouched). The rest is filled by activities. */
  populated?: number;
  /** Share of a page's bytes a compressor saves, 0..1 (compressed size = (1 - compressibility) x 4 KiB on average);
   * used only on an overcommitted host. Default by fill: zero 0.99, shared 0.55, private 0.6 (host-memory.ts). */
  compressibility?: number;
}

/** What a write leaves in the page; weights add up to 1. */
export interface ProducesSpec {
  /** a partial write (writeSize bytes) that makes the page unique: a (guest, page, version) header + data */
  unique?: number;
  /** a full page whose content depends on (region's key, page, epoch): guests of the family (or of the shareKey) writing the same page in the same epoch write the same bytes */
  shared?: number;
  /** a full page holding the region's original content again (page-cache re-read) */
  original?: number;
  /** a full page of zeros (memory freed and re-zeroed, INIT_ON_ALLOC) */
  zero?: number;
}

export interface ActivitySpec {
  region: string;
  /** Operations per simulated second per guest (each one write). */
  writesPerSec: number;
  /** Bytes of a "unique" write, 16..4096 (default 4096). Other kinds write whole pages. */
  writeSize?: number;
  /** Hot set: this fraction of the region's pages ... (default 1) */
  hotFraction?: number;
  /** ... receives this share of the writes (default 1). */
  hotProbability?: number;
  /** Alternative to the hot set: Zipf exponent over the region's pages (each guest its own ranking). */
  zipf?: number;
  produces: ProducesSpec;
  /** For "shared" writes: content changes every epoch (a process lifetime). Default "10s". */
  sharedEpoch?: string | number;
  /** Reads per simulated second per guest, pages chosen as the writes' (hot set / zipf). Default 0. They cost
   * nothing while the page is resident and take effect only on a host with --host-mem (a read of a swapped or
   * compressed page brings it back first); without a host size they are not simulated at all. */
  readsPerSec?: number;
}

/** A CoW storm: at `at` after the phase starts, every page of `regions` is rewritten, evenly over `over` (default "1s"),
 * with content that is the same in every guest of the family (a guest OS update, a page-cache flush), so it can merge again. */
export interface StormSpec {
  at?: string | number;
  over?: string | number;
  regions: string[];
}

export interface PhaseSpec {
  name: string;
  /** Omitted only on the last phase, which lasts to the end of the run. */
  duration?: string | number;
  activities: ActivitySpec[];
  storm?: StormSpec;
}

export interface FamilySpec {
  name: string;
  guests: number;
  memory: string | number;
  mode?: "hvm" | "pv";
  /** Simulated time of the first guest's start (default 0). */
  start?: string | number;
  /** Delay between successive guests' starts (default 0). */
  stagger?: string | number;
  /** Guest CPU time per operation besides the write itself (the application's work), default "20us". */
  cpuPerOp?: string | number;
  regions: RegionSpec[];
  phases: PhaseSpec[];
}

export interface WorkloadSpec {
  name: string;
  /** One line, shown by `vmdedup list`. */
  description: string;
  /** Where the numbers come from (for the canned workloads: sections of workloads/SOURCES.md). */
  sources: string[];
  families: FamilySpec[];
  /**
   * A replayed trace (src/sim/trace-replay.ts; such specs are made by traceWorkloadSpec, never by
   * hand): the families then describe the trace's guests, one family of one guest each, in trace
   * order, and the trace drives every write (their regions are "untouched" and their phases idle).
   */
  trace?: TraceRef;
  /** The simulated host: `memory` a size ("2GiB") or a share of all guest memory ("45%"). Without it (and without
   * --host-mem) the host has a frame for every guest page and nothing is reclaimed. */
  host?: { memory: string | number };
}

/** Which trace a spec replays: the file and the XXH3-64 of its bytes (a changed file is refused). */
export interface TraceRef {
  /** The .vmtrace file: absolute, or relative to the repository root (workloads/traces/NAME.vmtrace). */
  path: string;
  /** Bun.hash.xxHash3 of the whole file, 16 hex digits. */
  fileXxh3: string;
}

// ---- resolved form (numbers only) ----------------------------------------------------------------

export interface ResolvedRegion {
  name: string;
  fill: RegionFill;
  firstPage: number;
  pages: number;
  copies: number;
  shareKey: string;
  populatedPages: number;
  compressibility: number;
  /** No activity of any phase reads or writes it and it is zero or untouched: the guest's free memory (balloon first). */
  free: boolean;
}
export interface ResolvedActivity {
  region: number; // index into regions
  writesPerSec: number;
  writeSize: number;
  hotPages: number;
  hotProbability: number;
  zipf: number; // 0 = off
  /** cumulative weights: unique, shared, original, zero */
  cum: [number, number, number, number];
  sharedEpochSec: number;
  readsPerSec: number;
}
export interface ResolvedStorm {
  atSec: number;
  overSec: number;
  regions: number[];
}
export interface ResolvedPhase {
  name: string;
  durationSec: number; // Infinity for the last
  activities: ResolvedActivity[];
  storm: ResolvedStorm | null;
}
export interface ResolvedFamily {
  name: string;
  guests: number;
  pages: number;
  mode: "hvm" | "pv";
  startSec: number;
  staggerSec: number;
  cpuPerOpSec: number;
  regions: ResolvedRegion[];
  phases: ResolvedPhase[];
}
export interface ResolvedWorkload {
  name: string;
  description: string;
  families: ResolvedFamily[];
  totalGuests: number;
  totalPages: number;
  /** The spec's host size: bytes, or a share of all guest memory (0..1, `memoryShare`); null without `host`. */
  host: { memoryBytes: number | null; memoryShare: number | null } | null;
}

export interface SpecOverrides {
  /** Total guest count; for several families, each family is scaled proportionally (at least 1 each). */
  guests?: number;
  /** Guest memory in bytes; for several families, the first family gets this and the others scale proportionally. Write rates scale with memory. */
  guestMem?: number;
}

// ---- validation ---------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const fail = (field: string, msg: string): never => {
  throw new WorkloadSpecError(field, msg);
};

function obj(v: unknown, field: string, allowed: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, `must be an object`);
  for (const k of Object.keys(v as Obj)) if (!allowed.includes(k)) fail(`${field}.${k}`, `unknown field (allowed: ${allowed.join(", ")})`);
  return v as Obj;
}
function str(o: Obj, k: string, field: string, pattern?: RegExp): string {
  const v = o[k];
  if (typeof v !== "string" || v.length === 0) fail(`${field}.${k}`, `must be a non-empty string`);
  if (pattern && !pattern.test(v as string)) fail(`${field}.${k}`, `must match ${pattern}, got "${v}"`);
  return v as string;
}
function num(o: Obj, k: string, field: string, min: number, max: number, def?: number, int = false): number {
  const v = o[k];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v)) return fail(`${field}.${k}`, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) fail(`${field}.${k}`, `must be from ${min} to ${max}, got ${v}`);
  if (int && !Number.isInteger(v)) fail(`${field}.${k}`, `must be an integer, got ${v}`);
  return v;
}
function arr(o: Obj, k: string, field: string, minLen = 1): unknown[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length < minLen) fail(`${field}.${k}`, `must be a list with at least ${minLen} item(s)`);
  return v as unknown[];
}
function dur(o: Obj, k: string, field: string, def?: number): number {
  const v = o[k];
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== "string" && typeof v !== "number") return fail(`${field}.${k}`, `must be a duration like "10s"`);
  try {
    return parseDuration(v as string | number);
  } catch (e) {
    return fail(`${field}.${k}`, (e as Error).message);
  }
}
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6;

/** Checks a spec and returns it resolved to numbers (with overrides applied). Throws WorkloadSpecError. */
export function resolveSpec(spec: unknown, overrides: SpecOverrides = {}): ResolvedWorkload {
  const s = obj(spec, "spec", ["name", "description", "sources", "families", "trace", "host"]);
  if (s.trace !== undefined) {
    const t = obj(s.trace, "spec.trace", ["path", "fileXxh3"]);
    str(t, "path", "spec.trace");
    str(t, "fileXxh3", "spec.trace", /^[0-9a-f]{16}$/);
  }
  const name = str(s, "name", "spec", /^[a-z0-9][a-z0-9-]*$/);
  const description = str(s, "description", "spec");
  arr(s, "sources", "spec").forEach((x, i) => typeof x === "string" || fail(`spec.sources[${i}]`, `must be a string`));
  const fams = arr(s, "families", "spec");
  const seen = new Set<string>();
  const families = fams.map((f, i) => resolveFamily(f, `spec.families[${i}]`, seen));
  applyOverrides(families, overrides);
  const totalGuests = families.reduce((a, f) => a + f.guests, 0);
  const totalPages = families.reduce((a, f) => a + f.guests * f.pages, 0);
  return { name, description, families, totalGuests, totalPages, host: s.host === undefined ? null : resolveHost(s.host) };
}

function resolveHost(v: unknown): { memoryBytes: number | null; memoryShare: number | null } {
  const h = obj(v, "spec.host", ["memory"]);
  const m = h.memory;
  if (typeof m === "string" && /%\s*$/.test(m)) {
    const pct = Number(m.replace(/%\s*$/, ""));
    if (!Number.isFinite(pct) || pct <= 0 || pct > 1000) fail("spec.host.memory", `a share of guest memory must be from 0% to 1000%, got "${m}"`);
    return { memoryBytes: null, memoryShare: pct / 100 };
  }
  if (typeof m !== "string" && typeof m !== "number") return fail("spec.host.memory", `must be a size like "2GiB" or a share like "45%"`);
  let bytes = 0;
  try {
    bytes = parseSize(m, "host memory");
  } catch (e) {
    fail("spec.host.memory", (e as Error).message);
  }
  if (bytes < 16 * PAGE_SIZE) fail("spec.host.memory", `must be at least 64 KiB, got ${bytes} bytes`);
  return { memoryBytes: bytes, memoryShare: null };
}

function resolveFamily(v: unknown, field: string, seen: Set<string>): ResolvedFamily {
  const f = obj(v, field, ["name", "guests", "memory", "mode", "start", "stagger", "cpuPerOp", "regions", "phases"]);
  const name = str(f, "name", field, /^[a-z0-9][a-z0-9-]*$/);
  if (seen.has(name)) fail(`${field}.name`, `duplicate family name "${name}"`);
  seen.add(name);
  const guests = num(f, "guests", field, 1, 4096, undefined, true);
  if (typeof f.memory !== "string" && typeof f.memory !== "number") fail(`${field}.memory`, `must be a size like "256MiB"`);
  let bytes = 0;
  try {
    bytes = parseSize(f.memory as string | number, "memory");
  } catch (e) {
    fail(`${field}.memory`, (e as Error).message);
  }
  if (bytes < 16 * PAGE_SIZE || bytes % PAGE_SIZE !== 0) fail(`${field}.memory`, `must be a positive multiple of 4 KiB of at least 64 KiB, got ${bytes} bytes`);
  const mode = f.mode ?? "hvm";
  if (mode !== "hvm" && mode !== "pv") fail(`${field}.mode`, `must be "hvm" or "pv", got ${JSON.stringify(mode)}`);
  const pages = bytes / PAGE_SIZE;
  const regionList = arr(f, "regions", field);
  const regionSpecs = regionList.map((r, i) => checkRegion(r, `${field}.regions[${i}]`));
  const total = regionSpecs.reduce((a, r) => a + r.fraction, 0);
  if (!near(total, 1)) fail(`${field}.regions`, `fractions must add up to 1, they add up to ${+total.toFixed(6)}`);
  const names = new Set<string>();
  regionSpecs.forEach((r, i) => {
    if (names.has(r.name)) fail(`${field}.regions[${i}].name`, `duplicate region name "${r.name}"`);
    names.add(r.name);
  });
  const regions = layoutRegions(regionSpecs, pages, name);
  const phaseList = arr(f, "phases", field);
  const phases = phaseList.map((p, i) => resolvePhase(p, `${field}.phases[${i}]`, regions, i === phaseList.length - 1));
  const touched = new Set(phases.flatMap((p) => [...p.activities.map((a) => a.region), ...(p.storm?.regions ?? [])]));
  regions.forEach((r, i) => (r.free = (r.fill === "zero" || r.fill === "untouched") && !touched.has(i)));
  return {
    name, guests, pages, mode: mode as "hvm" | "pv", regions, phases,
    startSec: dur(f, "start", field, 0),
    staggerSec: dur(f, "stagger", field, 0),
    cpuPerOpSec: dur(f, "cpuPerOp", field, 20e-6),
  };
}

interface CheckedRegion { name: string; fraction: number; fill: RegionFill; copies: number; shareKey?: string; populated: number; compressibility: number }

/** Default compressibility by fill (real-guest-like: zero pages compress to almost nothing; code and page cache to about
 * half; anonymous heaps a little better; see src/sim/host-memory.ts for the sources). */
export const DEFAULT_COMPRESSIBILITY: Record<RegionFill, number> = { zero: 0.99, untouched: 0.99, shared: 0.55, private: 0.6 };

function checkRegion(v: unknown, field: string): CheckedRegion {
  const r = obj(v, field, ["name", "fraction", "fill", "copies", "shareKey", "populated", "compressibility"]);
  const name = str(r, "name", field);
  const fraction = num(r, "fraction", field, 0, 1);
  const fill = r.fill as RegionFill;
  if (!REGION_FILLS.includes(fill)) fail(`${field}.fill`, `must be one of ${REGION_FILLS.join(", ")}, got ${JSON.stringify(r.fill)}`);
  const copies = num(r, "copies", field, 1, 1e6, 1);
  if (r.shareKey !== undefined) str(r, "shareKey", field);
  if (r.shareKey !== undefined && fill !== "shared") fail(`${field}.shareKey`, `only shared regions have a shareKey`);
  const populated = num(r, "populated", field, 0, 1, fill === "untouched" ? 0 : 1);
  if (fill === "untouched" && populated !== 0) fail(`${field}.populated`, `an untouched region is not written at boot; use fill "zero" for written zeros`);
  const compressibility = num(r, "compressibility", field, 0, 1, DEFAULT_COMPRESSIBILITY[fill] ?? 0.5);
  return { name, fraction, fill, copies, shareKey: r.shareKey as string | undefined, populated, compressibility };
}

/** Regions get consecutive gfn ranges; rounding leftovers go to the last region. */
function layoutRegions(rs: CheckedRegion[], pages: number, family: string): ResolvedRegion[] {
  let first = 0;
  return rs.map((r, i) => {
    const n = i === rs.length - 1 ? pages - first : Math.min(pages - first, Math.round(r.fraction * pages));
    const out: ResolvedRegion = {
      name: r.name, fill: r.fill, firstPage: first, pages: n, copies: r.copies,
      shareKey: r.fill === "shared" ? (r.shareKey ?? `${family}/${r.name}`) : `${family}/${r.name}`,
      populatedPages: Math.round(r.populated * n),
      compressibility: r.compressibility,
      free: false,
    };
    first += n;
    return out;
  });
}

function resolvePhase(v: unknown, field: string, regions: ResolvedRegion[], last: boolean): ResolvedPhase {
  const p = obj(v, field, ["name", "duration", "activities", "storm"]);
  const name = str(p, "name", field);
  let durationSec = Infinity;
  if (!last) durationSec = dur(p, "duration", field);
  else if (p.duration !== undefined) fail(`${field}.duration`, `the last phase lasts to the end of the run; leave out its duration`);
  const acts = arr(p, "activities", field, 0);
  const storm = p.storm === undefined ? null : resolveStorm(p.storm, `${field}.storm`, regions);
  return { name, durationSec, activities: acts.map((a, i) => resolveActivity(a, `${field}.activities[${i}]`, regions)), storm };
}

function resolveStorm(v: unknown, field: string, regions: ResolvedRegion[]): ResolvedStorm {
  const s = obj(v, field, ["at", "over", "regions"]);
  const names = arr(s, "regions", field);
  const idx = names.map((n, i) => {
    const k = typeof n === "string" ? regions.findIndex((r) => r.name === n) : -1;
    if (k < 0) fail(`${field}.regions[${i}]`, `no region named ${JSON.stringify(n)} (regions: ${regions.map((r) => r.name).join(", ")})`);
    if (regions[k]!.fill === "untouched") fail(`${field}.regions[${i}]`, `an untouched region holds nothing to rewrite`);
    return k;
  });
  const overSec = dur(s, "over", field, 1);
  if (overSec <= 0) fail(`${field}.over`, `must be above 0`);
  return { atSec: dur(s, "at", field, 0), overSec, regions: idx };
}

function resolveActivity(v: unknown, field: string, regions: ResolvedRegion[]): ResolvedActivity {
  const a = obj(v, field, ["region", "writesPerSec", "writeSize", "hotFraction", "hotProbability", "zipf", "produces", "sharedEpoch", "readsPerSec"]);
  const rname = str(a, "region", field);
  const region = regions.findIndex((r) => r.name === rname);
  if (region < 0) fail(`${field}.region`, `no region named "${rname}" (regions: ${regions.map((r) => r.name).join(", ")})`);
  const writesPerSec = num(a, "writesPerSec", field, 0, 1e7);
  const writeSize = num(a, "writeSize", field, 16, PAGE_SIZE, PAGE_SIZE, true);
  const hotFraction = num(a, "hotFraction", field, 0, 1, 1);
  if (hotFraction === 0) fail(`${field}.hotFraction`, `must be above 0`);
  const hotProbability = num(a, "hotProbability", field, 0, 1, 1);
  const zipf = num(a, "zipf", field, 0, 10, 0);
  if (zipf > 0 && (a.hotFraction !== undefined || a.hotProbability !== undefined)) fail(`${field}.zipf`, `use either zipf or hotFraction/hotProbability, not both`);
  const pr = obj(a.produces, `${field}.produces`, ["unique", "shared", "original", "zero"]);
  const w = ["unique", "shared", "original", "zero"].map((k) => num(pr, k, `${field}.produces`, 0, 1, 0));
  const sum = w.reduce((x, y) => x + y, 0);
  if (!near(sum, 1)) fail(`${field}.produces`, `weights must add up to 1, they add up to ${+sum.toFixed(6)}`);
  const cum: [number, number, number, number] = [w[0]!, w[0]! + w[1]!, w[0]! + w[1]! + w[2]!, 1];
  const sharedEpochSec = dur(a, "sharedEpoch", field, 10);
  if (sharedEpochSec <= 0) fail(`${field}.sharedEpoch`, `must be above 0`);
  const pages = regions[region]!.pages;
  const readsPerSec = num(a, "readsPerSec", field, 0, 1e8, 0);
  return {
    region, writesPerSec, writeSize, zipf, hotProbability, sharedEpochSec, cum, readsPerSec,
    hotPages: Math.max(1, Math.min(pages, Math.round(hotFraction * pages))),
  };
}

function applyOverrides(families: ResolvedFamily[], o: SpecOverrides): void {
  if (o.guests !== undefined) {
    if (!Number.isInteger(o.guests) || o.guests < 1 || o.guests > 4096) fail("--guests", `must be an integer from 1 to 4096, got ${o.guests}`);
    if (families.length === 1) families[0]!.guests = o.guests;
    else apportionGuests(families, o.guests);
  }
  if (o.guestMem !== undefined) {
    if (!Number.isInteger(o.guestMem) || o.guestMem < 16 * PAGE_SIZE || o.guestMem % PAGE_SIZE !== 0)
      fail("--guest-mem", `must be a multiple of 4 KiB of at least 64 KiB, got ${o.guestMem} bytes`);
    const scale = o.guestMem / PAGE_SIZE / families[0]!.pages;
    for (const f of families) rescale(f, Math.max(16, Math.round(f.pages * scale)));
  }
}

/**
 * Shares `total` guests among families in proportion to their spec counts (largest remainder,
 * ties to the earlier family), so the families add up to exactly `total`; every family keeps at
 * least one guest, so a total below the family count gives one guest per family.
 */
function apportionGuests(families: ResolvedFamily[], total: number): void {
  const specTotal = families.reduce((a, f) => a + f.guests, 0);
  if (total <= families.length) {
    for (const f of families) f.guests = 1;
    return;
  }
  const quota = families.map((f) => (f.guests * total) / specTotal);
  const n = quota.map(Math.floor);
  let left = total - n.reduce((a, b) => a + b, 0);
  const byRemainder = quota.map((q, i) => i).sort((a, b) => quota[b]! - n[b]! - (quota[a]! - n[a]!) || a - b);
  for (const i of byRemainder) if (left-- > 0) n[i]!++;
  for (let i = 0; i < n.length; i++) {
    if (n[i]! > 0) continue;
    const largest = n.reduce((best, x, j) => (x > n[best]! ? j : best), 0);
    n[largest]!--;
    n[i] = 1;
  }
  families.forEach((f, i) => (f.guests = n[i]!));
}

/**
 * Re-lays out a family's regions for a new page count: same fractions, same hot fractions, and
 * write rates scaled with memory, so every page sees the same write rate at any guest size.
 */
function rescale(f: ResolvedFamily, pages: number): void {
  const old = f.pages;
  for (const p of f.phases) for (const a of p.activities) (a.writesPerSec *= pages / old), (a.readsPerSec *= pages / old);
  let first = 0;
  f.regions.forEach((r, i) => {
    const oldPages = r.pages;
    const n = i === f.regions.length - 1 ? pages - first : Math.min(pages - first, Math.round((r.pages / old) * pages));
    r.populatedPages = oldPages ? Math.round((r.populatedPages / oldPages) * n) : 0;
    r.firstPage = first;
    r.pages = n;
    first += n;
    for (const p of f.phases)
      for (const a of p.activities)
        if (a.region === i) a.hotPages = Math.max(1, Math.min(n, Math.round((a.hotPages / Math.max(1, oldPages)) * n)));
  });
  f.pages = pages;
}
