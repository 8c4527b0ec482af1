/**
 * Micro-benchmarks of the paging model (mitata), each beside the reference it is judged
 * against, measured in the same run:
 *   - a small write to a private page, and a 4 KiB page read, vs a plain 4 KiB Uint8Array.set;
 *   - CoW breaks, measured fairly: batches of BATCH pre-shared pages (cold source frames) break
 *     into cold free frames, against BATCH cold per-page copies between two cold regions of the
 *     same size; per-page cost = batch time / BATCH;
 *   - an explicit share (byte compare + remap) of a pair of identical pages.
 * Registering returns the names of the pairs to report as ratios.
 */
import { bench, do_not_optimize, group } from "mitata";
import { Hypervisor, PAGE_SIZE } from "./index.ts";

export const COW_BATCH = 4096;

export interface RatioPair {
  name: string;
  subject: string; // benchmark name
  reference: string; // benchmark name
  perPageDivisor: number; // both are divided by this to get per-page ns
  target?: number; // subject/reference must stay at or below this
}

export function registerHypervisorBenchmarks(scale = 1): RatioPair[] {
  const regionPages = Math.max(COW_BATCH * 8, Math.round(65536 * scale)); // 256 MiB at scale 1
  const frames = regionPages * 2 + COW_BATCH * 2 + 1024;
  const hv = new Hypervisor({ frames });
  const src = hv.createGuest({ pages: regionPages, name: "src" });
  const dst = hv.createGuest({ pages: regionPages, name: "dst" });
  const page = new Uint8Array(PAGE_SIZE);
  for (let p = 0; p < regionPages; p++) {
    page.fill(p & 0xff);
    page.fill(0xab, 0, 64); // the CoW write below rewrites these bytes with the same values
    new DataView(page.buffer).setUint32(64, p);
    src.write(p, 0, page);
    dst.write(p, 0, page);
  }
  const small = new Uint8Array(64).fill(0xab);
  const scratch = hv.createGuest({ pages: 1024, name: "scratch" });
  for (let p = 0; p < 1024; p++) scratch.write(p, 0, page);
  const plainSrc = new Uint8Array(PAGE_SIZE * 2);
  const plainDst = new Uint8Array(PAGE_SIZE * 2);
  // cold reference copies: two separate regions of regionPages pages
  const coldA = new Uint8Array(regionPages * PAGE_SIZE).fill(3);
  const coldB = new Uint8Array(regionPages * PAGE_SIZE).fill(4);
  let cursor = 0;
  let copyCursor = 0;

  group("hypervisor", () => {
    bench("plain 4 KiB Uint8Array.set (hot)", () => {
      plainDst.set(plainSrc.subarray(0, PAGE_SIZE), PAGE_SIZE);
      do_not_optimize(plainDst);
    });
    bench("guest write 64 B to a private page", () => {
      scratch.write(cursor++ & 1023, 128, small);
    });
    bench("guest read 4 KiB page (copy out)", () => do_not_optimize(scratch.read(cursor++ & 1023)));
    bench("guest readInto 4 KiB page (no allocation)", () => do_not_optimize(scratch.readInto(cursor++ & 1023, plainSrc)));
    bench("explicit share of an identical pair", function* () {
      yield {
        [0]() {
          const p = cursor++ % regionPages;
          if (dst.isShared(p)) hv.unshare(dst, p);
          return p;
        },
        bench(p: number) {
          hv.share(src, p, dst, p);
        },
      };
    });
    bench(`CoW break x${COW_BATCH} (cold frames)`, function* () {
      yield {
        [0]() {
          // share a fresh batch of pages (setup, not timed); wraps around the region
          const first = (cursor += COW_BATCH) % (regionPages - COW_BATCH);
          for (let p = first; p < first + COW_BATCH; p++) {
            if (dst.frameOf(p) !== src.frameOf(p)) hv.share(src, p, dst, p);
          }
          return first;
        },
        bench(first: number) {
          for (let p = first; p < first + COW_BATCH; p++) dst.write(p, 0, small);
        },
      };
    });
    bench(`plain cold copy x${COW_BATCH} (4 KiB each)`, () => {
      const first = (copyCursor = (copyCursor + COW_BATCH) % (regionPages - COW_BATCH));
      for (let p = first; p < first + COW_BATCH; p++) {
        const off = p * PAGE_SIZE;
        coldB.set(coldA.subarray(off, off + PAGE_SIZE), off);
      }
    });
  });

  return [
    { name: "CoW break / plain cold copy (per page)", subject: `CoW break x${COW_BATCH} (cold frames)`, reference: `plain cold copy x${COW_BATCH} (4 KiB each)`, perPageDivisor: COW_BATCH, target: 3 },
    { name: "small private write / plain 4 KiB set", subject: "guest write 64 B to a private page", reference: "plain 4 KiB Uint8Array.set (hot)", perPageDivisor: 1 },
    { name: "page read / plain 4 KiB set", subject: "guest read 4 KiB page (copy out)", reference: "plain 4 KiB Uint8Array.set (hot)", perPageDivisor: 1 },
    { name: "page readInto / plain 4 KiB set", subject: "guest readInto 4 KiB page (no allocation)", reference: "plain 4 KiB Uint8Array.set (hot)", perPageDivisor: 1 },
  ];
}
