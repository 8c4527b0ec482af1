/**
 * Page fingerprints. One 64-bit hash per 4 KiB page, Bun.hash.xxHash3 (the fastest 64-bit hash
 * on this machine class: ~0.5 us per cold page against ~1.0 us for hash-wasm's xxhash64; see the
 * hash benchmark). The value is split into two 32-bit halves through an aliased
 * BigUint64Array/Uint32Array pair, so reading it allocates nothing beyond the hash's own bigint.
 * KSM's checksum (the kernel truncates xxhash(page) to u32) is the low half.
 *
 * A PageHasher hashes frames in the calling thread. The worker pool (dedup/pool) provides the
 * same interface and serves precomputed results when the frame's write generation still matches.
 */
import { ZERO_PAGE, type MachineMemory } from "../hypervisor/index.ts";

export interface FrameHasher {
  /** Hash of the last hashFrame() call, as two unsigned 32-bit halves. */
  hi: number;
  lo: number;
  /** Full-page hashes computed so far (deterministic: pool results count as well). */
  pagesHashed: number;
  /** Hashes frame `frame`, currently mapped by page slot `slot`. */
  hashFrame(slot: number, frame: number): void;
  close(): Promise<void>;
}

const tmp64 = new BigUint64Array(1);
const tmp32 = new Uint32Array(tmp64.buffer);

export type FingerprintFn = (page: Uint8Array) => bigint;
export const xxHash3Fingerprint: FingerprintFn = (page) => Bun.hash.xxHash3(page);

export function splitHash(h: bigint, out: { hi: number; lo: number }): void {
  tmp64[0] = h;
  out.lo = tmp32[0]!;
  out.hi = tmp32[1]!;
}

export const ZERO_PAGE_HASH = Bun.hash.xxHash3(ZERO_PAGE);

export class PageHasher implements FrameHasher {
  hi = 0;
  lo = 0;
  pagesHashed = 0;
  constructor(
    private readonly memory: MachineMemory,
    private readonly fingerprint: FingerprintFn = xxHash3Fingerprint,
  ) {}

  hashFrame(_slot: number, frame: number): void {
    tmp64[0] = this.fingerprint(this.memory.view(frame));
    this.lo = tmp32[0]!;
    this.hi = tmp32[1]!;
    this.pagesHashed++;
  }

  async close(): Promise<void> {}
}
