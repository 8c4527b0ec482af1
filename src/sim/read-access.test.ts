/**
 * The read hook of the first-access charge (WorkloadRunner.noteRead): under vusion a read is a
 * page's first access after a scanner visit like a write, and counts one access fault whether
 * the page is merged or not (a read never breaks CoW); under fixed-latency reads are free and
 * the first write still pays; under off nothing is watched. Faults reach the tally through
 * flushAccessFaults (runOps calls it after each activity).
 */
import { describe, expect, test } from "bun:test";
import { createScanner, type MitigationKind } from "../dedup/index.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";
import { WorkloadRunner, type OpTally } from "./workload-runner.ts";

const spec: WorkloadSpec = {
  name: "t", description: "test", sources: ["none"],
  families: [{
    name: "f", guests: 2, memory: "64KiB",
    regions: [
      { name: "sh", fraction: 0.5, fill: "shared" },
      { name: "pr", fraction: 0.5, fill: "private" },
    ],
    phases: [{ name: "steady", activities: [{ region: "pr", writesPerSec: 1, writeSize: 64, produces: { unique: 1 } }] }],
  }],
};

async function scanned(kind: MitigationKind) {
  const r = new WorkloadRunner(resolveSpec(spec), 1);
  r.startDue(0);
  const s = createScanner(r.hv, { policy: "vmdedup", mitigation: kind });
  if (s.mitigation.tracksVisits) r.accessWatch = s.mitigation;
  await s.fullScans(2);
  const g = r.hv.guests[1]!;
  const merged = g.slotBase; // page 0 of region "sh": merged with guest 0's copy
  const priv = g.slotBase + g.pages - 1; // last page of "pr": private
  expect(r.hv.isSharedFrame(r.hv.pageTable.slotFrame[merged]!)).toBe(true);
  expect(r.hv.isSharedFrame(r.hv.pageTable.slotFrame[priv]!)).toBe(false);
  return { r, s, merged, priv };
}

const tally = (): OpTally => ({ ops: 0, bytes: 0, cowBreaks: 0, cowCopies: 0, ptUpdates: 0 });

describe("reads as a first access (noteRead)", () => {
  test("vusion: the first read of a considered page faults, merged or not; the next read and write of it do not", async () => {
    const { r, s, merged, priv } = await scanned("vusion");
    const t = tally();
    r.noteRead(merged);
    r.noteRead(priv);
    r.flushAccessFaults(t);
    expect(t.accessFaults).toBe(2);
    r.noteRead(merged);
    r.noteAccess(priv); // its first access was the read
    const t2 = tally();
    r.flushAccessFaults(t2);
    expect(t2.accessFaults).toBeUndefined();
    r.hv.audit();
    await s.close();
  });

  test("fixed-latency: reads are free, the first write still pays; off watches nothing", async () => {
    const f = await scanned("fixed-latency");
    const t = tally();
    f.r.noteRead(f.priv);
    f.r.flushAccessFaults(t);
    expect(t.accessFaults).toBeUndefined();
    f.r.noteAccess(f.priv);
    f.r.flushAccessFaults(t);
    expect(t.accessFaults).toBe(1);
    f.r.hv.audit();
    await f.s.close();
    const off = await scanned("off");
    expect(off.r.accessWatch).toBeNull();
    off.r.noteRead(off.priv);
    off.r.flushAccessFaults(t);
    expect(t.accessFaults).toBe(1);
    off.r.hv.audit();
    await off.s.close();
  });
});
