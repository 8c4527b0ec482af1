/**
 * The canned workloads, in the order `vmdedup list` shows them, and their lookup by name.
 * The facts each spec is calibrated against, and their public sources: SOURCES.md.
 */
import { WorkloadSpecError } from "../src/sim/errors.ts";
import type { WorkloadSpec } from "../src/sim/spec.ts";
import database from "./database.ts";
import idle from "./idle.ts";
import kernelBuild from "./kernel-build.ts";
import mixed from "./mixed.ts";
import webServer from "./web-server.ts";

export const CANNED_WORKLOADS: readonly WorkloadSpec[] = [idle, kernelBuild, webServer, database, mixed];

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
