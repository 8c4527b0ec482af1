/**
 * Property: under random writes, byte flips, discards, partial batches and passes, guests read
 * what a shadow copy says, the hypervisor audits clean, and after one quiet full pass the lazy
 * counters have caught up exactly with the hypervisor's view (KSM frames, extra mappings, zero
 * mappings); once the scan has settled (smart scan off), every populated, non-zero-mapped page
 * owns exactly one rmap item and no other item is left.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { content, setup } from "./test-pages.ts";

const PAGES = 10;

test("property: random activity, then one quiet pass: counters equal the hypervisor's", async () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant("write" as const), g: fc.nat(1), p: fc.nat(PAGES - 1), c: fc.nat(3) }),
    fc.record({ k: fc.constant("byte" as const), g: fc.nat(1), p: fc.nat(PAGES - 1), o: fc.constantFrom(0, 4095), v: fc.nat(2) }),
    fc.record({ k: fc.constant("discard" as const), g: fc.nat(1), p: fc.nat(PAGES - 1) }),
    fc.record({ k: fc.constant("scan" as const), n: fc.integer({ min: 1, max: 15 }) }),
    fc.record({ k: fc.constant("pass" as const) }),
  );
  const config = fc.record({ zero: fc.boolean(), smart: fc.boolean(), collide: fc.boolean(), max: fc.integer({ min: 2, max: 4 }) });
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), config, async (ops, cfg) => {
      const { hv, s } = setup(64, {
        pagesToScan: 4,
        useZeroPages: cfg.zero,
        smartScan: cfg.smart,
        maxPageSharing: cfg.max,
        fingerprintOverride: cfg.collide ? () => 7n : undefined,
      });
      const guests = [0, 1].map((i) => hv.createGuest({ pages: PAGES, name: `g${i}` }));
      const shadow = guests.map(() => Array.from({ length: PAGES }, () => new Uint8Array(4096)));
      try {
        for (const o of ops) {
          if (o.k === "write") {
            guests[o.g]!.write(o.p, 0, content(o.c));
            shadow[o.g]![o.p]!.set(content(o.c));
          } else if (o.k === "byte") {
            guests[o.g]!.write(o.p, o.o, new Uint8Array([o.v]));
            shadow[o.g]![o.p]![o.o] = o.v;
          } else if (o.k === "discard") {
            guests[o.g]!.discard(o.p);
            shadow[o.g]![o.p]!.fill(0);
          } else if (o.k === "scan") await s.scan(o.n);
          else await s.fullScans(1);
          hv.audit();
        }
        await s.fullScans(2); // finish the current pass, then one whole quiet pass
        for (let g = 0; g < 2; g++) for (let p = 0; p < PAGES; p++) expect(guests[g]!.read(p)).toEqual(shadow[g]![p]!);
        let hs = hv.stats();
        let st = s.stats();
        expect([st.pagesShared, st.pagesSharing, st.zeroPages]).toEqual([hs.sharedFrames, hs.sharingMappings, hs.zeroMapped]);
        // items of pages zero-mapped during that pass live until the cursor passes them again
        expect(s.rmapItemCount()).toBeGreaterThanOrEqual(hs.populatedPages - hs.zeroMapped);
        expect(s.rmapItemCount()).toBeLessThanOrEqual(hs.populatedPages);
        if (!cfg.smart) {
          await s.fullScans(2); // every page has had two quiet visits, and one more pass swept
          hs = hv.stats();
          st = s.stats();
          expect(s.rmapItemCount()).toBe(hs.populatedPages - hs.zeroMapped);
          expect([st.pagesShared, st.pagesSharing, st.zeroPages]).toEqual([hs.sharedFrames, hs.sharingMappings, hs.zeroMapped]);
        }
        expect(st.pagesVolatile).toBe(s.rmapItemCount() - st.pagesShared - st.pagesSharing - st.pagesUnshared);
        expect(st.generalProfit).toBe((st.pagesSharing + st.zeroPages) * 4096 - s.rmapItemCount() * 64);
        if (!cfg.zero) expect(hs.zeroMapped).toBe(0);
        hv.audit();
      } finally {
        await s.close();
      }
    }),
    { numRuns: 150, seed: 11 },
  );
});
