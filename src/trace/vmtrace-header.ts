/**
 * The .vmtrace header (JSON, see workloads/traces/FORMAT.md): its types, its validation, and its
 * canonical serialisation (fixed key order, optional fields omitted when absent), so that reading
 * a trace and writing it again gives the same bytes. Unknown keys are rejected: a field this
 * version does not know is a newer format, not something to drop silently.
 */
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { DIGEST_NAME, SIZE_CLASS_CODEC } from "./page-digest.ts";

export const VMTRACE_VERSION = 1;

export interface TraceGuest {
  name: string;
  /** Pages of this guest in every snapshot. */
  pageCount: number;
  /** Guest-physical frame runs [firstPfn, pages] that the pages stand for, in frame order. */
  extents: [number, number][];
  /** Time of each snapshot, seconds from the start of the trace, strictly increasing. */
  timesSec: number[];
  /** The dump file each snapshot came from (import), by base name. */
  sources?: string[];
  /** Seconds the guest was paused for each snapshot's dump (capture). */
  pauseSec?: number[];
}

export const HOST_KSM_COUNTERS = ["pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "pages_scanned", "full_scans", "ksm_zero_pages", "general_profit", "stable_node_chains", "stable_node_dups"] as const;
/** KSM knobs a capture ran the host's ksmd with (sysfs names), recorded in meta.hostKsmKnobs. */
export const HOST_KSM_KNOBS = ["pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages", "max_page_sharing", "merge_across_nodes", "stable_node_chains_prune_millisecs"] as const;
export type HostKsmKnobs = Partial<Record<(typeof HOST_KSM_KNOBS)[number], number>>;
export type HostKsmSample = { timeSec: number } & Partial<Record<(typeof HOST_KSM_COUNTERS)[number], number>>;

export interface TraceMeta {
  source?: string;
  guestKernel?: string;
  workload?: string;
  intervalSec?: number;
  captureHost?: string;
  qemuVersion?: string;
  accelerator?: string;
  tcgSlowdown?: number;
  pauseSecPerDump?: number;
  ksmdNice?: number;
  ksmdCpuSec?: number;
  hostKsm?: HostKsmSample[];
  /** The KSM knobs in force while hostKsm was recorded (added in a version-1 compatible way: optional). */
  hostKsmKnobs?: HostKsmKnobs;
}

export const META_STRINGS = ["source", "guestKernel", "workload", "captureHost", "qemuVersion", "accelerator"] as const;
export const META_NUMBERS = ["intervalSec", "tcgSlowdown", "pauseSecPerDump", "ksmdNice", "ksmdCpuSec"] as const;

export interface TraceHeader {
  format: "vmtrace";
  version: number;
  pageSize: number;
  digest: string;
  sizeClassCodec: string;
  snapshots: number;
  guests: TraceGuest[];
  meta: TraceMeta;
}

export function newHeader(guests: TraceGuest[], snapshots: number, meta: TraceMeta): TraceHeader {
  return { format: "vmtrace", version: VMTRACE_VERSION, pageSize: PAGE_SIZE, digest: DIGEST_NAME, sizeClassCodec: SIZE_CLASS_CODEC, snapshots, guests, meta };
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min: number, max: number): x is number => typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** Validates a parsed header; returns the first problem as text, or the canonical header. */
export function checkHeader(x: unknown): TraceHeader | string {
  if (!isObj(x)) return "a JSON object";
  const known = ["format", "version", "pageSize", "digest", "sizeClassCodec", "snapshots", "guests", "meta"];
  for (const k of Object.keys(x)) if (!known.includes(k)) return `no header field "${k}" (known: ${known.join(", ")})`;
  if (x.format !== "vmtrace") return `format "vmtrace"`;
  if (x.version !== VMTRACE_VERSION) return `version ${VMTRACE_VERSION}, found ${JSON.stringify(x.version)}`;
  if (x.pageSize !== PAGE_SIZE) return `pageSize ${PAGE_SIZE}`;
  if (x.digest !== DIGEST_NAME) return `digest "${DIGEST_NAME}", found ${JSON.stringify(x.digest)}`;
  if (x.sizeClassCodec !== SIZE_CLASS_CODEC) return `sizeClassCodec "${SIZE_CLASS_CODEC}", found ${JSON.stringify(x.sizeClassCodec)}`;
  if (!isInt(x.snapshots, 1, 1 << 20)) return "snapshots: an integer from 1";
  if (!Array.isArray(x.guests) || x.guests.length === 0) return "guests: a non-empty array";
  const guests: TraceGuest[] = [];
  const names = new Set<string>();
  for (const [gi, g] of x.guests.entries()) {
    const r = checkGuest(g, x.snapshots);
    if (typeof r === "string") return `guests[${gi}]: ${r}`;
    if (names.has(r.name)) return `guests[${gi}]: a unique name, "${r.name}" is used twice`;
    names.add(r.name);
    guests.push(r);
  }
  const meta = checkMeta(x.meta ?? {});
  if (typeof meta === "string") return `meta: ${meta}`;
  return newHeader(guests, x.snapshots, meta);
}

function checkGuest(g: unknown, snapshots: number): TraceGuest | string {
  if (!isObj(g)) return "an object";
  for (const k of Object.keys(g)) if (!["name", "pageCount", "extents", "timesSec", "sources", "pauseSec"].includes(k)) return `no field "${k}"`;
  if (typeof g.name !== "string" || g.name.length === 0 || g.name.length > 200) return "name: a non-empty string";
  if (!isInt(g.pageCount, 1, 2 ** 32)) return "pageCount: an integer from 1 to 2^32";
  if (!Array.isArray(g.extents) || g.extents.length === 0) return "extents: a non-empty array of [firstPfn, pages]";
  let sum = 0, end = -1;
  for (const e of g.extents) {
    if (!Array.isArray(e) || e.length !== 2 || !isInt(e[0], 0, 2 ** 40) || !isInt(e[1], 1, 2 ** 32)) return "extents: pairs [firstPfn, pages] of integers";
    if (e[0] < end) return "extents: in frame order, not overlapping";
    end = e[0] + e[1];
    sum += e[1];
  }
  if (sum !== g.pageCount) return `extents covering pageCount ${g.pageCount} pages, they cover ${sum}`;
  if (!Array.isArray(g.timesSec) || g.timesSec.length !== snapshots) return `timesSec: ${snapshots} times`;
  for (let j = 0; j < snapshots; j++) {
    const t = g.timesSec[j];
    if (!isNum(t) || t < 0 || (j > 0 && t <= g.timesSec[j - 1])) return "timesSec: finite, >= 0, strictly increasing";
  }
  const out: TraceGuest = { name: g.name, pageCount: g.pageCount, extents: g.extents.map((e) => [e[0], e[1]]), timesSec: [...g.timesSec] };
  if (g.sources !== undefined) {
    if (!Array.isArray(g.sources) || g.sources.length !== snapshots || !g.sources.every((s) => typeof s === "string")) return `sources: ${snapshots} strings`;
    out.sources = [...g.sources];
  }
  if (g.pauseSec !== undefined) {
    if (!Array.isArray(g.pauseSec) || g.pauseSec.length !== snapshots || !g.pauseSec.every((s) => isNum(s) && s >= 0)) return `pauseSec: ${snapshots} numbers >= 0`;
    out.pauseSec = [...g.pauseSec];
  }
  return out;
}

function checkMeta(m: unknown): TraceMeta | string {
  if (!isObj(m)) return "an object";
  const out: TraceMeta = {};
  for (const k of Object.keys(m)) if (!(META_STRINGS as readonly string[]).includes(k) && !(META_NUMBERS as readonly string[]).includes(k) && k !== "hostKsm" && k !== "hostKsmKnobs") return `no field "${k}"`;
  for (const k of META_STRINGS) {
    if (m[k] === undefined) continue;
    if (typeof m[k] !== "string") return `${k}: a string`;
    out[k] = m[k];
  }
  for (const k of META_NUMBERS) {
    if (m[k] === undefined) continue;
    if (!isNum(m[k])) return `${k}: a number`;
    out[k] = m[k];
  }
  if (m.hostKsm !== undefined) {
    if (!Array.isArray(m.hostKsm)) return "hostKsm: an array of samples";
    const samples: HostKsmSample[] = [];
    for (const s of m.hostKsm) {
      if (!isObj(s) || !isNum(s.timeSec)) return "hostKsm: samples with a timeSec";
      const o: HostKsmSample = { timeSec: s.timeSec };
      for (const k of Object.keys(s)) if (k !== "timeSec" && !(HOST_KSM_COUNTERS as readonly string[]).includes(k)) return `hostKsm: no counter "${k}"`;
      for (const k of HOST_KSM_COUNTERS) {
        if (s[k] === undefined) continue;
        if (!isInt(s[k], -(2 ** 53), 2 ** 53)) return `hostKsm.${k}: an integer`;
        o[k] = s[k];
      }
      samples.push(o);
    }
    out.hostKsm = samples;
  }
  if (m.hostKsmKnobs !== undefined) {
    const kn = m.hostKsmKnobs;
    if (!isObj(kn)) return "hostKsmKnobs: an object of knob values";
    for (const k of Object.keys(kn)) if (!(HOST_KSM_KNOBS as readonly string[]).includes(k)) return `hostKsmKnobs: no knob "${k}"`;
    const o: HostKsmKnobs = {};
    for (const k of HOST_KSM_KNOBS) {
      if (kn[k] === undefined) continue;
      if (!isInt(kn[k], 0, 2 ** 53)) return `hostKsmKnobs.${k}: an integer >= 0`;
      o[k] = kn[k];
    }
    out.hostKsmKnobs = o;
  }
  return out;
}

/** The header's canonical JSON text (key order as declared above). */
export function headerJson(h: TraceHeader): string {
  const c = checkHeader(JSON.parse(JSON.stringify(h)));
  if (typeof c === "string") throw new Error(`bug: writing an invalid header (${c})`);
  return JSON.stringify(c);
}
