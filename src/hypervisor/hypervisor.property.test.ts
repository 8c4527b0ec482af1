/**
 * Property test: random sequences of writes (whole page and single byte), discards, shares,
 * zero mappings, unshares, unmerge-all, guest creation and destruction, on HVM and PV guests,
 * against a shadow copy of every guest's memory. After every operation every page reads exactly
 * what the shadow says and audit() passes. The machine is small, so copy-on-write often runs
 * out of frames: such an operation must throw OutOfMachineMemoryError and change nothing.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { Hypervisor, InvalidArgumentError, OutOfMachineMemoryError, type Guest } from "./index.ts";

const PAGE = 4096;
const GUEST_PAGES = 5;

type Op =
  | { k: "writePage"; g: number; p: number; v: number }
  | { k: "writeByte"; g: number; p: number; off: number; v: number }
  | { k: "discard"; g: number; p: number; n: number }
  | { k: "share"; g1: number; p1: number; g2: number; p2: number }
  | { k: "mapZero"; g: number; p: number }
  | { k: "unshare"; g: number; p: number }
  | { k: "unmergeAll" }
  | { k: "create"; pv: boolean }
  | { k: "destroy"; g: number };

const idx = fc.nat(7);
const page = fc.nat(GUEST_PAGES - 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant("writePage" as const), g: idx, p: page, v: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("writeByte" as const), g: idx, p: page, off: fc.constantFrom(0, 1, 2048, 4095), v: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("discard" as const), g: idx, p: page, n: fc.nat(2) }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant("share" as const), g1: idx, p1: page, g2: idx, p2: page }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("mapZero" as const), g: idx, p: page }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("unshare" as const), g: idx, p: page }) },
  { weight: 1, arbitrary: fc.constant({ k: "unmergeAll" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("create" as const), pv: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("destroy" as const), g: idx }) },
);

function runSequence(frames: number, ops: Op[]): void {
  const hv = new Hypervisor({ frames });
  const shadow = new Map<Guest, Uint8Array[]>();
  const add = (pv: boolean) => shadow.set(hv.createGuest({ pages: GUEST_PAGES, mode: pv ? "pv" : "hvm" }), Array.from({ length: GUEST_PAGES }, () => new Uint8Array(PAGE)));
  add(false);
  add(true);
  const pick = (i: number): Guest | undefined => hv.guests[i % Math.max(hv.guests.length, 1)];
  for (const op of ops) {
    // expected shadow effect, applied only if the operation succeeds
    let effect: (() => void) | null = null;
    try {
      switch (op.k) {
        case "writePage": {
          const g = pick(op.g);
          if (!g) break;
          const bytes = new Uint8Array(PAGE).fill(op.v);
          g.write(op.p, 0, bytes);
          effect = () => shadow.get(g)![op.p]!.set(bytes);
          break;
        }
        case "writeByte": {
          const g = pick(op.g);
          if (!g) break;
          g.write(op.p, op.off, new Uint8Array([op.v]));
          effect = () => (shadow.get(g)![op.p]![op.off] = op.v);
          break;
        }
        case "discard": {
          const g = pick(op.g);
          if (!g || op.p + op.n > GUEST_PAGES) break;
          g.discard(op.p, op.n);
          effect = () => { for (let i = 0; i < op.n; i++) shadow.get(g)![op.p + i]!.fill(0); };
          break;
        }
        case "share": {
          const g1 = pick(op.g1), g2 = pick(op.g2);
          if (!g1 || !g2) break;
          const same = Buffer.compare(shadow.get(g1)![op.p1]!, shadow.get(g2)![op.p2]!) === 0;
          const populated = g1.frameOf(op.p1) >= 0 && g2.frameOf(op.p2) >= 0;
          try {
            hv.share(g1, op.p1, g2, op.p2);
            expect(same && populated).toBe(true);
            expect(g2.frameOf(op.p2)).toBe(g1.frameOf(op.p1));
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidArgumentError);
            expect(same && populated && g2.frameOf(op.p2) !== hv.zeroFrame).toBe(false);
          }
          break;
        }
        case "mapZero": {
          const g = pick(op.g);
          if (!g) break;
          const zero = shadow.get(g)![op.p]!.every((b) => b === 0);
          try {
            hv.mapZero(g, op.p);
            expect(zero).toBe(true);
            expect(g.frameOf(op.p)).toBe(hv.zeroFrame);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidArgumentError);
          }
          break;
        }
        case "unshare": {
          const g = pick(op.g);
          if (!g) break;
          hv.unshare(g, op.p);
          if (g.frameOf(op.p) >= 0) expect(g.isShared(op.p) || g.frameOf(op.p) === hv.zeroFrame).toBe(false);
          break;
        }
        case "unmergeAll":
          hv.unmergeAll();
          expect(hv.stats()).toMatchObject({ sharedFrames: 0, zeroMapped: 0 });
          break;
        case "create":
          if (hv.guests.length < 5) add(op.pv);
          break;
        case "destroy": {
          const g = pick(op.g);
          if (!g || hv.guests.length < 2) break;
          hv.destroyGuest(g);
          effect = () => shadow.delete(g);
          break;
        }
      }
      effect?.();
    } catch (e) {
      if (!(e instanceof OutOfMachineMemoryError)) throw e;
    }
    for (const [g, pages] of shadow) for (let p = 0; p < GUEST_PAGES; p++) expect(g.read(p)).toEqual(pages[p]!);
    hv.audit();
  }
}

test("random operation sequences match a shadow copy of memory and keep every invariant", () => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 24 }), fc.array(opArb, { minLength: 10, maxLength: 80 }), (frames, ops) => runSequence(frames, ops)),
    { numRuns: 1000, seed: 20261127 },
  );
});
