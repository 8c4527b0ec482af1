/**
 * What a run document says about its host, and what it leaves out without one. A run without a
 * host size must keep its document byte for byte (the gate's tier-1 digests cover all of it), so:
 *  - the spec is recorded without `readsPerSec` (reads are not simulated without a host; the
 *    canned workloads carry read rates for the runs that have one);
 *  - the calibration is recorded without its `host` section (reclamation costs);
 *  - the summary's host totals, `options.host` and the HOST_SERIES_COLUMNS appear only with a host.
 * results/SCHEMA.md states the same for readers.
 */
import type { Hypervisor } from "../hypervisor/index.ts";
import type { Calibration } from "./cost-model.ts";
import type { Reclaimer } from "./reclaim.ts";
import type { RunSummary } from "./result.ts";
import type { WorkloadSpec } from "./spec.ts";

/** The spec as the document records it: without readsPerSec unless the run had a host. */
export function documentSpec(spec: WorkloadSpec, hasHost: boolean): WorkloadSpec {
  if (hasHost || !spec.families.some((f) => f.phases.some((p) => p.activities.some((a) => a.readsPerSec !== undefined)))) return spec;
  const copy = structuredClone(spec);
  for (const f of copy.families) for (const p of f.phases) for (const a of p.activities) delete a.readsPerSec;
  return copy;
}

/** The calibration as the document records it: without the host section unless the run had a host. */
export function documentCalibration(c: Calibration, hasHost: boolean): Calibration {
  if (hasHost || c.host === undefined) return c;
  const { host: _host, ...rest } = c;
  return rest;
}

/** The summary's host totals (overcommitLossPct is filled by experiments, against the same run on an uncommitted host). */
export function hostSummary(hv: Hypervisor, r: Reclaimer, stoppedEarly: string | null): Partial<RunSummary> {
  const hp = hv.host;
  return {
    swapOuts: hp.swapOuts, swapIns: hp.swapIns, compressedPages: hp.compressions, balloonedPages: r.balloonFramesFreed,
    guestPageOuts: r.guestPageOuts, swapInCopies: hp.sharedSwapInCopies, uncommittedGuestOpsPerSec: null, overcommitLossPct: null, stoppedEarly,
  };
}
