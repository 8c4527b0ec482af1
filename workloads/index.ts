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
