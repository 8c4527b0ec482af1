/**
 * Loading user workload specs from .ts or .json files. Every spec is validated (resolveSpec)
 * before it is returned, so a bad file fails here. The canned workloads live in workloads/
 * (workloads/index.ts: CANNED_WORKLOADS, handed down as a catalog by cli/); sim never imports them, so
 * a caller that accepts a name looks it up itself (src/cli/workloads.ts: workloadFromArg).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { WorkloadSpecError } from "./errors.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";

/** Loads and validates a spec from a .ts (default export or `spec` export) or .json file. */
export async function loadWorkloadFile(path: string): Promise<WorkloadSpec> {
  const full = resolve(path);
  if (!existsSync(full)) throw new WorkloadSpecError("workload", `no such file: ${path}`);
  let spec: unknown;
  if (full.endsWith(".json")) {
    try {
      spec = JSON.parse(readFileSync(full, "utf8"));
    } catch (e) {
      throw new WorkloadSpecError("workload", `${path} is not valid JSON: ${(e as Error).message}`);
    }
  } else if (/\.[cm]?[tj]s$/.test(full)) {
    const mod = (await import(full)) as { default?: unknown; spec?: unknown };
    spec = mod.default ?? mod.spec;
    if (spec === undefined) throw new WorkloadSpecError("workload", `${path} has no default export (or \`spec\` export)`);
  } else throw new WorkloadSpecError("workload", `${path}: a spec file must end in .ts or .json`);
  resolveSpec(spec);
  return spec as WorkloadSpec;
}

/** True when `arg` names a spec file (contains "/" or ends in .ts/.json) rather than a canned workload. */
export function isWorkloadPath(arg: string): boolean {
  return arg.includes("/") || /\.(json|[cm]?[tj]s)$/.test(arg);
}
