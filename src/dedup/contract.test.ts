/**
 * The contract every dedup policy honours, run against each policy (as hono runs one suite
 * against every router). Policy-specific behaviour is tested beside each policy.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AuditError, BusyError, Hypervisor, InvalidArgumentError, OutOfMachineMemoryError, VmdedupError, type Guest } from "../hypervisor/index.ts";
import { POLICIES, createScanner, maxSharing, type Policy, type Scanner } from "./index.ts";
import { applyMemoryOp, content, expectShadow, PAGE } from "./shadow-memory.test-util.ts";


/** Two guests: contents 1..6 duplicated within and across guests, zero pages, unique pages. */
function staticImage(hv: Hypervisor, mode: "hvm" | "pv" = "hvm"): Guest[] {
  const a = hv.createGuest({ pages: 32, mode, name: "a" });
  const b = hv.createGuest({ pages: 32, mode, name: "b" });
  for (let i = 0; i < 24; i++) {
    a.write(i, 0, content(i < 12 ? 1 + (i % 6) : 1000 + i));
    b.write(i, 0, content(i < 12 ? 1 + (i % 4) : i < 16 ? 0 : 2000 + i));
  }
  return [a, b];
}

function expectedSaving(hv: Hypervisor, useZeroPages: boolean): number {
  const o = maxSharing(hv);
  // without the zero frame, zero pages still merge among themselves (one KSM page holds them)
  return useZeroPages ? o.savablePages : o.savablePagesExclZero + Math.max(o.zeroPages - 1, 0);
}

function savedPages(hv: Hypervisor): number {
  const s = hv.stats();
  return s.sharingMappings + s.zeroMapped;
}

/** The paging model and the scanner's own structures, both checked from scratch. */
function audit(hv: Hypervisor, s: Scanner): void {
  hv.audit();
  s.audit();
}

function snapshot(guests: Guest[]): Uint8Array[][] {
  return guests.map((g) => Array.from({ length: g.pages }, (_, i) => g.read(i)));
}

/**
 * Per policy, a deliberate corruption of one of its own structures (after a merging scan of the
 * static image) that scanner.audit() must name. Returns a function that undoes it.
 */
type Internals = Record<string, any>;
const CORRUPT: Record<Policy, { what: RegExp; corrupt: (s: Internals, hv: Hypervisor) => () => void }> = {
  none: {
    what: /registration: count/,
    corrupt: (s) => {
      const r = s.registration.registered as Uint8Array;
      r[3] ^= 1;
      return () => void (r[3] ^= 1);
    },
  },
  vmdedup: {
    what: /no longer has the entry's fingerprint|between the entry and its home/,
    corrupt: (s) => {
      const ix = s.index;
      let p = 0;
      while (ix.frame[p] < 0 || ix.aux[p] !== -1) p++; // a shared entry
      ix.keyLo[p] ^= 0x8000;
      return () => void (ix.keyLo[p] ^= 0x8000);
    },
  },
  esx: {
    what: /hint for slot \d+ under a fingerprint that is not the slot's/,
    corrupt: (s) => {
      const ix = s.index;
      let p = 0;
      while (ix.frame[p] < 0 || ix.aux[p] < 0) p++; // a hint
      const slot = ix.aux[p];
      s.slots.hashHi[slot] ^= 1;
      return () => void (s.slots.hashHi[slot] ^= 1);
    },
  },
  ksm: {
    what: /stable tree out of order/,
    corrupt: (s) => {
      const st = s.stable;
      const order: number[] = st.tree.toArray();
      const [a, b] = [order[0], order[order.length - 1]];
      const swap = () => ([st.kpfn[a], st.kpfn[b], st.frameNode[st.kpfn[a]], st.frameNode[st.kpfn[b]]] = [st.kpfn[b], st.kpfn[a], a, b]);
      swap();
      return swap;
    },
  },
};

for (const policy of POLICIES) {
  const merges = policy !== "none";
  describe(`contract: ${policy}`, () => {
    test("options are validated; one scanner per hypervisor", async () => {
      const hv = new Hypervisor({ frames: 8, verifyMerges: true });
      expect(() => createScanner(hv, { policy, maxPageSharing: 1 })).toThrow(InvalidArgumentError);
      expect(() => createScanner(hv, { policy, workers: -1 })).toThrow(InvalidArgumentError);
      expect(() => createScanner(hv, { policy, workers: 1.5 })).toThrow(InvalidArgumentError);
      expect(() => createScanner(hv, { policy, pagesToScan: 0 })).toThrow(InvalidArgumentError);
      expect(() => createScanner(hv, { policy: "bogus" as Policy })).toThrow(InvalidArgumentError);
      const s = createScanner(hv, { policy });
      expect(s.options.useZeroPages).toBe(policy !== "ksm");
      expect([s.options.pagesToScan, s.options.sleepMillisecs, s.options.maxPageSharing, s.options.smartScan]).toEqual([100, 20, 256, true]);
      expect(() => createScanner(hv, { policy })).toThrow(VmdedupError);
      expect(() => s.set({ maxPageSharing: 1 })).toThrow(InvalidArgumentError);
      expect(() => s.set({ workers: 2 } as never)).toThrow(InvalidArgumentError); // not a knob
      expect(() => s.set({ pagesToScan: 50, policy: "none" } as never)).toThrow(InvalidArgumentError);
      expect(s.options.pagesToScan).toBe(100); // a rejected set() changes nothing
      s.set({ pagesToScan: 50, maxPageSharing: undefined });
      expect([s.options.pagesToScan, s.options.maxPageSharing, s.options.policy, s.options.workers]).toEqual([50, 256, policy, 0]);
      expect(() => createScanner(null as never, { policy })).toThrow(InvalidArgumentError);
      await s.close();
      const again = createScanner(hv, { policy });
      await again.close();
      hv.audit();
    });

    test("audit names a deliberately corrupted structure of the policy, and passes once it is undone", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      staticImage(hv);
      const s = createScanner(hv, { policy });
      await s.fullScans(3);
      audit(hv, s);
      const internals = s as unknown as Internals;
      const undo = CORRUPT[policy].corrupt(internals, hv);
      expect(() => s.audit()).toThrow(AuditError);
      expect(() => s.audit()).toThrow(CORRUPT[policy].what);
      undo();
      audit(hv, s);
      // a corrupted counter is caught as well
      if (policy === "ksm") internals.stable.pagesSharing++;
      else if (policy === "none") internals.registration.nRegistered++;
      else internals.slots.kindCount[1]++;
      expect(() => s.audit()).toThrow(/pages_sharing|registration: count|kindCount/);
      await s.close();
    });

    test("a static image reaches the oracle's saving and reads never change", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      const guests = staticImage(hv);
      const before = snapshot(guests);
      const s = createScanner(hv, { policy, pagesToScan: 7 });
      await s.fullScans(4);
      audit(hv, s);
      expect(s.stats().fullScans).toBe(4);
      expect(snapshot(guests)).toEqual(before);
      const expected = merges ? expectedSaving(hv, s.options.useZeroPages) : 0;
      expect(savedPages(hv)).toBe(expected);
      const st = s.stats();
      expect(st.pagesSharing + st.zeroPages).toBe(expected);
      if (merges) expect(st.pagesShared).toBe(hv.stats().sharedFrames);
      audit(hv, s);
      await s.close();
    });

    test("stopped scanners do nothing; run=2 unmerges everything", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      const guests = staticImage(hv);
      const before = snapshot(guests);
      const s = createScanner(hv, { policy });
      await s.fullScans(3);
      audit(hv, s);
      const saved = savedPages(hv);
      expect(saved).toBe(merges ? expectedSaving(hv, s.options.useZeroPages) : 0);
      s.setRun(0);
      expect(await s.scan()).toBe(0);
      await expect(s.fullScans(1)).rejects.toThrow(VmdedupError);
      expect(savedPages(hv)).toBe(saved); // run=0 keeps merges
      const scanned = s.stats().pagesScanned;
      s.setRun(2);
      audit(hv, s);
      expect(s.run).toBe(2);
      expect(await s.scan()).toBe(0);
      await expect(s.fullScans(1)).rejects.toThrow(VmdedupError);
      expect(hv.stats()).toMatchObject({ sharedFrames: 0, sharingMappings: 0, zeroMapped: 0 });
      // as KSM's run=2: everything at once, full_scans back to 0, pages_scanned kept
      expect(s.stats()).toMatchObject({ pagesShared: 0, pagesSharing: 0, pagesUnshared: 0, pagesVolatile: 0, zeroPages: 0, fullScans: 0, pagesScanned: scanned });
      expect(snapshot(guests)).toEqual(before);
      s.setRun(1);
      await s.fullScans(3);
      audit(hv, s);
      expect(savedPages(hv)).toBe(merges ? expectedSaving(hv, s.options.useZeroPages) : 0);
      audit(hv, s);
      await s.close();
    });

    test("nothing registered: fullScans resolves at once and counts nothing", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      const [a] = staticImage(hv);
      const s = createScanner(hv, { policy, mergeAny: false });
      await s.fullScans(2);
      audit(hv, s);
      expect(s.stats().fullScans).toBe(0);
      expect(await s.scan()).toBe(0);
      s.register(a!);
      await s.fullScans(3);
      audit(hv, s);
      expect(s.stats().fullScans).toBe(3);
      expect(() => s.register(a!, 40)).toThrow(InvalidArgumentError);
      audit(hv, s);
      await s.close();
    });

    test("unregister unmerges its range, is all-or-nothing, and the rest stays merged", async () => {
      const hv = new Hypervisor({ frames: 64, verifyMerges: true });
      const guests = staticImage(hv);
      const before = snapshot(guests);
      const s = createScanner(hv, { policy });
      await s.fullScans(3);
      audit(hv, s);
      const [a, b] = guests as [Guest, Guest];
      s.unregister(b, 0, 16);
      audit(hv, s);
      for (let i = 0; i < 16; i++) expect(b.isShared(i) || b.frameOf(i) === hv.zeroFrame).toBe(false);
      expect(snapshot(guests)).toEqual(before);
      audit(hv, s);
      await s.fullScans(2);
      audit(hv, s);
      for (let i = 0; i < 16; i++) expect(b.isShared(i) || b.frameOf(i) === hv.zeroFrame).toBe(false);
      if (merges) expect(a.isShared(0)).toBe(true);
      // fill the machine, then an unregister that needs frames must change nothing
      const filler = hv.createGuest({ pages: 64 });
      let n = 0;
      while (hv.stats().framesFree > 0) filler.write(n, 0, content(5000 + n++));
      if (merges && hv.stats().sharingMappings > 0) {
        const st = JSON.stringify(hv.stats());
        expect(() => s.unregister(a)).toThrow(OutOfMachineMemoryError);
        expect(JSON.stringify(hv.stats())).toBe(st);
      }
      audit(hv, s);
      await s.close();
    });

    test("a guest created during a pass joins at the next pass; destroyed guests drop out", async () => {
      const hv = new Hypervisor({ frames: 256, verifyMerges: true });
      staticImage(hv);
      const s = createScanner(hv, { policy, pagesToScan: 5 });
      await s.scan();
      audit(hv, s);
      const late = hv.createGuest({ pages: 16, name: "late" });
      for (let i = 0; i < 16; i++) late.write(i, 0, content(1 + (i % 3)));
      const scannedBefore = s.stats().pagesScanned;
      await s.fullScans(1); // finishes the current pass only
      audit(hv, s);
      if (merges && policy !== "esx") expect(s.stats().pagesScanned - scannedBefore).toBe(48 - 5);
      for (let i = 0; i < 16; i++) expect(late.isShared(i)).toBe(false);
      await s.fullScans(3);
      audit(hv, s);
      if (merges) expect(late.isShared(0)).toBe(true);
      expect(savedPages(hv)).toBe(merges ? expectedSaving(hv, s.options.useZeroPages) : 0);
      hv.destroyGuest(late);
      audit(hv, s);
      await s.fullScans(2);
      audit(hv, s);
      expect(savedPages(hv)).toBe(merges ? expectedSaving(hv, s.options.useZeroPages) : 0);
      const st = s.stats();
      expect(st.pagesSharing + st.zeroPages).toBe(savedPages(hv));
      audit(hv, s);
      await s.close();
    });

    test("hash collisions never merge different content", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      const guests = staticImage(hv);
      const before = snapshot(guests);
      const s = createScanner(hv, { policy, fingerprintOverride: () => 0n });
      await s.fullScans(4);
      audit(hv, s);
      expect(snapshot(guests)).toEqual(before);
      expect(savedPages(hv)).toBeLessThanOrEqual(expectedSaving(hv, true));
      audit(hv, s);
      await s.close();
    });

    test("maxPageSharing cannot change while pages are shared", async () => {
      const hv = new Hypervisor({ frames: 128, verifyMerges: true });
      staticImage(hv);
      const s = createScanner(hv, { policy });
      await s.fullScans(3);
      audit(hv, s);
      s.set({ maxPageSharing: 256 }); // the current value is fine
      if (merges) expect(() => s.set({ maxPageSharing: 16 })).toThrow(BusyError);
      s.setRun(2);
      audit(hv, s);
      s.set({ maxPageSharing: 16 });
      expect(s.options.maxPageSharing).toBe(16);
      audit(hv, s);
      await s.close();
    });

    test("property: random writes, discards and scans match a shadow copy", async () => {
      const op = fc.oneof(
        fc.record({ k: fc.constant("write" as const), g: fc.nat(1), p: fc.nat(11), c: fc.nat(4) }),
        fc.record({ k: fc.constant("byte" as const), g: fc.nat(1), p: fc.nat(11), v: fc.nat(2) }),
        fc.record({ k: fc.constant("discard" as const), g: fc.nat(1), p: fc.nat(11) }),
        fc.record({ k: fc.constant("scan" as const), n: fc.integer({ min: 1, max: 30 }) }),
        fc.record({ k: fc.constant("pass" as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), fc.boolean(), async (ops, pv) => {
          const hv = new Hypervisor({ frames: 40, verifyMerges: true });
          const guests = [0, 1].map((i) => hv.createGuest({ pages: 12, mode: pv ? "pv" : "hvm", name: `g${i}` }));
          const shadow = guests.map(() => Array.from({ length: 12 }, () => new Uint8Array(PAGE)));
          const s = createScanner(hv, { policy, pagesToScan: 5, maxPageSharing: 3 });
          try {
            for (const o of ops) {
              if (o.k === "write" || o.k === "byte" || o.k === "discard") applyMemoryOp(guests, shadow, o);
              else if (o.k === "scan") await s.scan(o.n);
              else await s.fullScans(1);
              expectShadow(guests, shadow);
              audit(hv, s);
            }
            await s.fullScans(3);
            audit(hv, s);
            const capped = merges ? expectedSavingCapped(hv, s.options.useZeroPages, 3) : 0;
            // With a cap, merging is not always able to reach the capped oracle: hv.share moves a
            // whole frame's mappings, so frames holding 3+3+2 mappings of one content under a cap
            // of 4 cannot be repacked, and KSM (like the kernel) never folds two KSM frames of one
            // content together. Never above it, and the uncapped static tests check exactness.
            expect(savedPages(hv)).toBeLessThanOrEqual(capped);
            if (capped > 0) expect(savedPages(hv)).toBeGreaterThan(0);
            audit(hv, s);
          } finally {
            await s.close();
          }
        }),
        { numRuns: 60, seed: 7 },
      );
    });
  });
}

/** The oracle's saving when no frame may hold more than `cap` mappings. */
function expectedSavingCapped(hv: Hypervisor, useZeroPages: boolean, cap: number): number {
  const counts = new Map<string, number>();
  let zero = 0;
  for (const g of hv.guests)
    for (let i = 0; i < g.pages; i++) {
      if (g.frameOf(i) < 0) continue;
      const bytes = g.read(i);
      if (useZeroPages && bytes.every((b) => b === 0)) {
        zero++;
        continue;
      }
      const key = Bun.hash.xxHash3(bytes).toString() + ":" + bytes[100] + ":" + bytes[4095];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  let saved = zero;
  for (const n of counts.values()) saved += n - Math.ceil(n / cap);
  return saved;
}
