/**
 * The mitigation contract, run against every policy (as contract.test.ts runs the policy
 * contract): salted never shares non-zero content across salt groups (checked after every step
 * of a random sequence, with hv.audit() and scanner.audit()), reaches exactly the intra-group
 * saving on a static image, and with one group for everybody is off; zero-only merges only zero
 * pages; vusion and fixed-latency merge exactly as off and remember the pages the scanner visited.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AuditError, Hypervisor, InvalidArgumentError, type Guest } from "../hypervisor/index.ts";
import { auditMitigation, createScanner, POLICIES, type MitigationOptions, type Policy, type Scanner } from "./index.ts";
import { applyMemoryOp, content, expectShadow, PAGE } from "./shadow-memory.test-util.ts";


/** Three guests: contents shared within and across guests, zero pages, unique pages. */
function image(hv: Hypervisor): Guest[] {
  const gs = [0, 1, 2].map((i) => hv.createGuest({ pages: 16, name: `g${i}` }));
  gs.forEach((g, gi) => {
    for (let p = 0; p < 14; p++) g.write(p, 0, content(p < 6 ? 1 + (p % 3) : p < 9 ? 0 : p < 12 ? 50 + p : 1000 * (gi + 1) + p));
  });
  return gs;
}

function checkAll(hv: Hypervisor, s: Scanner): void {
  hv.audit();
  s.audit();
  auditMitigation(hv, s.mitigation);
}

const saved = (hv: Hypervisor) => hv.stats().sharingMappings + hv.stats().zeroMapped;

/** Pages a perfect merger saves when only pages of one group merge (zero pages everywhere when useZeroPages). */
function intraGroupSaving(hv: Hypervisor, groupOf: (guestId: number) => number, useZeroPages: boolean): number {
  const counts = new Map<string, number>();
  let zero = 0;
  for (const g of hv.guests)
    for (let i = 0; i < g.pages; i++) {
      if (g.frameOf(i) < 0) continue;
      const b = g.read(i);
      if (useZeroPages && b.every((x) => x === 0)) {
        zero++;
        continue;
      }
      const key = `${groupOf(g.id)}:${Bun.hash.xxHash3(b)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  let n = zero;
  for (const c of counts.values()) n += c - 1;
  return n;
}

async function staticRun(policy: Policy, mitigation?: MitigationOptions) {
  const hv = new Hypervisor({ frames: 64, verifyMerges: true });
  const gs = image(hv);
  const s = createScanner(hv, { policy, pagesToScan: 7, mitigation });
  for (let i = 0; i < 4; i++) {
    await s.fullScans(1);
    checkAll(hv, s);
  }
  return { hv, s, gs };
}

describe("mitigation options", () => {
  test("bad mitigations and salt groups are rejected, changing nothing", () => {
    const hv = new Hypervisor({ frames: 8 });
    expect(() => createScanner(hv, { policy: "ksm", mitigation: "foo" as never })).toThrow(InvalidArgumentError);
    expect(() => createScanner(hv, { policy: "ksm", mitigation: { kind: "off", saltGroups: 2 } })).toThrow(/needs mitigation salted/);
    expect(() => createScanner(hv, { policy: "ksm", mitigation: { kind: "salted", saltGroups: 0 } })).toThrow(InvalidArgumentError);
    expect(() => createScanner(hv, { policy: "ksm", mitigation: { kind: "salted", saltGroups: [0, -1] } })).toThrow(InvalidArgumentError);
    expect(() => createScanner(hv, { policy: "ksm", mitigation: "zero-only", useZeroPages: false })).toThrow(/needs useZeroPages/);
    const s = createScanner(hv, { policy: "ksm", mitigation: "zero-only" });
    expect(s.options.useZeroPages).toBe(true);
    expect(s.options.mitigation).toEqual({ kind: "zero-only", saltGroups: null });
  });

  test("the salting audit names a frame shared across groups", async () => {
    const hv = new Hypervisor({ frames: 16 });
    const [a, b] = [hv.createGuest({ pages: 2 }), hv.createGuest({ pages: 2 })];
    a.write(0, 0, content(7));
    b.write(0, 0, content(7));
    hv.share(a, 0, b, 0); // the mechanism allows it; the mitigation's invariant does not
    const s = createScanner(hv, { policy: "vmdedup", mitigation: "salted" });
    expect(() => auditMitigation(hv, s.mitigation)).toThrow(AuditError);
    expect(() => auditMitigation(hv, s.mitigation)).toThrow(/shared across salt groups/);
    await s.close();
  });
});

for (const policy of POLICIES) {
  const merges = policy !== "none";
  describe(`mitigation contract: ${policy}`, () => {
    test("salted, one group per guest: exactly the intra-guest saving; the zero frame is exempt", async () => {
      const { hv, s } = await staticRun(policy, { kind: "salted" });
      const expected = merges ? intraGroupSaving(hv, (id) => id, s.options.useZeroPages) : 0;
      expect(saved(hv)).toBe(expected);
      if (merges && s.options.useZeroPages) expect(hv.stats().zeroMapped).toBe(9); // zero pages of all three guests
      await s.close();
    });

    test("salted with a list and round-robin: groups {0,2} and {1} share only inside", async () => {
      for (const saltGroups of [[0, 1, 0], 2] as const) {
        const { hv, s } = await staticRun(policy, { kind: "salted", saltGroups });
        expect(saved(hv)).toBe(merges ? intraGroupSaving(hv, (id) => id % 2, s.options.useZeroPages) : 0);
        await s.close();
      }
    });

    test("salted with one group for all guests, vusion and fixed-latency merge exactly as off", async () => {
      const off = await staticRun(policy);
      const want = { hv: off.hv.stats(), s: off.s.stats(), work: off.s.work() };
      await off.s.close();
      for (const m of [{ kind: "salted", saltGroups: 1 }, { kind: "vusion" }, { kind: "fixed-latency" }] as MitigationOptions[]) {
        const r = await staticRun(policy, m);
        expect({ hv: r.hv.stats(), s: r.s.stats(), work: r.s.work() }).toEqual(want);
        await r.s.close();
      }
    });

    test("zero-only merges zero pages and nothing else", async () => {
      const { hv, s } = await staticRun(policy, { kind: "zero-only" });
      expect(hv.stats().sharedFrames).toBe(0);
      expect(saved(hv)).toBe(merges ? 9 : 0);
      await s.close();
    });

    test("vusion and fixed-latency remember each visited page until its first access", async () => {
      for (const kind of ["vusion", "fixed-latency"] as const) {
        const { hv, s, gs } = await staticRun(policy, { kind });
        const slot = gs[1]!.slotBase + 10; // a non-zero page every merging policy visits
        expect(s.mitigation.takeFirstAccess(slot)).toBe(merges);
        expect(s.mitigation.takeFirstAccess(slot)).toBe(false);
        checkAll(hv, s);
        await s.close();
      }
    });

    test("property: under every mitigation, random writes and scans keep the contents and the salting invariant at every step", async () => {
      const mitigations: MitigationOptions[] = [{ kind: "salted" }, { kind: "salted", saltGroups: [0, 0, 1] }, { kind: "zero-only" }, { kind: "vusion" }, { kind: "fixed-latency" }];
      const op = fc.oneof(
        fc.record({ k: fc.constant("write" as const), g: fc.nat(2), p: fc.nat(7), c: fc.nat(3) }),
        fc.record({ k: fc.constant("byte" as const), g: fc.nat(2), p: fc.nat(7), v: fc.nat(1) }),
        fc.record({ k: fc.constant("discard" as const), g: fc.nat(2), p: fc.nat(7) }),
        fc.record({ k: fc.constant("scan" as const), n: fc.integer({ min: 1, max: 20 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), fc.nat(mitigations.length - 1), async (ops, mi) => {
          const hv = new Hypervisor({ frames: 40, verifyMerges: true });
          const guests = [0, 1, 2].map((i) => hv.createGuest({ pages: 8, name: `g${i}` }));
          const shadow = guests.map(() => Array.from({ length: 8 }, () => new Uint8Array(PAGE)));
          const s = createScanner(hv, { policy, pagesToScan: 5, maxPageSharing: 3, mitigation: mitigations[mi] });
          try {
            for (const o of ops) {
              if (o.k === "write" || o.k === "byte" || o.k === "discard") applyMemoryOp(guests, shadow, o);
              else await s.scan(o.n);
              expectShadow(guests, shadow);
              checkAll(hv, s);
            }
            await s.fullScans(3);
            checkAll(hv, s);
          } finally {
            await s.close();
          }
        }),
        { numRuns: 25, seed: 11 },
      );
    });
  });
}
