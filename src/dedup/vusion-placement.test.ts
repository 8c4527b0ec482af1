/**
 * VUsion's randomised allocation (mitigation.ts, vusion): every merge that makes a new shared
 * frame moves the merged page to a free frame drawn from the free list at a seeded random
 * position (hv.shareByHandle's relocatePick), for every merging policy. Checked here: each such
 * frame is the free-list entry at the drawn position, the draws are the mitigation's seeded
 * sequence (same seed: same frames; another seed: other frames), what merges is exactly what
 * off merges, and hv.audit() / scanner.audit() pass after every pass. Off never relocates.
 */
import { describe, expect, test } from "bun:test";
import { Hypervisor, type Guest } from "../hypervisor/index.ts";
import { SplitMix32 } from "./esx/sampling.ts";
import { auditMitigation, createScanner, type MitigationKind, type Policy } from "./index.ts";

const PAGE = 4096;

function content(id: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  p.fill(id & 0xff);
  new DataView(p.buffer).setUint32(64, id);
  return p;
}

interface Merge {
  pick: number;
  /** The free list as the mechanism draws from it: before the share, plus the moved frame it frees. */
  free: number[];
  frame: number;
}

/** Three guests of 24 pages, 8 contents shared by all, the rest unique; 4 full passes. */
async function run(policy: Policy, mitigation: MitigationKind, seed: number) {
  const hv = new Hypervisor({ frames: 160, verifyMerges: true });
  const gs: Guest[] = [0, 1, 2].map((i) => hv.createGuest({ pages: 24, name: `g${i}` }));
  gs.forEach((g, gi) => {
    for (let p = 0; p < 24; p++) g.write(p, 0, content(p < 8 ? 1 + p : 1000 * (gi + 1) + p));
  });
  const merges: Merge[] = [];
  const share = hv.shareByHandle.bind(hv);
  hv.shareByHandle = (ks, kf, kg, ms, mf, mg, pick = -1) => {
    const free = [...hv.memory.freeStack.subarray(0, hv.memory.freeCount), mf];
    const frame = share(ks, kf, kg, ms, mf, mg, pick);
    if (pick !== -1) merges.push({ pick, free, frame });
    return frame;
  };
  const s = createScanner(hv, { policy, pagesToScan: 11, mitigation, seed });
  for (let i = 0; i < 4; i++) {
    await s.fullScans(1);
    hv.audit();
    s.audit();
    auditMitigation(hv, s.mitigation);
  }
  const frames = gs.map((g) => Array.from({ length: 8 }, (_, p) => g.frameOf(p)));
  const contentsOk = gs.every((g, gi) => Array.from({ length: 24 }, (_, p) => p).every((p) => g.read(p)[70] === content(p < 8 ? 1 + p : 1000 * (gi + 1) + p)[70]));
  const out = { stats: hv.stats(), relocations: hv.sharedRelocations, drawn: s.mitigation.relocationsDrawn, merges, frames, contentsOk };
  await s.close();
  return out;
}

describe("vusion: merged frames come from random free frames", () => {
  for (const policy of ["vmdedup", "ksm", "esx"] as const) {
    test(`${policy}: each new shared frame is the free-list entry at a seeded random position; merges as off`, async () => {
      const off = await run(policy, "off", 5);
      expect(off.relocations).toBe(0);
      expect(off.merges).toEqual([]);
      const v = await run(policy, "vusion", 5);
      expect(v.contentsOk).toBe(true);
      // every one of the 8 shared contents got one new shared frame, drawn and relocated
      expect(v.merges.length).toBe(8);
      expect(v.relocations).toBe(8);
      expect(v.drawn).toBe(8);
      for (const m of v.merges) expect(m.frame).toBe(m.free[m.pick % m.free.length]!);
      // the draws are the mitigation's seeded stream
      const rng = new SplitMix32((5 ^ 0x7a5c1d3b) >>> 0);
      expect(v.merges.map((m) => m.pick)).toEqual(v.merges.map(() => rng.next()));
      // not the top of the stack (where an ordinary allocation would come from) every time
      expect(v.merges.filter((m) => m.frame !== m.free[m.free.length - 1]).length).toBeGreaterThanOrEqual(6);
      // each guest's copy of a shared content maps that content's one relocated frame
      const relocated = new Set(v.merges.map((m) => m.frame));
      for (let p = 0; p < 8; p++) {
        expect(v.frames[0]![p]).toBe(v.frames[1]![p]!);
        expect(v.frames[0]![p]).toBe(v.frames[2]![p]!);
        expect(relocated.has(v.frames[0]![p]!)).toBe(true);
      }
      // what merges is what off merges (HVM guests: not even a page-table update differs)
      expect(v.stats).toEqual(off.stats);
      // deterministic for a seed; another seed places the frames elsewhere
      expect(await run(policy, "vusion", 5)).toEqual(v);
      const other = await run(policy, "vusion", 6);
      expect(other.stats).toEqual(off.stats);
      expect(other.frames).not.toEqual(v.frames);
    });
  }

  test("fixed-latency and salted never relocate; only vusion faults reads", async () => {
    for (const m of ["fixed-latency", "salted", "zero-only"] as const) expect((await run("vmdedup", m, 5)).relocations).toBe(0);
    const hv = new Hypervisor({ frames: 8 });
    for (const [kind, reads] of [["vusion", true], ["fixed-latency", false], ["off", false]] as const) {
      const s = createScanner(hv, { policy: "vmdedup", mitigation: kind });
      expect(s.mitigation.readsFault).toBe(reads);
      expect(s.mitigation.relocatePick() === -1).toBe(kind !== "vusion");
      await s.close();
    }
  });
});
