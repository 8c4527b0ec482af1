/**
 * database: identical database servers, each building and updating its own copy of the same
 * benchmark tables: the guest OS at READY, then the database pages written (different bytes in
 * every guest), then the hot pages of the tables rewritten.
 *
 * Fitted to a captured trace (SOURCES.md [traces: database]): workloads/traces/database.vmtrace,
 * 3 x 256 MiB Debian guests under QEMU/TCG, sqlite3 3.40 (WAL, ext4) with pgbench's TPC-B tables
 * at scale 1 and batches of 100 TPC-B transactions, ids seeded per guest. In the guest's view (the
 * host's remap of zero-filled pages undone, workloads/README.md "Fitted to the captured traces"),
 * % of all pages, first -> last snapshot: zero 15.1 -> 15.6, unpopulated 51.0 -> 44.0,
 * within-guest duplicates (excl. zero) 6.1 -> 5.6, cross-guest 9.0 -> 8.3 (the new pages, 1-copy
 * contents, are unique to their guest); steady churn 0.58% of pages per host second, x 9.4 (the
 * capture's TCG slowdown) = 5.4% per native second, over intervals of 5 host s = 0.53 native s;
 * 6.3% of all pages changed at least once in the last 45 s. Regions:
 *  - the captured guest at READY (debian-base.ts bookwormGuestRegions) with 10.2% shared pages;
 *  - db-pages: 6.5% never touched at READY, written with each guest's own contents in the first
 *    15 host s = 1.6 native s, then rewritten unique and evenly (2,355 writes/s at 128 MiB, so
 *    ~45% of them change per 0.53 s window, the trace's per-interval churn).
 * Rates are for the spec's 128 MiB and scale with --guest-mem (the fit runs at 3 x 256 MiB).
 * Also [anchors.md 3(b)] vSphere ">30%" and [anchors.md 4(b)] Difference Engine (RUBiS, whose
 * MySQL guests held the same data set) for context.
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";
import { bookwormGuestRegions } from "./debian-base.ts";

const spec: WorkloadSpec = {
  name: "database",
  description: "identical database servers, each with its own copy of the benchmark tables, rewritten under TPC-B-like updates",
  sources: ["traces: database (workloads/traces/database.vmtrace, fitted)", "anchors.md 3(b) vSphere '>30%'", "SOURCES.md [reads]: read rates (estimates)", "anchors.md 4(b)/10.8 Difference Engine 65-75%"],
  families: [
    {
      name: "db",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      cpuPerOp: "60us",
      regions: [
        ...bookwormGuestRegions({ repeated: 0.0233, paired: 0.067, shared: 0.1017, private: 0.1465 }),
        { name: "db-pages", fraction: 0.065, fill: "private", populated: 0 },
        { name: "zeroed-free", fraction: 0.151, fill: "zero" },
        { name: "never-touched", fraction: 0.4455, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        {
          name: "load",
          duration: "1.6s",
          activities: [
            { region: "db-pages", writesPerSec: 3325, produces: { original: 1 } },
            { region: "db-pages", writesPerSec: 2355, writeSize: 1024, produces: { unique: 1 }, readsPerSec: 9420 },
          ],
        },
        { name: "steady", activities: [{ region: "db-pages", writesPerSec: 2355, writeSize: 1024, produces: { unique: 1 }, readsPerSec: 9420 }] },
      ],
    },
  ],
};
export default spec;
