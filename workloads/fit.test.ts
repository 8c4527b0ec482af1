/**
 * The fit of kernel-build, web-server and database to the shipped traces (workloads/README.md,
 * "Fitted to the captured traces"; src/sim/trace-fit.ts explains both sides): zero, unpopulated,
 * within-guest and cross-guest duplication excl. zero at the first and the last snapshot within
 * 3 points, steady churn (per native second: the trace's x meta.tcgSlowdown) within 25%. The
 * model's side is its generated memory at the traces' 3 x 256 MiB, without a scanner: a few
 * seconds for all three.
 */
import { describe, expect, test } from "bun:test";
import { REPO_ROOT } from "../src/sim/index.ts";
import { fitRows } from "../src/sim/trace-fit.ts";
import { CANNED_WORKLOADS, FITTED_TRACES } from "./index.ts";

describe("canned workloads fitted to the shipped traces (3 x 256 MiB)", () => {
  for (const { workload, trace, steadyFromSec } of FITTED_TRACES)
    test(`${workload} ~ traces/${trace}.vmtrace`, () => {
      const spec = CANNED_WORKLOADS.find((w) => w.name === workload)!;
      const { target, model, rows } = fitRows(spec, `${REPO_ROOT}/workloads/traces/${trace}.vmtrace`, { steadyFromSec });
      expect(rows).toHaveLength(9);
      for (const r of rows) expect({ figure: r.figure, trace: r.trace, model: r.model, ok: r.ok }).toEqual({ figure: r.figure, trace: r.trace, model: r.model, ok: true });
      // the guest view rests on populated pages losing their backing only as zero pages: content -> unpopulated is negligible
      expect(target.contentToUnpopulated / (target.guests * target.pagesPerGuest)).toBeLessThan(0.001);
      // the trace's host churn is scaled by its measured TCG slowdown
      expect(target.tcgSlowdown).toBeGreaterThan(5);
      expect(target.nativeChurnPctPerSec).toBeCloseTo(target.churnHostPctPerSec * target.tcgSlowdown, 9);
      // the specified operations fit in one vCPU per guest, so a simulation can perform them
      expect(model.cpuDemandPerGuest).toBeLessThanOrEqual(1);
      expect(model.cpuDemandPerGuest).toBeGreaterThan(0);
    });
});
