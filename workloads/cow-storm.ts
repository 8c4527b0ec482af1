/**
 * cow-storm: identical guests, merged, whose shared pages are all rewritten at once (a guest OS
 * update, a page-cache flush and re-read), on a host sized for the merged footprint: sharing
 * collapses, the host walks down ESX's free-memory states, balloons, compresses and swaps, the
 * guests stall, and they recover as the scanner merges the new (again identical) contents.
 * The storm is a phase option any spec can use (spec.ts StormSpec).
 *
 * Sources (SOURCES.md): [cow-storm] for the design and the host size; the regions follow
 * web-server's proportions ([anchors.md 4(b)]: 65-75% saved for identical guests, nearly all of
 * it shared binaries and page cache); read rates as web-server's ([reads], estimates).
 */
import type { WorkloadSpec } from "../src/sim/spec.ts";

const spec: WorkloadSpec = {
  name: "cow-storm",
  description: "identical guests on a host sized for their merged footprint; at 15 s of steady state all shared pages are rewritten (an OS update)",
  sources: ["SOURCES.md [cow-storm]", "anchors.md 4(b) Difference Engine 65-75%", "SOURCES.md [reads]: read rates (estimates)"],
  host: { memory: "40%" },
  families: [
    {
      name: "vm",
      guests: 4,
      memory: "128MiB",
      mode: "hvm",
      stagger: "1s",
      cpuPerOp: "100us",
      regions: [
        { name: "os-image", fraction: 0.45, fill: "shared", compressibility: 0.5 },
        { name: "page-cache", fraction: 0.2, fill: "shared", compressibility: 0.6 },
        { name: "app-heap", fraction: 0.15, fill: "private" },
        { name: "zeroed-free", fraction: 0.12, fill: "zero" },
        { name: "never-touched", fraction: 0.08, fill: "untouched" },
      ],
      phases: [
        { name: "boot", duration: "5s", activities: [] },
        {
          name: "steady",
          storm: { at: "15s", over: "2s", regions: ["os-image", "page-cache"] },
          activities: [
            { region: "os-image", writesPerSec: 0, produces: { original: 1 }, readsPerSec: 3000 },
            { region: "page-cache", writesPerSec: 0, produces: { original: 1 }, readsPerSec: 2000 },
            { region: "app-heap", writesPerSec: 2000, writeSize: 512, hotFraction: 0.3, hotProbability: 0.9, produces: { unique: 1 }, readsPerSec: 2000 },
          ],
        },
      ],
    },
  ],
};
export default spec;
