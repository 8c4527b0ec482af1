import { expect, test } from "bun:test";
import { Hypervisor, MachineMemory, PAGE_SIZE, SEGMENT_FRAMES } from "./index.ts";

test("frames span SharedArrayBuffer segments of 2^18 frames; copies and compares cross them", () => {
  const m = new MachineMemory(SEGMENT_FRAMES + 3);
  expect(m.segments.length).toBe(2);
  expect(m.segments[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(m.segments[1]!.length).toBe(4 * PAGE_SIZE); // 3 frames + the zero frame
  const lo = 5;
  const hi = SEGMENT_FRAMES + 1;
  m.view(lo).fill(0x5a);
  m.view(lo)[4095] = 7;
  m.copyFrame(lo, hi);
  expect(m.framesEqual(lo, hi)).toBe(true);
  expect(m.view(hi)[4095]).toBe(7);
  m.view(hi)[4095] = 9;
  expect(m.compareFrames(lo, hi)).toBeLessThan(0);
  expect(m.firstDifference(lo, hi)).toBe(4095);
  expect(m.isZeroFrameContent(m.zeroFrame)).toBe(true);
  expect(m.isZeroFrameContent(hi)).toBe(false);
});

test("a 16 GiB machine (4 Mi frames) is supported: 17 segments, lazily committed", () => {
  // Bun refuses one SharedArrayBuffer above 4 GiB ("Out of memory" at 8 GiB), hence segments.
  const frames = 4 * 1024 * 1024;
  const hv = new Hypervisor({ frames });
  expect(hv.memory.segments.length).toBe(17);
  expect(hv.zeroFrame).toBe(frames);
  const g = hv.createGuest({ pages: frames, name: "big" });
  g.write(frames - 1, 0, new Uint8Array(PAGE_SIZE).fill(3));
  g.write(0, 0, new Uint8Array(PAGE_SIZE).fill(3));
  hv.share(g, 0, g, frames - 1);
  expect(hv.stats()).toMatchObject({ framesTotal: frames, framesUsed: 1, sharingMappings: 1, guestPages: frames });
  hv.audit();
});
