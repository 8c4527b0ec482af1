/**
 * The workloads an experiment may name, as spec objects. The canned workloads live in
 * workloads/ (above this layer's imports): cli/ and scripts/ build the catalog from them and
 * pass it in, so nothing below cli imports workloads/. Lookups of an unknown name throw
 * UnavailableError (a suite skips that run; the CLI turns it into a usage error first).
 */
import type { WorkloadSpec } from "../sim/index.ts";
import { UnavailableError } from "./errors.ts";

export interface WorkloadCatalog {
  /** Names in catalog order (the order `vmdedup list` shows). */
  names(): string[];
  has(name: string): boolean;
  /** The spec named `name`; throws UnavailableError for an unknown name. */
  get(name: string): WorkloadSpec;
  /** Name and one-line description of each workload, in catalog order. */
  list(): { name: string; description: string }[];
}

export function catalogOf(specs: readonly WorkloadSpec[]): WorkloadCatalog {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const names = () => specs.map((s) => s.name);
  return {
    names,
    has: (name) => byName.has(name),
    get(name) {
      const s = byName.get(name);
      if (!s) throw new UnavailableError(name, `unknown workload "${name}" (known: ${names().join(", ")})`);
      return s;
    },
    list: () => specs.map((s) => ({ name: s.name, description: s.description })),
  };
}

/** A copy of `spec` with every family's guests in `mode` (HVM or PV). */
export function specInMode(spec: WorkloadSpec, mode: "hvm" | "pv"): WorkloadSpec {
  const copy = structuredClone(spec);
  for (const f of copy.families) f.mode = mode;
  return copy;
}
