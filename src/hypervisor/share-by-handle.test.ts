import { describe, expect, test } from "bun:test";
import { Hypervisor, InvalidArgumentError, type Guest } from "./index.ts";

const PAGE = 4096;
const fill = (v: number) => new Uint8Array(PAGE).fill(v);

function setup(verifyMerges = false, mode: "hvm" | "pv" = "hvm") {
  const hv = new Hypervisor({ frames: 16, verifyMerges });
  const a = hv.createGuest({ pages: 4, mode, name: "a" });
  const b = hv.createGuest({ pages: 4, mode, name: "b" });
  return { hv, a, b };
}

/** The (slot, frame, generation) handle of a page, as a policy sees it after a compare. */
function handle(hv: Hypervisor, g: Guest, gfn: number): [number, number, number] {
  const slot = g.slotBase + gfn;
  const f = hv.pageTable.slotFrame[slot]!;
  return [slot, f, hv.memory.frameWriteGen[f]!];
}

function observe(hv: Hypervisor) {
  const pages = hv.guests.map((g) => Array.from({ length: g.pages }, (_, i) => [g.frameOf(i), g.read(i)[0]]));
  return JSON.stringify({ stats: hv.stats(), pages });
}

describe("shareByHandle (the policies' share)", () => {
  test("moves every mapping of the second frame onto the first, as share does, and counts the same", () => {
    const { hv, a, b } = setup(false, "pv");
    a.write(0, 0, fill(7));
    b.write(0, 0, fill(7));
    b.write(1, 0, fill(7));
    hv.share(b, 0, b, 1); // b0 and b1 share one frame
    const keep = handle(hv, a, 0);
    const move = handle(hv, b, 0);
    hv.shareByHandle(...keep, ...move);
    expect([a.frameOf(0), b.frameOf(0), b.frameOf(1)]).toEqual([keep[1], keep[1], keep[1]]);
    expect(hv.stats()).toMatchObject({ sharedFrames: 1, sharingMappings: 2, framesUsed: 1, ptUpdates: 3 });
    expect(b.frameTable[0]).toBe(keep[1]);
    hv.audit();
  });

  test("a stale handle (slot remapped, frame written since) throws and changes nothing", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(7));
    b.write(0, 0, fill(7));
    const keep = handle(hv, a, 0);
    const move = handle(hv, b, 0);
    b.write(0, 9, new Uint8Array([7])); // same bytes, new generation
    const before = observe(hv);
    expect(() => hv.shareByHandle(...keep, ...move)).toThrow(InvalidArgumentError);
    expect(() => hv.shareByHandle(keep[0], keep[1], keep[2], b.slotBase + 1, move[1], move[2])).toThrow(InvalidArgumentError);
    expect(() => hv.shareByHandle(-1, keep[1], keep[2], ...handle(hv, b, 0))).toThrow(InvalidArgumentError);
    expect(() => hv.shareByHandle(1e9, keep[1], keep[2], ...handle(hv, b, 0))).toThrow(InvalidArgumentError);
    expect(observe(hv)).toBe(before);
    hv.shareByHandle(...keep, ...handle(hv, b, 0)); // a fresh handle works
    expect(b.frameOf(0)).toBe(keep[1]);
    hv.audit();
  });

  test("the bytes are trusted unless verifyMerges is on: then different content throws and changes nothing", () => {
    const trusting = setup(false);
    trusting.a.write(0, 0, fill(1));
    trusting.b.write(0, 0, fill(2));
    trusting.hv.shareByHandle(...handle(trusting.hv, trusting.a, 0), ...handle(trusting.hv, trusting.b, 0));
    expect(trusting.b.read(0)[0]).toBe(1); // a policy that lies about its compare corrupts the guest
    trusting.hv.audit();
    const { hv, a, b } = setup(true);
    expect(hv.verifyMerges).toBe(true);
    a.write(0, 0, fill(1));
    b.write(0, 0, fill(2));
    const before = observe(hv);
    expect(() => hv.shareByHandle(...handle(hv, a, 0), ...handle(hv, b, 0))).toThrow(/content differs/);
    expect(observe(hv)).toBe(before);
    expect(() => hv.shareByHandle(...handle(hv, a, 1), ...handle(hv, b, 0))).toThrow(InvalidArgumentError); // unpopulated
    expect(() => new Hypervisor({ frames: 4, verifyMerges: "yes" as never })).toThrow(InvalidArgumentError);
    hv.audit();
  });

  test("mapZeroByHandle maps a tested zero page onto the zero frame; stale or non-zero (verified) throws", () => {
    const { hv, a, b } = setup(true);
    a.write(0, 0, fill(0));
    b.write(0, 0, fill(3));
    const h = handle(hv, a, 0);
    hv.mapZeroByHandle(...h);
    expect(a.frameOf(0)).toBe(hv.zeroFrame);
    expect(hv.stats()).toMatchObject({ zeroMapped: 1, framesUsed: 1 });
    expect(() => hv.mapZeroByHandle(...h)).toThrow(InvalidArgumentError); // stale: the slot moved
    const before = observe(hv);
    expect(() => hv.mapZeroByHandle(...handle(hv, b, 0))).toThrow(/not all zeros/);
    expect(observe(hv)).toBe(before);
    hv.audit();
  });

  test("relocatePick: the merged page moves to the free frame at that free-list position, content, counters and audit intact", () => {
    for (const mode of ["hvm", "pv"] as const) {
      for (const pick of [0, 3, 0xfffffffe]) {
        const { hv, a, b } = setup(true, mode);
        const plain = setup(true, mode);
        a.write(0, 0, fill(7));
        b.write(0, 0, fill(7));
        b.write(1, 0, fill(7));
        hv.share(b, 0, b, 1);
        plain.a.write(0, 0, fill(7));
        plain.b.write(0, 0, fill(7));
        plain.b.write(1, 0, fill(7));
        plain.hv.share(plain.b, 0, plain.b, 1);
        const keep = handle(hv, a, 0);
        const move = handle(hv, b, 0);
        // the free list after the share frees move's frame (pushed on top), as the mechanism sees it
        const m = hv.memory;
        const free = [...m.freeStack.subarray(0, m.freeCount), move[1]];
        const want = free[pick % free.length]!;
        const got = hv.shareByHandle(...keep, ...move, pick);
        const kept = plain.hv.shareByHandle(...handle(plain.hv, plain.a, 0), ...handle(plain.hv, plain.b, 0));
        expect(kept).toBe(keep[1]);
        expect(got).toBe(want);
        expect([a.frameOf(0), b.frameOf(0), b.frameOf(1)]).toEqual([got, got, got]);
        expect(a.read(0)).toEqual(fill(7));
        expect(hv.memory.frameState[keep[1]]).toBe(0); // FREE: the old frame went back to the free list
        const { ptUpdates, ...rest } = hv.stats();
        const { ptUpdates: plainPt, ...plainRest } = plain.hv.stats();
        expect(rest).toEqual(plainRest);
        expect(ptUpdates - plainPt).toBe(mode === "pv" ? 3 : 0); // three PV entries rewritten once more
        if (mode === "pv") expect([a.frameTable[0], b.frameTable[0], b.frameTable[1]]).toEqual([got, got, got]);
        expect(hv.sharedRelocations).toBe(1);
        hv.audit();
        b.write(0, 0, fill(9)); // CoW still works on the relocated frame
        expect([a.read(0)[0], b.read(0)[0], b.read(1)[0]]).toEqual([7, 9, 7]);
        hv.audit();
      }
    }
  });

  test("relocatePick: a bad pick or a stale handle throws and changes nothing", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(7));
    b.write(0, 0, fill(7));
    const before = observe(hv);
    for (const bad of [-2, 1.5, 2 ** 32, Number.NaN]) expect(() => hv.shareByHandle(...handle(hv, a, 0), ...handle(hv, b, 0), bad)).toThrow(/relocatePick/);
    const keep = handle(hv, a, 0);
    expect(() => hv.shareByHandle(keep[0], keep[1], keep[2] + 1, ...handle(hv, b, 0), 5)).toThrow(/stale share handle/);
    expect(observe(hv)).toBe(before);
    expect(hv.sharedRelocations).toBe(0);
    hv.audit();
  });

  test("counters are read-only from outside", () => {
    const { hv } = setup();
    expect(() => {
      (hv as { cowBreaks: number }).cowBreaks = 5;
    }).toThrow(TypeError);
    expect(hv.stats().cowBreaks).toBe(0);
  });
});
