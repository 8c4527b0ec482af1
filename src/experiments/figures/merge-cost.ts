/**
 * Figure 5's merge-cost measurement: what one merge costs with PV and with HVM guests. A PV
 * guest's page tables hold machine frame numbers, so every merge must also rewrite the guest's
 * page-table entry (a ptUpdate); an HVM guest's nested/extended tables are the hypervisor's own.
 * The workload's guests are booted (no guest activity), then one scanner runs full passes until
 * its savings (pagesSharing + zero pages) stop growing for two passes (at most MAX_PASSES),
 * counting merges, ptUpdates (hv.stats) and the scanner's CPU from the cost model (calibration
 * file). Deterministic: simulated cost, no wall clock.
 */
import { createScanner, type Policy } from "../../dedup/index.ts";
import { CostModel, loadCalibration } from "../../sim/cost-model.ts";
import { resolveSpec, type WorkloadSpec } from "../../sim/spec.ts";
import { WorkloadRunner } from "../../sim/workload-runner.ts";
import { specInMode } from "../catalog.ts";

export const MAX_PASSES = 10;

export interface MergeCost {
  mode: "hvm" | "pv";
  policy: Policy;
  passes: number;
  merges: number;
  ptUpdates: number;
  /** Simulated scanner CPU of the passes (cost model), seconds. */
  scannerCpuSec: number;
}

/** What to measure, as plain data (a job-pool job). */
export interface MergeCostArgs {
  workload: WorkloadSpec;
  mode: "hvm" | "pv";
  policy: Policy;
  guests: number;
  guestMemBytes: number;
  seed: number;
}

/** Boots `workload`'s guests in `mode` and scans until pagesSharing + zero pages stop growing. */
export async function measureMergeCost(a: MergeCostArgs): Promise<MergeCost> {
  const { workload, mode, policy, guests, guestMemBytes, seed } = a;
  const w = resolveSpec(specInMode(workload, mode), { guests, guestMem: guestMemBytes });
  const runner = new WorkloadRunner(w, seed);
  runner.startDue(Number.MAX_SAFE_INTEGER);
  const hv = runner.hv;
  const scanner = createScanner(hv, { policy, pagesToScan: 4096, sleepMillisecs: 0, seed });
  const cost = new CostModel(loadCalibration());
  const work0 = scanner.work();
  const pt0 = hv.stats().ptUpdates;
  let passes = 0;
  let last = -1;
  let stable = 0;
  while (stable < 2 && passes < MAX_PASSES) {
    await scanner.fullScans(1);
    passes++;
    const st = scanner.stats();
    const saved = st.pagesSharing + st.zeroPages;
    stable = saved === last ? stable + 1 : 0;
    last = saved;
  }
  const work = scanner.work();
  const ptUpdates = hv.stats().ptUpdates - pt0;
  const scannerCpuSec = cost.scannerBatch(scanner.stats().pagesScanned, work, work0, ptUpdates);
  hv.audit();
  await scanner.close();
  Bun.gc(true);
  return { mode, policy, passes, merges: work.merges - work0.merges, ptUpdates, scannerCpuSec };
}
