/**
 * `vmdedup calibrate`, host part: what compressing a page into a compression cache and
 * decompressing it cost, measured once with a real codec (Bun.deflateSync / Bun.inflateSync,
 * zlib's deflate at level 1, the fast setting zswap-like caches use) on real-guest-like pages:
 * per 8-byte word, 40% kernel pointers (0xffff8880_xxxxxxx0), 30% small integers, 12% zeros,
 * 18% random bytes: about 43% of the bytes saved, close to what zswap reports for anonymous
 * memory (2-3x with lzo/zstd on mostly-idle guests is also common; the simulator takes each
 * region's compressibility from the spec, not from these pages). Runs never time the codec:
 * the constants go into the calibration file's `host` section. guestPageOut cannot be measured
 * here (it is the guest kernel's reclaim and block I/O submission) and stays an estimate.
 */
import type { CostConstant, HostCostKey } from "./cost-model.ts";

/** A page with the mix of the header, from a xorshift seeded with `seed`. */
export function guestLikePage(seed: number, out: Uint8Array<ArrayBuffer> = new Uint8Array(4096)): Uint8Array<ArrayBuffer> {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < 4096; i += 8) {
    const u = rnd() % 100;
    const [lo, hi] = u < 40 ? [(rnd() & 0xfffff0) >>> 0, 0xffff8880] : u < 70 ? [rnd() & 0xff, 0] : u < 82 ? [0, 0] : [rnd(), rnd()];
    dv.setUint32(i, lo, true);
    dv.setUint32(i + 4, hi, true);
  }
  return out;
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

/** compressPage and decompressPage in ns (median of 5 rounds over `pages` pages), and the mean compressed size. */
export function measureCompression(pages = 2048): { compressNs: number; decompressNs: number; meanCompressedBytes: number } {
  const src = Array.from({ length: pages }, (_, i) => guestLikePage(Math.imul(i + 1, 0x9e3779b1)));
  const packed = src.map((p) => Bun.deflateSync(p, { level: 1 }));
  const c: number[] = [];
  const d: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = Bun.nanoseconds();
    for (const p of src) Bun.deflateSync(p, { level: 1 });
    const t1 = Bun.nanoseconds();
    for (const p of packed) Bun.inflateSync(p);
    const t2 = Bun.nanoseconds();
    if (r > 0) c.push((t1 - t0) / pages), d.push((t2 - t1) / pages);
  }
  return { compressNs: median(c), decompressNs: median(d), meanCompressedBytes: packed.reduce((a, p) => a + p.length, 0) / pages };
}

export const GUEST_PAGE_OUT_ESTIMATE: CostConstant = {
  ns: 10000,
  source: "estimate: a guest kernel reclaiming one anonymous page under balloon pressure (LRU scan, unmap, swap-slot allocation, block I/O submission), about 10 us of guest CPU; not measurable here. The device read when the page is touched again is charged separately as a stall (--swap-device)",
};

/** The calibration file's `host` section, measured now. */
export function calibrateHost(pages = 2048, when = new Date().toISOString().slice(0, 10), machine = ""): Record<HostCostKey, CostConstant> {
  const m = measureCompression(pages);
  const how = `measured by \`vmdedup calibrate\` on ${when}${machine ? `, ${machine}` : ""}, Bun ${Bun.version}: zlib deflate level 1 (Bun.deflateSync) over ${pages} real-guest-like pages (src/sim/calibrate-host.ts; mean ${Math.round(m.meanCompressedBytes)} bytes compressed), median of 5 rounds`;
  return {
    compressPage: { ns: +m.compressNs.toFixed(1), source: how },
    decompressPage: { ns: +m.decompressNs.toFixed(1), source: how.replace("deflate level 1 (Bun.deflateSync)", "inflate (Bun.inflateSync) of the same pages") },
    guestPageOut: GUEST_PAGE_OUT_ESTIMATE,
  };
}
