/**
 * Micro-benchmark of one scanner batch per policy (mitata): createScanner, then scan(pagesToScan)
 * on a host of two guests whose memory is half identical across the guests, a quarter zero and a
 * quarter unique. The scanner is first run through two full passes (steady state: duplicates
 * merged); before each timed batch, untimed, a few pages ahead of the cursor get new content, so
 * batches meet changed pages as on a live host. Judged per page against a sequential read of
 * the same number of 4 KiB pages (the reference from hash.bench.ts), measured in the same run.
 * A policy whose scanner cannot be created (not implemented yet) is skipped, with the reason.
 *
 * Beside it, the merge step per page, old path against new path in the same run: MERGE_BATCH
 * identical page pairs (made private again, untimed, before each iteration) merged either as the
 * policies did before (MachineMemory.compareFrames, then hv.share, which compares the 8 KiB
 * again) or as they do now (FrameComparer.equal, then hv.shareByHandle with the compared
 * generations, checked in O(1)). The ratio new / old is reported per page.
 */
import { bench, do_not_optimize, group } from "mitata";
import { Hypervisor, PAGE_SIZE } from "../hypervisor/index.ts";
import { createScanner } from "./create-scanner.ts";
import { FrameComparer } from "./frame-comparer.ts";
import { emptyWork } from "./scanner-base.ts";
import { READ_REF, type Registered } from "./hash.bench.ts";
import { POLICIES, type Policy, type Scanner } from "./types.ts";

export const BATCH_PAGES = 100; // pages_to_scan default
export const MERGE_BATCH = 256;
const MERGE_NEW = "merge step: FrameComparer.equal + hv.shareByHandle";
const MERGE_OLD = "merge step: compareFrames + hv.share (compares again)";

/** The merge step, old beside new (see the file comment); returns the ratio pair to report. */
function registerMergeStep(): Registered["pairs"][number] {
  const hv = new Hypervisor({ frames: MERGE_BATCH * 3 + 64 });
  const a = hv.createGuest({ pages: MERGE_BATCH, name: "a" });
  const b = hv.createGuest({ pages: MERGE_BATCH, name: "b" });
  const pages = new Uint8Array(MERGE_BATCH * PAGE_SIZE);
  crypto.getRandomValues(pages.subarray(0, 65536));
  for (let p = 0; p < MERGE_BATCH; p++) {
    const pg = pages.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
    pg.set(pages.subarray(0, PAGE_SIZE));
    new DataView(pg.buffer, pg.byteOffset).setUint32(0, p);
    a.write(p, 0, pg);
  }
  const privatise = () => {
    for (let p = 0; p < MERGE_BATCH; p++) b.write(p, 0, pages.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
    return MERGE_BATCH;
  };
  const sf = hv.pageTable.slotFrame;
  const m = hv.memory;
  const cmp = new FrameComparer(m, emptyWork());
  group(`merge step (${MERGE_BATCH} identical pairs per iteration)`, () => {
    bench(MERGE_OLD, function* () {
      yield {
        [0]: privatise,
        bench(n: number) {
          for (let p = 0; p < n; p++) if (m.compareFrames(sf[a.slotBase + p]!, sf[b.slotBase + p]!) === 0) hv.share(a, p, b, p);
        },
      };
    });
    bench(MERGE_NEW, function* () {
      yield {
        [0]: privatise,
        bench(n: number) {
          for (let p = 0; p < n; p++) {
            const fa = sf[a.slotBase + p]!;
            const fb = sf[b.slotBase + p]!;
            if (cmp.equal(fa, fb)) hv.shareByHandle(a.slotBase + p, fa, cmp.genA, b.slotBase + p, fb, cmp.genB);
          }
        },
      };
    });
  });
  return { name: "merge step by handle / compare + hv.share (per page)", subject: MERGE_NEW, reference: MERGE_OLD, perPageDivisor: MERGE_BATCH, referenceDivisor: MERGE_BATCH };
}

function buildHost(guestPages: number): Hypervisor {
  const hv = new Hypervisor({ frames: guestPages * 2 + 1024 });
  const page = new Uint8Array(PAGE_SIZE);
  const view = new DataView(page.buffer);
  for (let g = 0; g < 2; g++) {
    const guest = hv.createGuest({ pages: guestPages, name: `g${g}` });
    for (let p = 0; p < guestPages; p++) {
      const kind = p & 3; // 0,1: identical in both guests; 2: zero; 3: unique to this guest
      if (kind === 2) page.fill(0);
      else {
        page.fill((p * 31 + (kind === 3 ? g * 7 + 1 : 0)) & 0xff);
        view.setUint32(0, p);
        view.setUint32(8, kind === 3 ? g + 1 : 0);
      }
      guest.write(p, 0, page);
    }
  }
  return hv;
}

export async function registerScannerBenchmarks(scale = 1, policies: readonly Policy[] = POLICIES): Promise<Registered> {
  const guestPages = Math.max(4096, Math.round(16384 * scale)); // 2 x 64 MiB at scale 1
  const pairs: Registered["pairs"] = [registerMergeStep()];
  const skipped: Registered["skipped"] = [];
  const ready: { policy: Policy; hv: Hypervisor; scanner: Scanner }[] = [];
  for (const policy of policies) {
    if (policy === "none") continue; // visits nothing: there is no batch to time
    const hv = buildHost(guestPages);
    try {
      const scanner = createScanner(hv, { policy, pagesToScan: BATCH_PAGES });
      await scanner.fullScans(2);
      ready.push({ policy, hv, scanner });
    } catch (e) {
      skipped.push({ name: `scanner batch ${policy}`, reason: (e as Error).message });
    }
  }
  const small = new Uint8Array(16);
  let stamp = 0;
  group(`scanner batch (${BATCH_PAGES} pages, 2 guests x ${guestPages} pages)`, () => {
    for (const { policy, hv, scanner } of ready) {
      const guest = hv.guests[1]!;
      let cursor = 0;
      const name = `scanner batch ${policy}`;
      bench(name, function* () {
        yield {
          [0]() {
            // untimed: 4 pages of the second guest get new bytes (breaking sharing if merged)
            for (let k = 0; k < 4; k++) {
              new DataView(small.buffer).setUint32(0, ++stamp);
              guest.write((cursor = (cursor + 37) % guestPages), 64, small);
            }
            return BATCH_PAGES;
          },
          async bench(n: number) {
            do_not_optimize(await scanner.scan(n));
          },
        };
      });
      // per page on both sides: the batch over BATCH_PAGES, the reference reads one page per call
      pairs.push({ name: `scanner batch ${policy} / sequential read (per page)`, subject: name, reference: READ_REF, perPageDivisor: BATCH_PAGES, referenceDivisor: 1 });
    }
  });
  return { pairs, skipped };
}
