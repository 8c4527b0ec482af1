/**
 * database: identical database servers holding the same dataset: identical binaries; a buffer
 * pool with the same pages in every guest (identical while read, diverging as each guest's own
 * updates dirty them, Zipf-skewed); write-ahead log pages that are always unique.
 *
 * Sources (SOURCES.md, which quotes them with their URLs):
 *  - [anchors.md 3(b) / 10.10] VMware vSphere 4.1 docs, ">30%" for nearly identical VMs;
 *  - [anchors.md 4(b) / 10.8] Difference Engine (OSDI'08), 65-75% for identical RUBiS guests
 *    (Apache + MySQL), nearly all from full-page sharing.
 * Target: 4+ identical guests, vmdedup, steady state: savings incl. zero pages in 30-75%.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { debianKernelRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "database",
  description: "identical database servers: the same dataset in every buffer pool, diverging under Zipf updates; unique WAL",
  sources: ["anchors.md 3(b) vSphere '>30%'", "anchors.md 4(b)/10.8 Difference Engine 65-75%", "SOURCES.md [reads]: read rates (estimates)"],
  families: [
    {
      name: "db",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      stagger: "1s",
      cpuPerOp: "200us",
      regions: [
        ...debianKernelRegions(),
        { name: "db-binaries", fraction: 0.04, fill: "shared" },
        { name: "buffer-pool", fraction: 0.4, fill: "shared", populated: 0.7 },
        { name: "wal", fraction: 0.05, fill: "private", populated: 0.2 },
        { name: "zeroed-free", fraction: 0.1, fill: "zero" },
        { name: "never-touched", fraction: 0.11, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        { name: "warm-up", duration: "15s", activities: [{ region: "buffer-pool", writesPerSec: 600, produces: { original: 1 }, readsPerSec: 600 }] },
        {
          name: "steady",
          activities: [
            { region: "buffer-pool", writesPerSec: 400, writeSize: 256, zipf: 1.2, produces: { unique: 0.95, original: 0.05 }, readsPerSec: 4000 },
            { region: "wal", writesPerSec: 800, writeSize: 4096, hotFraction: 0.1, hotProbability: 0.9, produces: { unique: 1 } },
          ],
        },
      ],
    },
  ],
};
export default spec;
