import { expect, test } from "bun:test";
import { renderSvg } from "./render.ts";
import { traceVsKernelChart } from "./trace-vs-kernel-chart.ts";

test("the replay-vs-kernel chart: kernel, replay and the two oracle staircases", () => {
  const spec = traceVsKernelChart({
    name: "t.vmtrace", guests: 3, settings: { pagesToScan: 1000, sleepMillisecs: 20, smartScan: true, scannerNice: -5 },
    kernel: [{ tSec: 0, pages: 0 }, { tSec: 1, pages: 5 }], replay: [{ tSec: 0, pages: 0 }, { tSec: 1, pages: 6 }],
    oracle: [{ tSec: 0, pages: 7 }, { tSec: 5, pages: 9 }], oracleInclZero: [{ tSec: 0, pages: 10 }, { tSec: 5, pages: 12 }],
  });
  expect(spec.series.map((s) => s.label)).toEqual([
    "host kernel KSM (recorded during the capture)", "replay, ksm policy", "oracle of the snapshots (savable excl. zero)", "oracle incl. populated zero pages",
  ]);
  expect(spec.series[1]!.points).toEqual([{ x: 0, y: 0 }, { x: 1, y: 6 }]);
  // each snapshot's value held until the next snapshot
  expect(spec.series[2]!.points).toEqual([{ x: 0, y: 7 }, { x: 5, y: 7 }, { x: 5, y: 9 }]);
  expect(spec.title).toContain("pages_to_scan 1000, sleep 20 ms, smart_scan 1, nice -5");
  expect(renderSvg(spec)).toContain("<svg");
});
