import { expect, test } from "bun:test";
import { calibrate } from "./calibrate.ts";
import { checkCalibration, COST_KEYS, loadCalibration } from "./cost-model.ts";

test("calibrate measures every constant it can and keeps the TLB flush from the base, saying so", () => {
  const base = loadCalibration();
  const c = calibrate(256, base);
  checkCalibration(c); // every constant present, finite, >= 0, with a source
  expect(Object.keys(c.constants).sort()).toEqual([...COST_KEYS].sort());
  expect(c.constants.tlbFlush.ns).toBe(base.constants.tlbFlush.ns);
  expect(c.constants.tlbFlush.source).toContain(`kept from calibration "${base.name}"`);
  for (const k of COST_KEYS.filter((k) => k !== "tlbFlush")) expect(c.constants[k].source).toStartWith("measured by `vmdedup calibrate`");
  expect(c.constants.hashPage.ns).toBeGreaterThan(0);
  expect(c.name).toMatch(/^measured-\d{4}-\d{2}-\d{2}$/);
});
