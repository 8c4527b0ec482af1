/**
 * kernel-build: identical guests compiling the same C tree: the guest OS at READY, then a first
 * pass that reads the same source tree into every guest's page cache and rewrites one copy of
 * each paired page, then a compiler heap rewritten hard and unique.
 *
 * Fitted to a captured trace (SOURCES.md [traces: build]): workloads/traces/build.vmtrace, 3 x 256
 * MiB Debian guests under QEMU/TCG, gcc -O2 building Lua 5.4.4 in a loop. In the guest's view
 * (the host's remap of zero-filled pages undone, workloads/README.md "Fitted to the captured
 * traces"), % of all pages, first -> last snapshot: zero 15.6 -> 14.1, unpopulated 48.2 -> 38.0,
 * within-guest duplicates (excl. zero) 6.2 -> 3.3, cross-guest 8.2 -> 16.5; steady churn 0.85% of
 * pages per host second, x 15.2 (the capture's TCG slowdown) = 13.0% per native second, over
 * intervals of 5 host s = 0.33 native s; the hot pages (8.9% of all pages changed at least
 * once in the last 45 s) each change in about half of the intervals. Regions:
 *  - the captured guest at READY (debian-base.ts bookwormGuestRegions) with 9.3% shared pages;
 *  - build-tree: 12.4% never touched at READY, read into every guest's page cache (the same bytes
 *    everywhere) in the first 20 host s = 1.3 native s: cross-guest +8.3 points;
 *  - in the same warm-up one page of each paired page is rewritten unique (the trace's 6-copy
 *    contents fall from 6.0% to 1.1% of pages): within-guest -2.9 points;
 *  - compiler-heap: 9% of the guest, writes spread evenly (5,770/s at 128 MiB, so ~48% of its
 *    pages change per 0.33 s window, the trace's per-interval churn); 4% of them leave a zero page
 *    (in the trace's steady intervals 2.5-4.3% of the changed pages became zero pages and 2.0-4.4%
 *    had been zero pages: freed and re-zeroed memory), so CoW breaks go on in steady state.
 * Rates are for the spec's 128 MiB and scale with --guest-mem (the fit runs at 3 x 256 MiB).
 * Also [anchors.md 3(b)] vSphere ">30%" and [real-guests.md] build rows (smart_scan) for context.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { bookwormGuestRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "kernel-build",
  description: "identical guests compiling the same tree: a shared source tree read in, a compiler heap rewritten hard",
  sources: ["traces: build (workloads/traces/build.vmtrace, fitted)", "anchors.md 3(b) vSphere '>30%'", "SOURCES.md [reads]: read rates (estimates)", "real-guests.md build rows and smart_scan problem"],
  families: [
    {
      name: "build",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      cpuPerOp: "20us",
      regions: [
        ...bookwormGuestRegions({ repeated: 0.0227, paired: 0.0604, shared: 0.093, private: 0.0966 }),
        { name: "compiler-heap", fraction: 0.09, fill: "private" },
        { name: "build-tree", fraction: 0.124, fill: "shared", populated: 0 },
        { name: "zeroed-free", fraction: 0.1555, fill: "zero" },
        { name: "never-touched", fraction: 0.3578, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        {
          name: "first-pass",
          duration: "1.3s",
          activities: [
            { region: "build-tree", writesPerSec: 7700, produces: { original: 1 }, readsPerSec: 1000 },
            { region: "paired-pages", writesPerSec: 1880, hotFraction: 0.5, hotProbability: 1, produces: { unique: 1 } },
            { region: "compiler-heap", writesPerSec: 5770, writeSize: 1024, produces: { unique: 0.96, zero: 0.04 }, readsPerSec: 5770 },
          ],
        },
        {
          name: "steady",
          activities: [
            { region: "compiler-heap", writesPerSec: 5770, writeSize: 1024, produces: { unique: 0.96, zero: 0.04 }, readsPerSec: 5770 },
            { region: "build-tree", writesPerSec: 0, produces: { original: 1 }, readsPerSec: 1000 }, // reads only (SOURCES.md [reads])
          ],
        },
      ],
    },
  ],
};
export default spec;
