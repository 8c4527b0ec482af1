/**
 * web-server: identical guests serving the same static site: the guest OS at READY, then the
 * site's files read into every guest's page cache (the same bytes everywhere), then a small hot
 * set of request buffers rewritten unique.
 *
 * Fitted to a captured trace (SOURCES.md [traces: web]): workloads/traces/web.vmtrace, 3 x 256 MiB
 * Debian guests under QEMU/TCG, nginx-light serving 500 static files (1-32 KB) to wrk over
 * loopback. In the guest's view (the host's remap of zero-filled pages undone, workloads/README.md
 * "Fitted to the captured traces"), % of all pages, first -> last snapshot: zero 15.0 -> 15.2,
 * unpopulated 51.0 -> 45.3, within-guest duplicates (excl. zero) 5.9 -> 5.6, cross-guest
 * 8.5 -> 11.8; steady churn 0.20% of pages per host second, x 17.5 (the capture's TCG slowdown) =
 * 3.6% per native second, over intervals of 5 host s = 0.29 native s; the pages rewritten more
 * than once in the last 45 s are ~2% of all pages. Regions:
 *  - the captured guest at READY (debian-base.ts bookwormGuestRegions) with 9.7% shared pages;
 *  - static-content: 5% never touched at READY, read into every guest's page cache in the first
 *    20 host s = 1.15 native s: cross-guest +3.3 points;
 *  - session-heap: 2% of the guest, rewritten unique and evenly (1,630 writes/s at 128 MiB, so
 *    ~51% of it changes per 0.29 s window, the trace's per-interval churn).
 * Rates are for the spec's 128 MiB and scale with --guest-mem (the fit runs at 3 x 256 MiB).
 * Also [anchors.md 3(b)] vSphere ">30%" and [anchors.md 4(b)] Difference Engine 65-75% for RUBiS
 * (Apache + MySQL + PHP under 200 sessions, a heavier server than this capture) for context.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { bookwormGuestRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "web-server",
  description: "identical web servers: the same static site read into every page cache; small unique request buffers with a hot set",
  sources: ["traces: web (workloads/traces/web.vmtrace, fitted)", "anchors.md 3(b) vSphere '>30%'", "SOURCES.md [reads]: read rates (estimates)", "anchors.md 4(b) Difference Engine 65-75% (RUBiS)"],
  families: [
    {
      name: "web",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      cpuPerOp: "50us",
      regions: [
        ...bookwormGuestRegions({ repeated: 0.0227, paired: 0.0604, shared: 0.0966, private: 0.1402 }),
        { name: "session-heap", fraction: 0.02, fill: "private" },
        { name: "static-content", fraction: 0.05, fill: "shared", populated: 0 },
        { name: "zeroed-free", fraction: 0.1497, fill: "zero" },
        { name: "never-touched", fraction: 0.4604, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        {
          name: "warm-up",
          duration: "1.15s",
          activities: [
            { region: "static-content", writesPerSec: 3575, produces: { original: 1 }, readsPerSec: 3000 },
            { region: "session-heap", writesPerSec: 1630, writeSize: 512, produces: { unique: 1 }, readsPerSec: 1630 },
          ],
        },
        {
          name: "steady",
          activities: [
            { region: "session-heap", writesPerSec: 1630, writeSize: 512, produces: { unique: 1 }, readsPerSec: 1630 },
            { region: "static-content", writesPerSec: 0, produces: { original: 1 }, readsPerSec: 3000 }, // reads only (SOURCES.md [reads])
          ],
        },
      ],
    },
  ],
};
export default spec;
