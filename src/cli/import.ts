/**
 * `vmdedup import --out FILE.vmtrace DUMP...` (one snapshot, one guest per dump, named after the
 * files) and `vmdedup import --out FILE --guest NAME=DUMP[,DUMP...] ... --every SECONDS` (a time
 * series: snapshot j of each guest is its j-th dump, at j * SECONDS). Flags are checked, then the
 * output path, then every dump's headers, before any page is read.
 */
import { statSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseDuration } from "../sim/index.ts";
import { DUMP_FORMATS, META_NUMBERS, META_STRINGS, importDumps, type DumpFormat, type ImportGuest, type TraceMeta } from "../trace/index.ts";
import { guestNameOf } from "../trace/pipeline.ts";
import { UsageError } from "./args.ts";

export const IMPORT_FLAGS = {
  out: { type: "string", short: "o" },
  guest: { type: "string", multiple: true },
  every: { type: "string" },
  format: { type: "string" },
  meta: { type: "string", multiple: true },
} as const;

export function parseFormat(v: string | undefined): DumpFormat | undefined {
  if (v === undefined) return undefined;
  if (!(DUMP_FORMATS as readonly string[]).includes(v)) throw new UsageError(`--format must be one of ${DUMP_FORMATS.join(", ")}, got "${v}"`);
  return v as DumpFormat;
}

function parseMeta(items: readonly string[]): TraceMeta {
  const meta: Record<string, string | number> = {};
  for (const it of items) {
    const eq = it.indexOf("=");
    const k = eq < 0 ? it : it.slice(0, eq), v = eq < 0 ? "" : it.slice(eq + 1);
    if ((META_STRINGS as readonly string[]).includes(k)) meta[k] = v;
    else if ((META_NUMBERS as readonly string[]).includes(k)) {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) throw new UsageError(`--meta ${k} needs a number, got "${v}"`);
      meta[k] = n;
    } else throw new UsageError(`--meta KEY=VALUE: KEY is one of ${[...META_STRINGS, ...META_NUMBERS].join(", ")}, got "${k}"`);
  }
  return meta as TraceMeta;
}

function guestsFrom(positionals: string[], guestFlags: readonly string[] | undefined): ImportGuest[] {
  if (positionals.length && guestFlags?.length) throw new UsageError("give dumps either as arguments (one guest each) or with --guest NAME=DUMP,..., not both");
  if (positionals.length) return positionals.map((p) => ({ name: guestNameOf(p), dumps: [p] }));
  if (!guestFlags?.length) throw new UsageError("import needs dumps: vmdedup import --out FILE.vmtrace DUMP... (or --guest NAME=DUMP[,DUMP...])");
  return guestFlags.map((g) => {
    const eq = g.indexOf("=");
    if (eq <= 0 || eq === g.length - 1) throw new UsageError(`--guest must be NAME=DUMP[,DUMP...], got "${g}"`);
    const dumps = g.slice(eq + 1).split(",");
    if (dumps.some((d) => d === "")) throw new UsageError(`--guest ${g}: an empty dump path`);
    return { name: g.slice(0, eq), dumps };
  });
}

export function cmdImport(argv: string[]): void {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: IMPORT_FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (!v.out) throw new UsageError("import needs --out FILE.vmtrace");
  const guests = guestsFrom(positionals, v.guest);
  const names = new Set<string>();
  for (const g of guests) {
    if (names.has(g.name)) throw new UsageError(`two guests named "${g.name}" (dump files with the same name? use --guest NAME=DUMP)`);
    names.add(g.name);
  }
  const snapshots = guests[0]!.dumps.length;
  if (guests.some((g) => g.dumps.length !== snapshots)) throw new UsageError(`every --guest needs the same number of dumps (${guests.map((g) => `${g.name}: ${g.dumps.length}`).join(", ")})`);
  let everySec: number | undefined;
  if (v.every !== undefined) {
    try {
      everySec = parseDuration(/^\d+(\.\d+)?$/.test(v.every) ? `${v.every}s` : v.every);
    } catch (e) {
      throw new UsageError(`--every: ${(e as Error).message}`);
    }
    if (!(everySec > 0)) throw new UsageError("--every must be above 0");
  }
  if (snapshots > 1 && everySec === undefined) throw new UsageError("a time series (several dumps per --guest) needs --every SECONDS");
  const format = parseFormat(v.format);
  const meta = parseMeta(v.meta ?? []);
  const t0 = performance.now();
  const h = importDumps(v.out, guests, { everySec, format, meta });
  const secs = (performance.now() - t0) / 1000;
  console.log(`${h.guests.length} guest${h.guests.length > 1 ? "s" : ""} (${h.guests.map((g) => `${g.name}: ${g.pageCount} pages`).join(", ")}), ` +
    `${h.snapshots} snapshot${h.snapshots > 1 ? "s" : ""} -> ${v.out} (${statSync(v.out).size} bytes, ${secs.toFixed(1)} s)`);
}
