/**
 * The shipped captured traces (workloads/traces/FORMAT.md, "Captured traces"): each reads and
 * validates completely, meets issue 11's bar (>= 3 identical guests, >= 256 MiB each, >= 60 s at
 * <= 5 s intervals), carries the capture metadata, and its recorded host-KSM sharing stays within
 * what merging every duplicate could save (KSM cannot merge more than the oracle allows, apart from
 * the resident zero pages and QEMU's ROM/VGA blocks that pmemsave does not read as RAM).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { analyzeTrace, PAGE_CONTENT, PAGE_UNPOPULATED, TraceReader } from "../../src/trace/index.ts";

const DIR = import.meta.dir;
const TRACES = ["build", "web", "database"];

describe.each(TRACES)("shipped trace %s", (name) => {
  const path = join(DIR, `${name}.vmtrace`);

  test("is a full capture of identical guests", () => {
    const r = new TraceReader(path);
    const h = r.header;
    expect(h.guests.length).toBeGreaterThanOrEqual(3);
    for (const g of h.guests) {
      expect(g.pageCount * h.pageSize).toBeGreaterThanOrEqual(256 << 20);
      expect(g.pageCount).toBe(h.guests[0]!.pageCount);
      expect(g.timesSec.at(-1)! - g.timesSec[0]!).toBeGreaterThanOrEqual(59.5);
      for (let j = 1; j < g.timesSec.length; j++) expect(g.timesSec[j]! - g.timesSec[j - 1]!).toBeLessThanOrEqual(5.5);
      expect(g.pauseSec!.length).toBe(h.snapshots);
    }
    expect(h.meta.workload!.startsWith(`${name}:`)).toBe(true);
    expect(["kvm", "tcg"]).toContain(h.meta.accelerator!);
    if (h.meta.accelerator === "tcg") expect(h.meta.tcgSlowdown!).toBeGreaterThan(1);
    expect(h.meta.source!).toContain(`bun run capture --workload ${name}`);
    // every block applies and validates; pages are populated content, zero or unpopulated
    let snaps = 0;
    for (const _ of r.snapshots()) snaps++;
    expect(snaps).toBe(h.snapshots);
    const img = r.images[0]!;
    let content = 0, unpop = 0;
    for (let i = 0; i < img.pageCount; i++) {
      if (img.state[i] === PAGE_CONTENT) content++;
      else if (img.state[i] === PAGE_UNPOPULATED) unpop++;
    }
    expect(content).toBeGreaterThan(img.pageCount / 5);
    expect(unpop).toBeGreaterThan(0);
  });

  test("host KSM's recorded sharing is within the oracle's savable pages", () => {
    const a = analyzeTrace(path);
    const ksm = a.header.meta.hostKsm;
    if (!ksm) return; // captured without the live peer
    expect(ksm.length).toBeGreaterThan(a.header.snapshots);
    const savable = a.counts.content + a.counts.zero - a.counts.distinctContent;
    const last = ksm.at(-1)!;
    expect(last.pages_sharing!).toBeGreaterThan(0);
    expect(last.pages_sharing!).toBeLessThanOrEqual(savable + 2000);
  });
});
