import { describe, expect, test } from "bun:test";
import { AuditError, Hypervisor, InvalidArgumentError, OutOfMachineMemoryError, type Guest } from "./index.ts";

const PAGE = 4096;
const fill = (v: number) => new Uint8Array(PAGE).fill(v);

function setup(frames = 16, mode: "hvm" | "pv" = "hvm") {
  const hv = new Hypervisor({ frames });
  const a = hv.createGuest({ pages: 8, mode, name: "a" });
  const b = hv.createGuest({ pages: 8, mode, name: "b" });
  return { hv, a, b };
}

/** Snapshot of everything observable, to prove a failed call changed nothing. */
function observe(hv: Hypervisor) {
  const pages = hv.guests.map((g: Guest) => Array.from({ length: g.pages }, (_, i) => [g.frameOf(i), Array.from(g.read(i))]));
  return JSON.stringify({ stats: hv.stats(), pages });
}

describe("construction and validation", () => {
  test("rejects bad machine and guest sizes", () => {
    expect(() => new Hypervisor({ frames: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Hypervisor({ frames: 1.5 })).toThrow(InvalidArgumentError);
    const hv = new Hypervisor({ frames: 4 });
    expect(() => hv.createGuest({ pages: 0 })).toThrow(InvalidArgumentError);
    expect(() => hv.createGuest({ pages: 4, mode: "xen" as "pv" })).toThrow(InvalidArgumentError);
    const g = hv.createGuest({ pages: 3 });
    expect([g.id, g.name, g.pages, g.mode]).toEqual([0, "guest-0", 3, "hvm"]);
    expect(hv.zeroFrame).toBe(4);
    hv.audit();
  });

  test("bad page numbers, offsets and lengths throw and change nothing", () => {
    const { hv, a } = setup();
    a.write(1, 0, fill(3));
    const before = observe(hv);
    expect(() => a.write(8, 0, fill(1))).toThrow(/gfn 8 out of range/);
    expect(() => a.write(-1, 0, fill(1))).toThrow(InvalidArgumentError);
    expect(() => a.write(0, 4095, new Uint8Array(2))).toThrow(/runs past/);
    expect(() => a.write(0, -1, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => a.read(0, 4000, 200)).toThrow(InvalidArgumentError);
    expect(() => a.discard(7, 2)).toThrow(InvalidArgumentError);
    expect(() => a.discard(0, -1)).toThrow(InvalidArgumentError);
    expect(() => a.frameOf(1.5)).toThrow(InvalidArgumentError);
    expect(observe(hv)).toBe(before);
    hv.audit();
  });

  test("a destroyed guest refuses every operation", () => {
    const { hv, a } = setup();
    a.write(0, 0, fill(1));
    hv.destroyGuest(a);
    expect(() => a.write(0, 0, fill(1))).toThrow(/destroyed/);
    expect(() => a.read(0)).toThrow(/destroyed/);
    expect(() => hv.destroyGuest(a)).toThrow(InvalidArgumentError);
    expect(hv.guests.map((g) => g.name)).toEqual(["b"]);
    expect(hv.stats().framesUsed).toBe(0);
    hv.audit();
  });
});

describe("populate, read, discard", () => {
  test("unpopulated pages read zeros and have no frame; the first write populates a zero-filled frame", () => {
    const { hv, a } = setup();
    expect(a.frameOf(3)).toBe(-1);
    expect(a.read(3)).toEqual(new Uint8Array(PAGE));
    a.write(3, 10, new Uint8Array([1, 2, 3]));
    expect(a.frameOf(3)).toBe(0);
    const r = a.read(3);
    expect(r[9]).toBe(0);
    expect(Array.from(r.subarray(10, 13))).toEqual([1, 2, 3]);
    expect(r[13]).toBe(0);
    expect(Array.from(a.read(3, 11, 2))).toEqual([2, 3]);
    expect(hv.stats()).toMatchObject({ framesUsed: 1, framesFree: 15, populatedPages: 1, guestPages: 16 });
    hv.audit();
  });

  test("a zero-length write is a validated no-op", () => {
    const { hv, a } = setup();
    a.write(0, 4096, new Uint8Array(0));
    expect(a.frameOf(0)).toBe(-1);
    expect(() => a.write(0, 4097, new Uint8Array(0))).toThrow(InvalidArgumentError);
    hv.audit();
  });

  test("a freed frame is reused zero-filled", () => {
    const { hv, a } = setup(1);
    a.write(0, 0, fill(9));
    a.discard(0);
    expect(hv.stats().framesFree).toBe(1);
    a.write(1, 0, new Uint8Array([5]));
    expect(a.frameOf(1)).toBe(0);
    expect(a.read(1, 1, 4095)).toEqual(new Uint8Array(4095));
    hv.audit();
  });

  test("read returns a copy", () => {
    const { hv, a } = setup();
    a.write(0, 0, fill(4));
    const r = a.read(0);
    r[0] = 99;
    expect(a.read(0, 0, 1)[0]).toBe(4);
    hv.audit();
  });
});

describe("share and copy-on-write", () => {
  test("share moves every mapping of g2's frame onto g1's frame and frees it", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(7));
    b.write(0, 0, fill(7));
    b.write(1, 0, fill(7));
    hv.share(b, 0, b, 1); // b1's frame goes, b0's survives
    const fb = b.frameOf(0);
    expect(b.frameOf(1)).toBe(fb);
    hv.share(a, 0, b, 1); // both mappings of b's shared frame move onto a's frame
    expect(b.frameOf(0)).toBe(a.frameOf(0));
    expect(b.frameOf(1)).toBe(a.frameOf(0));
    expect(a.isShared(0) && b.isShared(0)).toBe(true);
    expect(hv.stats()).toMatchObject({ framesUsed: 1, sharedFrames: 1, sharingMappings: 2, populatedPages: 3, ptUpdates: 0 });
    hv.share(a, 0, b, 0); // same frame: no-op
    expect(hv.stats().sharingMappings).toBe(2);
    hv.audit();
  });

  test("share refuses different content, unpopulated pages and the zero frame as source", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(1));
    b.write(0, 0, fill(1));
    b.write(0, 4095, new Uint8Array([2])); // differs in the last byte only
    a.write(1, 0, fill(0));
    hv.mapZero(a, 1);
    const before = observe(hv);
    expect(() => hv.share(a, 0, b, 0)).toThrow(/content differs/);
    expect(() => hv.share(a, 0, b, 5)).toThrow(/unpopulated/);
    expect(() => hv.share(a, 0, a, 1)).toThrow(/zero frame/);
    expect(observe(hv)).toBe(before);
    hv.audit();
  });

  test("a write to a shared frame copies; the last sharer's write does not", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(5));
    b.write(0, 0, fill(5));
    b.write(1, 0, fill(5));
    hv.share(a, 0, b, 0);
    hv.share(a, 0, b, 1);
    const shared = a.frameOf(0);
    b.write(0, 100, new Uint8Array([1])); // 3 sharers -> copy
    expect(b.frameOf(0)).not.toBe(shared);
    expect(b.read(0, 99, 3)).toEqual(new Uint8Array([5, 1, 5]));
    expect(a.read(0, 100, 1)[0]).toBe(5);
    expect(hv.stats()).toMatchObject({ cowBreaks: 1, cowCopies: 1, sharedFrames: 1, sharingMappings: 1 });
    a.write(0, 0, new Uint8Array([9])); // 2 sharers -> copy; frame keeps one mapping (b1), still shared
    expect(hv.stats()).toMatchObject({ cowBreaks: 2, cowCopies: 2, sharedFrames: 1, sharingMappings: 0 });
    expect(b.frameOf(1)).toBe(shared);
    expect(b.isShared(1)).toBe(true);
    b.write(1, 0, new Uint8Array([8])); // last sharer: no copy, frame becomes private
    expect(b.frameOf(1)).toBe(shared);
    expect(b.isShared(1)).toBe(false);
    expect(hv.stats()).toMatchObject({ cowBreaks: 3, cowCopies: 2, sharedFrames: 0, sharingMappings: 0, framesUsed: 3 });
    hv.audit();
  });

  test("writing identical bytes still breaks sharing", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(5));
    b.write(0, 0, fill(5));
    hv.share(a, 0, b, 0);
    b.write(0, 0, fill(5));
    expect(b.frameOf(0)).not.toBe(a.frameOf(0));
    expect(hv.stats()).toMatchObject({ cowBreaks: 1, cowCopies: 1 });
    hv.audit();
  });

  test("out of memory during a CoW break changes nothing; after a frame is freed the same write succeeds", () => {
    const hv = new Hypervisor({ frames: 2 });
    const a = hv.createGuest({ pages: 4 });
    a.write(0, 0, fill(3));
    a.write(1, 0, fill(3));
    hv.share(a, 0, a, 1);
    a.write(2, 0, fill(4)); // machine full: 2 frames
    a.write(2, 0, fill(6)); // a private write needs no frame
    expect(() => a.write(3, 0, fill(1))).toThrow(OutOfMachineMemoryError); // populate needs one
    const before = observe(hv);
    let err: unknown;
    try {
      a.write(1, 0, new Uint8Array([1]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfMachineMemoryError);
    expect((err as OutOfMachineMemoryError).framesNeeded).toBe(1);
    expect(observe(hv)).toBe(before);
    hv.audit();
    a.discard(2);
    a.write(1, 0, new Uint8Array([1]));
    expect(a.read(1, 0, 2)).toEqual(new Uint8Array([1, 3]));
    expect(hv.stats()).toMatchObject({ cowBreaks: 1, cowCopies: 1, framesFree: 0 });
    hv.audit();
  });
});

describe("zero frame", () => {
  test("mapZero frees the frame; a write breaks into a fresh zero-filled frame without a copy", () => {
    const { hv, a } = setup();
    a.write(2, 0, fill(0));
    hv.mapZero(a, 2);
    expect(a.frameOf(2)).toBe(hv.zeroFrame);
    expect(a.isShared(2)).toBe(false);
    expect(hv.stats()).toMatchObject({ framesUsed: 0, zeroMapped: 1, populatedPages: 1 });
    hv.mapZero(a, 2); // already: no-op
    a.write(2, 7, new Uint8Array([1]));
    expect(a.frameOf(2)).toBeGreaterThanOrEqual(0);
    expect(a.frameOf(2)).not.toBe(hv.zeroFrame);
    expect(a.read(2, 6, 3)).toEqual(new Uint8Array([0, 1, 0]));
    expect(hv.stats()).toMatchObject({ cowBreaks: 1, cowCopies: 0, zeroMapped: 0, framesUsed: 1 });
    hv.audit();
  });

  test("mapZero refuses non-zero and unpopulated pages", () => {
    const { hv, a } = setup();
    a.write(0, 4095, new Uint8Array([1]));
    expect(() => hv.mapZero(a, 0)).toThrow(/not all zeros/);
    expect(() => hv.mapZero(a, 1)).toThrow(/unpopulated/);
    hv.audit();
  });

  test("mapZero of one sharer leaves the other sharers on the frame", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(0));
    b.write(0, 0, fill(0));
    hv.share(a, 0, b, 0);
    hv.mapZero(b, 0);
    expect(a.frameOf(0)).not.toBe(hv.zeroFrame);
    expect(hv.stats()).toMatchObject({ sharedFrames: 1, sharingMappings: 0, zeroMapped: 1, framesUsed: 1 });
    hv.audit();
  });
});

describe("unshare, unmergeAll, destroy", () => {
  test("unshare gives a private copy with the same content", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(2));
    b.write(0, 0, fill(2));
    hv.share(a, 0, b, 0);
    hv.unshare(b, 0);
    expect(b.frameOf(0)).not.toBe(a.frameOf(0));
    expect(b.read(0)).toEqual(fill(2));
    hv.unshare(a, 0); // last sharer: becomes private, same frame
    expect(a.isShared(0)).toBe(false);
    expect(hv.stats()).toMatchObject({ sharedFrames: 0, cowBreaks: 0, cowCopies: 0, framesUsed: 2 });
    hv.unshare(a, 5); // unpopulated: no-op
    hv.audit();
  });

  test("unmergeAll is all-or-nothing", () => {
    const hv = new Hypervisor({ frames: 3 });
    const g = hv.createGuest({ pages: 6 });
    for (let i = 0; i < 3; i++) g.write(i, 0, fill(1));
    hv.share(g, 0, g, 1);
    hv.share(g, 0, g, 2);
    g.write(3, 0, fill(0));
    hv.mapZero(g, 3);
    g.write(4, 0, fill(8));
    expect(hv.stats().framesFree).toBe(1);
    const before = observe(hv);
    expect(() => hv.unmergeAll()).toThrow(OutOfMachineMemoryError); // needs 2 + 1
    expect(observe(hv)).toBe(before);
    g.discard(4);
    g.discard(2);
    hv.unmergeAll(); // needs 1 + 1, has 2
    expect(hv.stats()).toMatchObject({ sharedFrames: 0, sharingMappings: 0, zeroMapped: 0, framesUsed: 3, populatedPages: 3 });
    expect(g.read(3)).toEqual(new Uint8Array(PAGE));
    expect(g.read(1)).toEqual(fill(1));
    hv.audit();
  });

  test("destroying a guest drops one mapping from each shared frame", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(6));
    b.write(0, 0, fill(6));
    a.write(1, 0, fill(7));
    hv.share(a, 0, b, 0);
    hv.destroyGuest(a);
    expect(b.read(0)).toEqual(fill(6));
    expect(b.isShared(0)).toBe(true); // one mapping left, still shared until written
    expect(hv.stats()).toMatchObject({ framesUsed: 1, sharedFrames: 1, sharingMappings: 0, populatedPages: 1 });
    hv.audit();
  });
});

describe("PV guests", () => {
  test("frame table mirrors the p2m and remaps count ptUpdates", () => {
    const { hv, a, b } = setup(16, "pv");
    a.write(0, 0, fill(1)); // populate: no pt update
    b.write(0, 0, fill(1));
    b.write(1, 0, fill(1));
    expect(hv.stats().ptUpdates).toBe(0);
    hv.share(b, 0, b, 1); // 1 entry rewritten
    hv.share(a, 0, b, 0); // b0 and b1 rewritten
    expect(hv.stats().ptUpdates).toBe(3);
    expect(Array.from(b.frameTable.subarray(0, 2))).toEqual([a.frameOf(0), a.frameOf(0)]);
    b.write(1, 0, new Uint8Array([2])); // CoW copy: 1
    a.write(2, 0, fill(0));
    hv.mapZero(a, 2); // 1
    a.write(2, 0, new Uint8Array([3])); // zero-frame break: 1
    hv.unshare(b, 0); // copy: 1
    expect(hv.stats().ptUpdates).toBe(7);
    a.discard(2); // discard does not count
    expect(hv.stats().ptUpdates).toBe(7);
    expect(a.frameTable[2]).toBe(-1);
    hv.audit();
  });

  test("HVM guests never count ptUpdates", () => {
    const { hv, a, b } = setup();
    a.write(0, 0, fill(1));
    b.write(0, 0, fill(1));
    hv.share(a, 0, b, 0);
    b.write(0, 0, fill(2));
    expect(hv.stats().ptUpdates).toBe(0);
    hv.audit();
  });
});

describe("audit", () => {
  test("catches a corrupted refcount, free list and PV table", () => {
    const { hv, a, b } = setup(16, "pv");
    a.write(0, 0, fill(1));
    b.write(0, 0, fill(1));
    hv.share(a, 0, b, 0);
    hv.audit();
    const f = a.frameOf(0);
    hv.memory.frameRefcount[f]!++;
    expect(() => hv.audit()).toThrow(/refcount 3 but 2 mappings/);
    hv.memory.frameRefcount[f]!--;
    b.frameTable[0] = 5;
    expect(() => hv.audit()).toThrow(AuditError);
    b.frameTable[0] = f;
    hv.memory.freeStack[0] = hv.memory.freeStack[1]!;
    expect(() => hv.audit()).toThrow(/free list twice/);
  });
});
