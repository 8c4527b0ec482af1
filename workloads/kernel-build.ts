/**
 * kernel-build: guests compiling the same kernel tree: identical kernel and toolchain binaries,
 * a page cache of the same source files, and a large, fast-churning anonymous heap (compiler
 * processes that live seconds, write hard and die; their pages are short-lived duplicates of
 * each other now and then: the same file compiled in two guests in the same epoch).
 *
 * Sources (SOURCES.md, which quotes them with their URLs or, for our measurement, its commands):
 *  - [anchors.md 3(b) / 10.10] VMware vSphere 4.1 docs, ">30%" for nearly identical VMs -> at least 30%;
 *  - [anchors.md 4(b) / 10.8] Difference Engine (OSDI'08) 65-75% for identical web guests; a build
 *    churns its heap so it stays below web-server (issue 5's ordering);
 *  - [real-guests.md] "build" rows of our QEMU measurement: 14.9% non-zero savings across 3 guests, 6.0% inside a guest,
 *    the lowest of the three workloads, and smart_scan leaving churned pages unmerged.
 * Target: 4+ identical guests, vmdedup, steady state: >= 30% incl. zero pages, below web-server;
 * CoW breaks continue in steady state (zeroed and duplicated heap pages get merged, then written).
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { debianKernelRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "kernel-build",
  description: "identical guests compiling the same tree: shared toolchain and sources, a hard-churning compiler heap",
  sources: ["anchors.md 3(b) vSphere '>30%'", "anchors.md 4(b)/10.8 Difference Engine", "real-guests.md build rows and smart_scan problem", "SOURCES.md [reads]: read rates (estimates)"],
  families: [
    {
      name: "build",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      stagger: "1s",
      cpuPerOp: "60us",
      regions: [
        ...debianKernelRegions(),
        { name: "toolchain", fraction: 0.05, fill: "shared" },
        { name: "source-cache", fraction: 0.1, fill: "shared", populated: 0.4 },
        { name: "object-files", fraction: 0.04, fill: "shared", populated: 0 },
        { name: "compiler-heap", fraction: 0.3, fill: "zero", populated: 0.5 },
        { name: "zeroed-free", fraction: 0.1, fill: "zero" },
        { name: "never-touched", fraction: 0.11, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [{ region: "source-cache", writesPerSec: 300, produces: { original: 1 }, readsPerSec: 300 }] },
        {
          name: "steady",
          activities: [
            { region: "source-cache", writesPerSec: 100, produces: { original: 1 }, readsPerSec: 1000 },
            { region: "object-files", writesPerSec: 100, produces: { shared: 1 }, sharedEpoch: "30s", readsPerSec: 100 },
            {
              region: "compiler-heap", writesPerSec: 12000, writeSize: 1024, hotFraction: 0.3, hotProbability: 0.9,
              produces: { unique: 0.85, shared: 0.08, zero: 0.07 }, sharedEpoch: "2s", readsPerSec: 12000,
            },
          ],
        },
      ],
    },
  ],
};
export default spec;
