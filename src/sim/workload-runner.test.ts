import { describe, expect, test } from "bun:test";
import { maxSharing } from "../dedup/index.ts";
import { PageFiller, UNIQUE_MAGIC } from "./content.ts";
import { resolveSpec, type WorkloadSpec } from "./spec.ts";
import { WorkloadRunner } from "./workload-runner.ts";

const spec: WorkloadSpec = {
  name: "t", description: "test", sources: ["none"],
  families: [{
    name: "f", guests: 3, memory: "256KiB",
    regions: [
      { name: "sh", fraction: 0.25, fill: "shared" },
      { name: "dup", fraction: 0.25, fill: "shared", copies: 4 },
      { name: "pr", fraction: 0.25, fill: "private" },
      { name: "z", fraction: 0.125, fill: "zero" },
      { name: "u", fraction: 0.125, fill: "untouched" },
    ],
    phases: [{ name: "steady", activities: [{ region: "pr", writesPerSec: 100, writeSize: 64, produces: { unique: 1 } }] }],
  }],
};

describe("page contents", () => {
  test("the same id gives the same bytes; different ids and seeds differ", () => {
    const a = new PageFiller(1);
    const b = new PageFiller(1);
    const c = new PageFiller(2);
    expect(Buffer.compare(a.named(5), b.named(5))).toBe(0);
    const p5 = a.named(5).slice();
    expect(Buffer.compare(p5, a.named(6))).not.toBe(0);
    expect(Buffer.compare(p5, c.named(5))).not.toBe(0);
    const u = a.unique(7, 2, 3, 64);
    expect(u.length).toBe(64);
    const w = new Uint32Array(u.buffer, 0, 4);
    expect([...w]).toEqual([UNIQUE_MAGIC, 7, 2, 3]);
  });

  test("boot: identical guests hold identical bytes where the spec says so, nothing else", () => {
    const r = new WorkloadRunner(resolveSpec(spec), 1);
    expect(r.startDue(0)).toBe(3);
    const [g0, g1] = r.hv.guests;
    for (let gfn = 0; gfn < 16; gfn++) expect(Buffer.compare(g0!.read(gfn), g1!.read(gfn))).toBe(0); // shared
    for (let gfn = 32; gfn < 48; gfn++) expect(Buffer.compare(g0!.read(gfn), g1!.read(gfn))).not.toBe(0); // private
    expect(g0!.frameOf(50)).toBeGreaterThanOrEqual(0); // zero region (48..55) is written
    expect(g0!.frameOf(60)).toBe(-1); // untouched (56..63) is not
    // 64 pages per guest: 16 shared distinct, 16 with 4 copies of 4 contents, 16 private, 8 zero
    const o = maxSharing(r.hv);
    expect(o.populatedPages).toBe(3 * 56);
    expect(o.zeroPages).toBe(24);
    expect(o.distinctContents).toBe(16 + 4 + 3 * 16);
    r.hv.audit();
  });

  test("copies are counted and writes that create duplicates are pending", () => {
    const r = new WorkloadRunner(resolveSpec(spec), 1);
    r.startDue(0);
    // shared page 0 exists in 3 guests: guests 2 and 3 made further copies; dup region: 4 copies x 3 guests
    expect(r.ids.copies[r.contentOf[0]!]).toBe(3);
    expect(r.ids.copies[r.contentOf[16]!]).toBe(12);
    expect(r.pendingCount()).toBe(2 * 16 + (12 - 1) * 4);
    const g = r.guests[0]!;
    const t = { ops: 0, bytes: 0, cowBreaks: 0, cowCopies: 0, ptUpdates: 0 };
    r.plan(g, 1, 1, 0, 0);
    r.runOps(g, 1, 1, t);
    expect(t.ops).toBe(100);
    expect(t.bytes).toBe(6400);
    r.hv.audit();
  });
});
