/**
 * The canned workloads (workloads/*.ts) by name, and loading user specs from .ts or .json files.
 * Every spec is validated (resolveSpec) before it is returned, so a bad file fails here.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { WorkloadSpecError } from "./errors.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";

export function workloadNames(): string[] {
  return CANNED_WORKLOADS.map((w) => w.name);
}

export function listWorkloads(): { name: string; description: string }[] {
  return CANNED_WORKLOADS.map((w) => ({ name: w.name, description: w.description }));
}

/** A canned workload by name; throws WorkloadSpecError("workload") for an unknown name. */
export function getWorkload(name: string): WorkloadSpec {
  const w = CANNED_WORKLOADS.find((x) => x.name === name);
  if (!w) throw new WorkloadSpecError("workload", `unknown workload "${name}" (known: ${workloadNames().join(", ")}; or give a path to a .ts/.json spec)`);
  return w;
}

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

/** A canned name or a path (anything containing "/" or ending in .ts/.json). */
export async function workloadFromArg(arg: string): Promise<WorkloadSpec> {
  if (arg.includes("/") || /\.(json|[cm]?[tj]s)$/.test(arg)) return loadWorkloadFile(arg);
  return getWorkload(arg);
}
