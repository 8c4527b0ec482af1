/**
 * `--verify`: at the end of a run, every guest page's bytes against the content the run says it
 * holds (page-contents.ts regenerates them from content ids): a resident page's frame compared
 * byte for byte; a swapped or compressed page by the fingerprint its host slot keeps (the bytes
 * handed back on swap-in are checked against the same fingerprint); an unbacked page must hold
 * nothing, or have been paged out by its guest (its content is in the guest's swap). Nothing is
 * changed. Throws VerifyError naming the first mismatches and how many there are.
 */
import { VmdedupError } from "../hypervisor/index.ts";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import { NO_CONTENT } from "./content.ts";
import type { WorkloadRunner } from "./workload-runner.ts";

export class VerifyError extends VmdedupError {
  constructor(message: string, readonly mismatches: number) {
    super(message);
  }
}

/** Checks every page of every live guest; returns the pages checked. `pagedOut(slot)`: the guest holds the page in its own swap. */
export function verifyPages(runner: WorkloadRunner, pagedOut: (slot: number) => boolean = () => false): number {
  const hv = runner.hv;
  const pt = hv.pageTable;
  const hp = hv.host;
  const out = new Uint8Array(PAGE_SIZE);
  const expected = Buffer.from(out.buffer);
  const bad: string[] = [];
  let mismatches = 0;
  let checked = 0;
  for (const g of hv.guests)
    for (let gfn = 0; gfn < g.pages; gfn++) {
      const slot = g.slotBase + gfn;
      const content = runner.contentOf[slot]!;
      const f = pt.slotFrame[slot]!;
      const h = pt.slotHost[slot]!;
      checked++;
      let problem = "";
      if (content === NO_CONTENT) {
        if (f >= 0 || h >= 0) problem = `holds ${f >= 0 ? `frame ${f}` : `host slot ${h}`} but the run wrote nothing there`;
      } else {
        runner.pageBytes(slot, out);
        if (f >= 0) {
          const v = hv.memory.view(f);
          if (expected.compare(Buffer.from(v.buffer, v.byteOffset, PAGE_SIZE)) !== 0) problem = `frame ${f} differs from content ${content} at byte ${firstDiff(hv.memory.view(f), out)}`;
        } else if (h >= 0) {
          if ((Bun.hash.xxHash3(out) as bigint) !== hp.fingerprint[h]) problem = `host slot ${h} fingerprint differs from content ${content}`;
        } else if (!pagedOut(slot)) problem = `content ${content} lost: no frame, no host slot, not paged out`;
      }
      if (problem) {
        mismatches++;
        if (bad.length < 5) bad.push(`${g.name} gfn ${gfn}: ${problem}`);
      }
    }
  if (mismatches) throw new VerifyError(`verify: ${mismatches} of ${checked} guest pages do not hold what was written: ${bad.join("; ")}`, mismatches);
  return checked;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  while (i < PAGE_SIZE && a[i] === b[i]) i++;
  return i;
}
