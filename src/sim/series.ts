/**
 * The columns of a run's two time series, declared once.
 *
 * A run document (result.ts) holds `series` (one row per sample, every sampleEverySec of
 * simulated time and once at the end) and `oracle` (one row per oracle sample, every
 * oracleEverySec rounded to a whole number of samples, and once at the end), both columnar:
 * one list per column, every list as long as `tSec`. The tables below are the only place the
 * columns are named: the TimeSeries/OracleSeries types, the empty tables the Sampler fills, the
 * run validator (result.ts) and the results-document validator (report/results-validate.ts)
 * are all derived from them, so adding a column here is the whole change.
 *
 * Each column: `name` (the JSON key), `unit`, `doc` (what exactly is measured, and when), and
 * `nullable` when a row may hold null. Rows are written in declaration order; `tSec` is first.
 *
 * HOST_SERIES_COLUMNS are present only in runs on a host with a size (--host-mem or the spec's
 * host.memory), after the SERIES_COLUMNS, all or none: a run without a host keeps exactly the
 * columns (and the bytes) it had before they existed.
 */

export type ColumnUnit = "s" | "pages" | "frames" | "%" | "count" | "per second" | "fraction" | "ratio";

export interface ColumnDecl {
  readonly name: string;
  readonly unit: ColumnUnit;
  readonly doc: string;
  readonly nullable?: boolean;
}

/** Columns of `series`: sampled at the end of every sample interval (sampleEverySec) and at the end of the run. */
export const SERIES_COLUMNS = [
  { name: "tSec", unit: "s", doc: "simulated time at the end of the sample interval, rounded to 3 decimals" },
  { name: "guestPages", unit: "pages", doc: "pages of every guest started by tSec (their whole memory, backed or not)" },
  { name: "populatedPages", unit: "pages", doc: "guest pages backed by a machine frame or mapped to the zero frame at tSec (hv.stats().populatedPages)" },
  { name: "framesUsed", unit: "frames", doc: "machine frames holding guest data at tSec, shared frames counted once, the zero frame not at all (hv.stats().framesUsed)" },
  { name: "savingsPct", unit: "%", doc: "(populatedPages - framesUsed) / guestPages x 100 at tSec, rounded to 4 decimals (summary.definitions.savingsPct)" },
  { name: "savingsExclZeroPct", unit: "%", doc: "(non-zero populated pages - frames holding non-zero content) / guestPages x 100 at tSec, rounded to 4 decimals" },
  { name: "pagesShared", unit: "frames", doc: "the scanner's pagesShared at tSec: shared frames in use (KSM's pages_shared)" },
  { name: "pagesSharing", unit: "pages", doc: "the scanner's pagesSharing at tSec: further guest pages mapped onto those frames, i.e. pages saved (KSM's pages_sharing)" },
  { name: "cowBreaks", unit: "count", doc: "copy-on-write breaks since the start of the run, cumulative at tSec (hv.cowBreaks)" },
  { name: "cowBreaksPerSec", unit: "per second", doc: "copy-on-write breaks during the interval ending at tSec / the interval's nominal length (ticksPerSample x tickMs), rounded to 4 decimals" },
  { name: "pagesScanned", unit: "pages", doc: "pages the scanner's batches visited since the start of the run (sum of scan() results), cumulative at tSec" },
  { name: "fullScans", unit: "count", doc: "the scanner's completed passes over all guest memory at tSec (KSM's full_scans)" },
  { name: "scannerCpuShare", unit: "fraction", doc: "scanner CPU seconds charged in the interval ending at tSec / (hostCpus x the interval's nominal length), rounded to 6 decimals" },
  { name: "guestOpsPerSec", unit: "per second", doc: "operations all guests performed in the interval ending at tSec / the interval's nominal length, rounded to 4 decimals" },
] as const satisfies readonly ColumnDecl[];

/** Columns of `series` on a host with a size (reclaim.ts), sampled with the others. */
export const HOST_SERIES_COLUMNS = [
  { name: "hostFreePages", unit: "frames", doc: "free machine frames of the host at tSec (hv.stats().framesFree)" },
  { name: "hostState", unit: "count", doc: "the worst ESX free-memory state in the interval ending at tSec (at the start of each tick, before reclaiming; 4 when a guest blocked on direct reclaim), by free frames against minFree: 0 high (>= 100%), 1 clear (< 100%), 2 soft (< 64%), 3 hard (< 32%), 4 low (< 16%)" },
  { name: "balloonPages", unit: "pages", doc: "pages in the guests' balloons at tSec: free pages given plus pages the guests paged out under balloon pressure, not touched since" },
  { name: "compressedPages", unit: "pages", doc: "guest pages held in compression caches at tSec (hv.stats().compressedPages)" },
  { name: "swappedPages", unit: "pages", doc: "guest pages held in hypervisor swap at tSec (hv.stats().swappedPages)" },
  { name: "swapInsPerSec", unit: "per second", doc: "pages brought back from swap during the interval ending at tSec / the interval's nominal length, rounded to 4 decimals" },
  { name: "swapOutsPerSec", unit: "per second", doc: "pages moved to swap during the interval ending at tSec / the interval's nominal length, rounded to 4 decimals" },
  { name: "stallSecPerSec", unit: "ratio", doc: "guest seconds stalled on swap-ins and direct reclaim (all guests) during the interval ending at tSec / the interval's nominal length, rounded to 6 decimals" },
] as const satisfies readonly ColumnDecl[];

/** Columns of `oracle`: maxSharing(hv) at every oracle sample (a whole number of samples, oracleEverySec apart) and at the end of the run. */
export const ORACLE_COLUMNS = [
  { name: "tSec", unit: "s", doc: "simulated time of the oracle sample (a sample's tSec), rounded to 3 decimals" },
  { name: "savablePct", unit: "%", doc: "maxSharing(hv).savablePages / guestPages x 100 at tSec (every duplicate merged, zero pages onto the zero frame), rounded to 4 decimals" },
  { name: "savableExclZeroPct", unit: "%", doc: "maxSharing(hv).savablePagesExclZero / guestPages x 100 at tSec, rounded to 4 decimals" },
  { name: "efficiency", unit: "ratio", nullable: true, doc: "pages saved / savablePages at tSec, rounded to 4 decimals; null when the oracle finds nothing to save" },
  { name: "efficiencyExclZero", unit: "ratio", nullable: true, doc: "non-zero pages saved / savablePagesExclZero at tSec, rounded to 4 decimals; null when that is 0" },
] as const satisfies readonly ColumnDecl[];

type ColumnValue<C> = C extends { readonly nullable: true } ? number | null : number;

/** A columnar table with one list per declared column. */
export type ColumnTable<T extends readonly ColumnDecl[]> = { [C in T[number] as C["name"]]: ColumnValue<C>[] };
/** One row of such a table: one value per declared column. */
export type ColumnRow<T extends readonly ColumnDecl[]> = { [C in T[number] as C["name"]]: ColumnValue<C> };

export type TimeSeries = ColumnTable<typeof SERIES_COLUMNS> & Partial<ColumnTable<typeof HOST_SERIES_COLUMNS>>;
export type HostSeriesRow = ColumnRow<typeof HOST_SERIES_COLUMNS>;
export type OracleSeries = ColumnTable<typeof ORACLE_COLUMNS>;
export type SeriesRow = ColumnRow<typeof SERIES_COLUMNS>;
export type OracleRow = ColumnRow<typeof ORACLE_COLUMNS>;

/** A table with every declared column empty, keys in declaration order. */
export function emptyTable<T extends readonly ColumnDecl[]>(columns: T): ColumnTable<T> {
  return Object.fromEntries(columns.map((c) => [c.name, []])) as unknown as ColumnTable<T>;
}

/** Appends one row, column by column in declaration order. */
export function appendRow<T extends readonly ColumnDecl[]>(columns: T, table: ColumnTable<T>, row: ColumnRow<T>): void {
  const t = table as Record<string, unknown[]>;
  const r = row as Record<string, unknown>;
  for (const c of columns) t[c.name]!.push(r[c.name]);
}

/**
 * Checks a columnar table against its declaration: an object with exactly the declared columns,
 * each a list as long as tSec of finite numbers (or null where the column is nullable), tSec
 * increasing. Calls `fail(path, message)` for the first problem, the path naming the column
 * (`<at>.<column>` or `<at>.<column>[i]`); `fail` must throw. tSec starts at 0 or later.
 */
export function checkColumns(
  columnsIn: readonly ColumnDecl[], v: unknown, at: string, fail: (path: string, msg: string) => never, optional: readonly ColumnDecl[] = [],
): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(at, "must be an object");
  const o = v as Record<string, unknown>;
  // an optional group (HOST_SERIES_COLUMNS) is checked like the others when its first column is present
  const columns = optional.length && optional[0]!.name in o ? [...columnsIn, ...optional] : columnsIn;
  const declared = new Set(columns.map((c) => c.name));
  for (const k of Object.keys(o)) if (!declared.has(k)) fail(`${at}.${k}`, `unknown column (columns: ${[...declared].join(", ")})`);
  const t = o.tSec;
  if (!Array.isArray(t)) return fail(`${at}.tSec`, "is missing or not a list");
  for (const c of columns) {
    const list = o[c.name];
    if (list === undefined) fail(`${at}.${c.name}`, "is missing");
    if (!Array.isArray(list)) return fail(`${at}.${c.name}`, "must be a list");
    if (list.length !== t.length) fail(`${at}.${c.name}`, `must have ${t.length} items (like tSec), got ${list.length}`);
    list.forEach((x, i) => {
      if (c.nullable && x === null) return;
      if (typeof x !== "number" || !Number.isFinite(x)) fail(`${at}.${c.name}[${i}]`, `must be a finite number${c.nullable ? " or null" : ""}, got ${JSON.stringify(x)}`);
    });
  }
  if (t.length > 0 && !((t[0] as number) >= 0)) fail(`${at}.tSec[0]`, `must be >= 0, got ${t[0]}`);
  for (let i = 1; i < t.length; i++) if (!((t[i] as number) > (t[i - 1] as number))) fail(`${at}.tSec[${i}]`, "must be greater than the previous time");
}
