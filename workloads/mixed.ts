/**
 * mixed: a heterogeneous host running the above together: pairs of web servers, databases,
 * build machines and idle desktops, each family on its own OS image (different distributions
 * and kernels do not share kernel pages), so sharing comes from inside a guest and from the
 * other guest of the same family.
 *
 * Sources (SOURCES.md, which quotes them with their URLs):
 *  - [anchors.md 5 / 10.11] Barker et al., USENIX ATC'12: on real heterogeneous machines absolute
 *    non-zero sharing is "generally ... under 15%", and >90% of it is self-sharing;
 *  - [anchors.md 3(b) / 10.10] VMware vSphere 4.1 Resource Management Guide: "a more diverse
 *    workload might result in savings of less than five percent".
 * Targets: non-zero savings under 15%; under 5% when no two guests share a family
 * (`--guests 4`: one guest per family).
 */
import type { FamilySpec, RegionSpec, WorkloadSpec } from "../src/sim/spec.ts";

/** A distribution's kernel: small in-guest repetition (copies 2 over 5%). */
function osRegions(os: string): RegionSpec[] {
  return [
    { name: "kernel-text", fraction: 0.05, fill: "shared", shareKey: `${os}/text` },
    { name: "kernel-tables", fraction: 0.04, fill: "shared", copies: 2, shareKey: `${os}/tables` },
    { name: "per-boot-data", fraction: 0.12, fill: "private" },
  ];
}

const heap = (writesPerSec: number, writeSize: number) => ({
  region: "app-heap", writesPerSec, writeSize, hotFraction: 0.2, hotProbability: 0.8, produces: { unique: 0.97, zero: 0.03 }, readsPerSec: writesPerSec,
});

function family(name: string, os: string, appShared: number, appHeap: number, cpuPerOp: string, ops: number, writeSize: number): FamilySpec {
  return {
    name, guests: 2, memory: "128MiB", mode: "hvm", stagger: "1s", cpuPerOp,
    regions: [
      ...osRegions(os),
      { name: "app-binaries-and-cache", fraction: appShared, fill: "shared" },
      { name: "app-heap", fraction: appHeap, fill: "private" },
      { name: "zeroed-free", fraction: 0.12, fill: "zero" },
      { name: "never-touched", fraction: +(1 - 0.21 - appShared - appHeap - 0.12).toFixed(6), fill: "untouched" },
    ],
    phases: [
      { name: "boot", duration: "5s", activities: [] },
      { name: "steady", activities: ops > 0 ? [heap(ops, writeSize)] : [] },
    ],
  };
}

const spec: WorkloadSpec = {
  name: "mixed",
  description: "a heterogeneous host: pairs of web, database, build and idle guests on different OS images",
  sources: ["anchors.md 5 / 10.11 Barker et al. ATC'12 '<15%' non-zero sharing", "anchors.md 3(b) / 10.10 vSphere '<5%' for diverse workloads", "SOURCES.md [reads]: read rates (estimates)"],
  families: [
    family("web", "debian12", 0.14, 0.2, "150us", 3000, 512),
    family("db", "rhel9", 0.12, 0.3, "200us", 2000, 256),
    family("build", "ubuntu24", 0.1, 0.35, "60us", 8000, 1024),
    family("desktop", "fedora40", 0.12, 0.1, "20us", 20, 256),
  ],
};
export default spec;
