/** Fitting the write-latency noise model to measured samples (write-latency-fit.ts): exact parameters on a known sample. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { fitWriteLatency, latencyQuantiles } from "./write-latency-fit.ts";
import { loadWriteLatency } from "./write-latency.ts";

describe("write-latency fit", () => {
  test("quantiles by nearest rank; median, IQR sigma and spikes from the unmerged sample; merged recorded beside it", () => {
    // 100 unmerged samples: 1..100 ns, then two spikes of 10100 and 20100 ns replace the two largest
    const unmerged = Array.from({ length: 100 }, (_, i) => i + 1);
    unmerged[98] = 10_100;
    unmerged[99] = 20_100;
    const merged = Array.from({ length: 100 }, (_, i) => 2000 + i);
    const q = latencyQuantiles(unmerged);
    expect([q.count, q.minNs, q.p25Ns, q.p50Ns, q.p75Ns, q.maxNs]).toEqual([100, 1, 25, 50, 75, 20_100]);
    const doc = fitWriteLatency(unmerged, merged, { description: "t", host: "h", date: "2026-12-01", timerOverheadNs: 30 }, 2500);
    expect(doc.privateWriteNs.value).toBe(50);
    expect(doc.jitterSigmaNs.value).toBe(37.1); // (75 - 25) / 1.349
    expect(doc.spikeProbability.value).toBe(0.02); // above 50 + max(500, 6 x 37.1)
    expect(doc.spikeMeanNs.value).toBe(15_050); // (10050 + 20050) / 2
    expect(doc.measured).toMatchObject({ mergedMinusUnmergedMedianNs: 2049 - 50, modelFaultNs: 2500, merged: { p50Ns: 2049 }, method: { timerOverheadNs: 30 } });
    const dir = mkdtempSync(join(tmpdir(), "wlfit-"));
    try {
      writeFileSync(join(dir, "w.json"), JSON.stringify(doc));
      expect(loadWriteLatency(join(dir, "w.json"))).toEqual(doc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => latencyQuantiles([])).toThrow(InvalidArgumentError);
  });

  test("a store cheaper than the timer's noise (median below 0 once the overhead is subtracted) fits a valid file with privateWriteNs 0", () => {
    const unmerged = Array.from({ length: 101 }, (_, i) => i - 60); // median -10 ns
    const doc = fitWriteLatency(unmerged, unmerged.map((x) => x + 3000), { description: "t", host: "h", date: "2026-12-01", timerOverheadNs: 40 }, 2500);
    expect(doc.privateWriteNs.value).toBe(0);
    expect(doc.privateWriteNs.source).toContain("below the timer's resolution");
    expect((doc.measured as { unmerged: { p50Ns: number } }).unmerged.p50Ns).toBe(-10);
    const dir = mkdtempSync(join(tmpdir(), "wlfit-"));
    try {
      writeFileSync(join(dir, "w.json"), JSON.stringify(doc));
      expect(loadWriteLatency(join(dir, "w.json")).privateWriteNs.value).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
