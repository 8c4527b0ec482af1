/**
 * web-server: identical guests serving the same site: identical web server binaries, shared
 * libraries and static content in the page cache; per-request buffers and session heaps that
 * are mostly unique and rewritten at a steady rate with a hot set.
 *
 * Sources (SOURCES.md, which quotes them with their URLs or, for our measurement, its commands):
 *  - [anchors.md 3(b) / 10.10] VMware vSphere 4.1 docs, "many nearly identical virtual machines
 *    might free up more than thirty percent of memory" -> the lower bound, 30%;
 *  - [anchors.md 4(b) / 10.8] Difference Engine (OSDI'08; CACM 53(10) p. 93), 65-75% for 1-6
 *    identical 256 MB VMs running RUBiS (Apache + MySQL), nearly all from full-page sharing -> the
 *    upper bound, 75%;
 *  - [real-guests.md] "web" rows of our QEMU measurement: a busybox httpd guest has 67.5% zero pages and 16.0% non-zero
 *    savings across 3 guests after ~2 minutes; a long-running server has touched more memory
 *    (page cache, zeroed free memory), which the regions below model.
 * Target: 4+ identical guests, vmdedup, steady state: savings incl. zero pages in 30-75%.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { debianKernelRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "web-server",
  description: "identical web servers: shared binaries, libraries and static content; unique session heaps with a hot set",
  sources: ["anchors.md 3(b) vSphere '>30%'", "anchors.md 4(b) Difference Engine 65-75% (RUBiS)", "real-guests.md web rows", "SOURCES.md [reads]: read rates (estimates)"],
  families: [
    {
      name: "web",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      stagger: "1s",
      cpuPerOp: "150us",
      regions: [
        ...debianKernelRegions(),
        { name: "server-binaries", fraction: 0.06, fill: "shared" },
        { name: "static-content", fraction: 0.16, fill: "shared", populated: 0.3 },
        { name: "session-heap", fraction: 0.15, fill: "private" },
        { name: "zeroed-free", fraction: 0.17, fill: "zero" },
        { name: "never-touched", fraction: 0.16, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        {
          name: "warm-up",
          duration: "15s",
          activities: [
            { region: "static-content", writesPerSec: 400, produces: { original: 1 }, readsPerSec: 2000 },
            { region: "session-heap", writesPerSec: 2000, writeSize: 512, hotFraction: 0.2, hotProbability: 0.8, produces: { unique: 0.97, zero: 0.03 }, readsPerSec: 2000 },
          ],
        },
        {
          name: "steady",
          activities: [
            { region: "static-content", writesPerSec: 20, produces: { original: 1 }, readsPerSec: 3000 },
            { region: "session-heap", writesPerSec: 4000, writeSize: 512, hotFraction: 0.2, hotProbability: 0.8, produces: { unique: 0.97, zero: 0.03 }, readsPerSec: 4000 },
          ],
        },
      ],
    },
  ],
};
export default spec;
