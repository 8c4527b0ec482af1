/**
 * The workloads the command line and the scripts know: the canned ones (workloads/), as the
 * catalog the experiments layer is handed, the shipped traces (workloads/traces/*.vmtrace) and
 * `--workload` arguments: a canned name, a spec file, or `trace:NAME|PATH` (a trace replayed, see
 * src/sim/trace-replay.ts). cli/ is the one layer that imports workloads/; scripts/ take the
 * catalog from here.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf, type WorkloadCatalog } from "../experiments/index.ts";
import { isWorkloadPath, loadWorkloadFile, REPO_ROOT, traceWorkloadSpec, WorkloadSpecError, type WorkloadSpec } from "../sim/index.ts";
import { TraceReader } from "../trace/index.ts";

export const CANNED: WorkloadCatalog = catalogOf(CANNED_WORKLOADS);

/** Where `trace:NAME` looks, relative to the repository root (as the replayed spec records it). */
export const TRACES_DIR = "workloads/traces";

/** The shipped traces' names (workloads/traces/NAME.vmtrace), sorted. */
export function shippedTraces(): string[] {
  const dir = join(REPO_ROOT, TRACES_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".vmtrace")).map((f) => f.slice(0, -".vmtrace".length)).sort();
}

/**
 * One line per shipped trace for `vmdedup list`: `trace:NAME`, what ran in the guests, guests x pages
 * (MiB), snapshots over the trace's length, and the source in short (the capture's accelerator, QEMU
 * and guest kernel; the whole command and package versions are in meta.source and FORMAT.md).
 */
export function shippedTraceLines(): { name: string; description: string }[] {
  return shippedTraces().map((n) => {
    try {
      const h = new TraceReader(join(REPO_ROOT, TRACES_DIR, `${n}.vmtrace`)).header;
      const g = h.guests[0]!;
      const m = h.meta;
      const lengthSec = Math.max(...h.guests.map((x) => x.timesSec[x.timesSec.length - 1]! - x.timesSec[0]!));
      const pages = h.guests.every((x) => x.pageCount === g.pageCount) ? `${g.pageCount.toLocaleString("en-US")} pages (${(g.pageCount * 4096) / 2 ** 20} MiB)` : "pages differ per guest";
      const source = [m.source?.startsWith("bun run capture") ? "bun run capture" : m.source?.split(";")[0], m.accelerator && `${m.accelerator.toUpperCase()}${m.tcgSlowdown ? ` (${m.tcgSlowdown}x slower)` : ""}`,
        m.qemuVersion && m.qemuVersion.match(/QEMU emulator version [^ ]+/)?.[0]?.replace("QEMU emulator version", "QEMU"), m.guestKernel && `guest ${m.guestKernel}`].filter(Boolean).join(", ");
      const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
      const what = [`${plural(h.guests.length, "guest")} x ${pages}`, `${plural(h.snapshots, "snapshot")} over ${lengthSec.toFixed(1)} s`, source && `source: ${source}`].filter(Boolean).join("; ");
      return { name: `trace:${n}`, description: `captured trace, replayed${m.workload ? ` (${m.workload})` : ""}: ${what}` };
    } catch (e) {
      return { name: `trace:${n}`, description: `unreadable trace: ${(e as Error).message}` };
    }
  });
}

/** The shipped traces as replay specs (trace-NAME), sorted by name. */
export function shippedTraceSpecs(): WorkloadSpec[] {
  return shippedTraces().map((n) => traceWorkloadFromArg(n));
}

/** What gate tier 1 runs: the canned workloads, then the shipped traces (src/gate/tier1-exact.ts sizes each). */
export function gateCatalog(): WorkloadCatalog {
  return catalogOf([...CANNED.names().map((n) => CANNED.get(n)), ...shippedTraceSpecs()]);
}

/**
 * `trace:NAME` (workloads/traces/NAME.vmtrace) or `trace:PATH` (anything containing "/" or ending
 * in .vmtrace; made absolute) as the spec of its replay. Throws WorkloadSpecError for an unknown
 * name, TraceInputError for a bad file.
 */
export function traceWorkloadFromArg(what: string): WorkloadSpec {
  if (what.includes("/") || what.endsWith(".vmtrace")) {
    const full = resolve(what);
    if (!existsSync(full)) throw new WorkloadSpecError("workload", `no such trace file: ${what}`);
    return traceWorkloadSpec(full);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(what) || !existsSync(join(REPO_ROOT, TRACES_DIR, `${what}.vmtrace`))) {
    const known = shippedTraces();
    throw new WorkloadSpecError("workload", `no trace "${what}" in ${TRACES_DIR}/ (${known.length ? `shipped: ${known.join(", ")}` : "none shipped yet"}; or trace:PATH to a .vmtrace file)`);
  }
  return traceWorkloadSpec(`${TRACES_DIR}/${what}.vmtrace`);
}

/** A canned name, `trace:NAME|PATH`, or a spec path (anything containing "/" or ending in .ts/.json); throws WorkloadSpecError for an unknown name or a bad file. */
export async function workloadFromArg(arg: string, catalog: WorkloadCatalog = CANNED): Promise<WorkloadSpec> {
  if (arg.startsWith("trace:")) return traceWorkloadFromArg(arg.slice("trace:".length));
  if (isWorkloadPath(arg)) return loadWorkloadFile(arg);
  if (!catalog.has(arg)) throw new WorkloadSpecError("workload", `unknown workload "${arg}" (known: ${catalog.names().join(", ")}; trace:NAME|PATH for a trace; or give a path to a .ts/.json spec)`);
  return catalog.get(arg);
}
