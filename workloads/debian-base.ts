/**
 * The guest OS layer shared by the application workloads: the same Debian 12 kernel as `idle`
 * (text shared across guests, kernel tables with in-guest repeats, per-boot private data), with
 * the proportions measured for idle guests (SOURCES.md [real-guests.md], "Duplicate statistics";
 * see idle.ts for the derivation). Application guests keep the same
 * kernel footprint; what differs is what they run on top.
 */
import type { RegionSpec } from "../src/sim/spec.ts";

export const DEBIAN_KERNEL = "debian12-linux6.1";

/** 30.2% of guest memory: the idle kernel footprint minus its small private-dup region. */
export function debianKernelRegions(kernel = DEBIAN_KERNEL): RegionSpec[] {
  return [
    { name: "kernel-text", fraction: 0.06, fill: "shared", shareKey: `${kernel}/text` },
    { name: "kernel-tables", fraction: 0.12, fill: "shared", copies: 3.96, shareKey: `${kernel}/tables` },
    { name: "per-boot-data", fraction: 0.12, fill: "private" },
  ];
}
