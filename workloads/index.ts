/**
 * The canned workloads, in the order `vmdedup list` shows them. The command line and the scripts
 * hand them down as a catalog (src/cli/workloads.ts: CANNED); nothing below cli/ imports this folder.
 * The facts each spec is calibrated against, and their public sources: SOURCES.md.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import cowStorm from "./cow-storm.ts";
import database from "./database.ts";
import idle from "./idle.ts";
import kernelBuild from "./kernel-build.ts";
import mixed from "./mixed.ts";
import webServer from "./web-server.ts";

export const CANNED_WORKLOADS: readonly WorkloadSpec[] = [idle, kernelBuild, webServer, database, mixed, cowStorm];

/**
 * The canned workloads fitted to a shipped trace (workloads/traces/TRACE.vmtrace; README.md "Fitted
 * to the captured traces"), checked by fit.test.ts and tabled by scripts/fit-table.ts. Churn is
 * compared over the trace intervals from `steadyFromSec` host seconds on (after the start-up).
 */
export const FITTED_TRACES: readonly { workload: string; trace: string; steadyFromSec: number }[] = [
  { workload: "kernel-build", trace: "build", steadyFromSec: 20 },
  { workload: "web-server", trace: "web", steadyFromSec: 20 },
  { workload: "database", trace: "database", steadyFromSec: 20 },
];
