import { expect, test } from "bun:test";
import { measureMachineRatio, runMachineTier } from "./tier3-machine.ts";

test("the scanner's re-hash pass is a sane fraction of the read bandwidth measured beside it", async () => {
  const m = await measureMachineRatio(3, 8192);
  expect(m.pages).toBe(8192);
  expect(m.readMs.length).toBe(3);
  expect(m.scanMs.length).toBe(3);
  // a scanner that hashes every page cannot beat one native read of the same bytes by much,
  // and one that is not broken reaches a few percent of it even on a loaded machine
  expect(m.fraction).toBeGreaterThan(0.02);
  expect(m.fraction).toBeLessThan(1.5);
  expect(m.fraction).toBeCloseTo(m.scanPagesPerSec / m.readPagesPerSec, 3);
}, 30_000);

test("the floor fails the tier when the scanner is below it", async () => {
  const v = await runMachineTier({ floor: 0.99, reps: 2, pages: 8192 });
  expect(v.status).toBe("fail");
  expect(v.couldNotRun).toBeUndefined();
  expect(v.summary).toContain("below the floor of 99.0%");
  const ok = await runMachineTier({ floor: 0, reps: 2, pages: 8192 });
  expect(ok.status).toBe("pass");
}, 30_000);
