import { describe, expect, test } from "bun:test";
import { loadReplayTrace, traceWorkloadSpec } from "../sim/index.ts";
import { traceVsKernel } from "./trace-vs-kernel.ts";

describe("a shipped trace replayed beside the host kernel's KSM", () => {
  test("database.vmtrace: the capture's settings, and the replay ends within 2% of the kernel's pages_sharing", async () => {
    const spec = traceWorkloadSpec("workloads/traces/database.vmtrace");
    const m = loadReplayTrace(spec.trace!.path).header.meta;
    const r = await traceVsKernel(spec);
    expect(r.settings).toEqual({
      pagesToScan: m.hostKsmKnobs!.pages_to_scan!, sleepMillisecs: m.hostKsmKnobs!.sleep_millisecs!, smartScan: m.hostKsmKnobs!.smart_scan === 1,
      useZeroPages: m.hostKsmKnobs!.use_zero_pages === 1, maxPageSharing: m.hostKsmKnobs!.max_page_sharing!, scannerNice: m.ksmdNice!, hostCpus: 2, durationSec: Math.ceil(m.hostKsm!.at(-1)!.timeSec - Math.min(...loadReplayTrace(spec.trace!.path).header.guests.map((g) => g.timesSec[0]!))),
    });
    expect(r.kernel.length).toBe(m.hostKsm!.length);
    expect(r.oracle).toHaveLength(13);
    expect(Math.abs(r.finalGapPct)).toBeLessThan(2);
    expect(r.steadyMeanAbsGapPct).toBeLessThan(2);
    // before the host remapped the guests' zero-filled pages (the first ~20 s) the replay's ksm
    // merges them as ordinary identical pages: it overshoots the kernel, never later
    expect(r.peakGapAtSec).toBeLessThan(r.steadyFromSec);
    expect(r.peakGapPages).toBeGreaterThan(0.2 * r.kernel[r.kernel.length - 1]!.pages);
    // the kernel never merges more than the oracle of the dumped RAM plus QEMU's own blocks: within 3% of it at the end
    expect(r.kernel[r.kernel.length - 1]!.pages).toBeLessThan(1.03 * r.oracle[r.oracle.length - 1]!.pages);
  });
});
