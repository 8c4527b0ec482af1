/**
 * The simulated host's memory: its size, ESX's free-memory states and the reclamation knobs,
 * checked into numbers (HostConfig) before anything is built. Facts: overcommit.md (shared
 * reference), quoted here with what each knob corresponds to.
 *
 *  minFree   ESX's sliding scale: 6% of the first 4 GiB of host memory, 4% of 4-12 GiB, 2% of
 *            12-28 GiB, 1% of the rest (899 MB for 28 GB); `--min-free` overrides it.
 *  states    by free frames against minFree, as vSphere 6: high (>= 100%), clear (< 100%), soft
 *            (< 64%), hard (< 32%), low (< 16%); numbered 0..4 in the series (hostState).
 *            clear: TPS only (the scanner runs in every state here); soft: + ballooning;
 *            hard: + compression and hypervisor swapping; low: the same, and a guest that needs a
 *            frame blocks while one is reclaimed for it (direct reclaim, reclaim.ts).
 *  balloon   virtio-balloon inflates in 4 KiB pages, at most 256 per request (1 MiB,
 *            drivers/virtio/virtio_balloon.c); `--balloon-rate` requests per simulated second,
 *            default 256 (256 MiB/s per host: an estimate; Linux's balloon worker is not
 *            rate-limited by design, QEMU sends targets on demand). A balloon holds at most 65%
 *            of its guest's memory (ESX's default limit, overcommit.md).
 *  cache     the compression cache: per guest, default 10% of its memory (ESX's default; 5-100%),
 *            carved out of host frames as it fills; a page enters it only if it compresses to
 *            <= 2 KiB (ESX, pubs.vmware.com "memory compression").
 *  swap      `--swap SIZE` (default: all guest memory, as ESX sizes a .vswp file per VM to its
 *            memory); `--swap-device nvme|ssd|hdd|<us>` latency per 4 KiB read: NVMe 20 us, SATA
 *            SSD 100 us, HDD 5 ms (overcommit.md "Device latencies").
 *  victims   random (default, as ESX picks pages to swap at random) or `access`: sampled access
 *            bits, a second chance for pages touched since they were last looked at (a clock,
 *            like Linux's LRU aging).
 */
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { PAGE_SIZE } from "../hypervisor/index.ts";
import type { ResolvedWorkload } from "./spec.ts";

/** Free-memory states, in the series' numbering. */
export const HostState = { HIGH: 0, CLEAR: 1, SOFT: 2, HARD: 3, LOW: 4 } as const;
export const HOST_STATE_NAMES = ["high", "clear", "soft", "hard", "low"] as const;
/** State thresholds as shares of minFree: below STATE_SHARE[s] the host is in state s + 1. */
export const STATE_SHARE = [1, 0.64, 0.32, 0.16] as const;

export const SWAP_DEVICES: Readonly<Record<string, number>> = { nvme: 20, ssd: 100, hdd: 5000 };

/** Largest compressed size a compression cache accepts (ESX: 2 KB). */
export const CACHE_MAX_COMPRESSED_BYTES = 2048;
/** A balloon holds at most this share of its guest's memory (ESX's default). */
export const BALLOON_MAX_SHARE = 0.65;
/** virtio-balloon's pages per request (VIRTIO_BALLOON_ARRAY_PFNS_MAX). */
export const BALLOON_PAGES_PER_REQUEST = 256;

export const HOST_DEFAULTS = { balloonRequestsPerSec: 256, swapDevice: "nvme", cacheShare: 0.1, victims: "random" } as const;

/** What a run is asked for about its host (SimOptions fields, flat so requests key simply). */
export interface HostRequest {
  /** Host memory in bytes; overrides the spec's `host.memory`. Without either: no overcommit. */
  hostMem?: number;
  minFree?: number;
  balloonRate?: number;
  swapDevice?: string;
  swapSize?: number;
  /** Compression cache per guest as a share of its memory (0 turns compression off). */
  compressionCache?: number;
  swapVictims?: "random" | "access";
}

export interface HostConfig {
  frames: number;
  minFreePages: number;
  /** Free-frame thresholds of clear, soft, hard, low (free < threshold[s] -> state >= s + 1). */
  thresholds: [number, number, number, number];
  balloonPagesPerSec: number;
  swapReadSec: number;
  swapDevice: string;
  swapPages: number;
  cacheShare: number;
  victims: "random" | "access";
}

/** ESX's minFree for a host of `bytes`: 6% of the first 4 GiB, 4% up to 12, 2% up to 28, 1% beyond. */
export function minFreeBytes(bytes: number): number {
  const G = 2 ** 30;
  const band = (lo: number, hi: number, share: number) => Math.max(0, Math.min(bytes, hi) - lo) * share;
  return Math.round(band(0, 4 * G, 0.06) + band(4 * G, 12 * G, 0.04) + band(12 * G, 28 * G, 0.02) + band(28 * G, Infinity, 0.01));
}

/** The state for `free` frames. */
export function stateOf(free: number, t: readonly number[]): number {
  let s = 0;
  while (s < 4 && free < t[s]!) s++;
  return s;
}

/** Swap read latency in seconds from a device name or a number of microseconds. */
export function swapReadSec(device: string): number {
  const known = SWAP_DEVICES[device];
  if (known !== undefined) return known * 1e-6;
  const us = Number(device.replace(/\s*(us|µs)$/, ""));
  if (!/^\d+(\.\d+)?\s*(us|µs)?$/.test(device) || !(us > 0) || us > 1e6)
    throw new InvalidArgumentError(`swap device must be nvme, ssd, hdd or a latency in microseconds (0 < us <= 1e6), got "${device}"`);
  return us * 1e-6;
}

/** The host of a run, or null when neither the request nor the spec gives a host size. Throws InvalidArgumentError with the numbers. */
export function resolveHost(req: HostRequest, w: ResolvedWorkload, maxFrames: number): HostConfig | null {
  const fromSpec = w.host ? (w.host.memoryBytes ?? Math.round((w.host.memoryShare! * w.totalPages * PAGE_SIZE) / PAGE_SIZE) * PAGE_SIZE) : undefined;
  const bytes = req.hostMem ?? fromSpec;
  if (bytes === undefined) {
    for (const k of ["minFree", "balloonRate", "swapDevice", "swapSize", "compressionCache", "swapVictims"] as const)
      if (req[k] !== undefined) throw new InvalidArgumentError(`${k} needs a host size (--host-mem or the spec's host.memory)`);
    return null;
  }
  const frames = Math.floor(bytes / PAGE_SIZE);
  if (!Number.isFinite(bytes) || frames < 16)
    throw new InvalidArgumentError(`host memory must be at least 64 KiB (16 frames), got ${bytes} bytes`);
  if (frames > maxFrames)
    throw new InvalidArgumentError(`host memory ${(bytes / 2 ** 30).toFixed(3)} GiB is ${frames} frames; the simulator holds at most ${maxFrames} frames (${(maxFrames * PAGE_SIZE) / 2 ** 30} GiB)`);
  const minFree = req.minFree ?? minFreeBytes(frames * PAGE_SIZE);
  const minFreePages = Math.max(1, Math.round(minFree / PAGE_SIZE));
  if (minFreePages >= frames) throw new InvalidArgumentError(`min free ${minFree} bytes (${minFreePages} frames) must be below host memory (${frames} frames)`);
  const rate = req.balloonRate ?? HOST_DEFAULTS.balloonRequestsPerSec;
  if (!(rate >= 0) || rate > 1e7) throw new InvalidArgumentError(`balloon rate must be from 0 to 1e7 requests per second, got ${rate}`);
  const device = req.swapDevice ?? HOST_DEFAULTS.swapDevice;
  const swapBytes = req.swapSize ?? w.totalPages * PAGE_SIZE;
  if (!Number.isInteger(swapBytes) || swapBytes < 0) throw new InvalidArgumentError(`swap size must be a non-negative number of bytes, got ${swapBytes}`);
  const cacheShare = req.compressionCache ?? HOST_DEFAULTS.cacheShare;
  if (!(cacheShare >= 0 && cacheShare <= 1)) throw new InvalidArgumentError(`compression cache must be from 0 to 1 of guest memory, got ${cacheShare}`);
  const victims = req.swapVictims ?? HOST_DEFAULTS.victims;
  if (victims !== "random" && victims !== "access") throw new InvalidArgumentError(`swap victims must be random or access, got ${String(victims)}`);
  return {
    frames, minFreePages,
    thresholds: STATE_SHARE.map((s) => Math.round(s * minFreePages)) as HostConfig["thresholds"],
    balloonPagesPerSec: rate * BALLOON_PAGES_PER_REQUEST,
    swapReadSec: swapReadSec(device), swapDevice: device,
    swapPages: Math.floor(swapBytes / PAGE_SIZE), cacheShare, victims,
  };
}

/**
 * Per-guest-page metadata of a run, as measured (src/sim/scale.bench.ts: 8 x 1 GiB idle guests
 * on a 2 GiB host, peak RSS 223 B per guest page above host memory, runtime included): page
 * table 20 B, runner 13 B, page contents 6 B, reclaim marks 1 B, scanner slots and registration
 * 20 B, its hash index (sized for at most the host's frames) and host slots for taken pages, and
 * allocator slack; 120 B is what is left once the runtime's ~40 MiB is taken out at that size.
 */
export const METADATA_BYTES_PER_GUEST_PAGE = 120;

/**
 * Memory this process needs for a run, estimated before it starts: machine frames (host memory
 * when given, else every guest page) plus METADATA_BYTES_PER_GUEST_PAGE per guest page plus
 * 200 MiB of runtime.
 */
export function estimateProcessBytes(w: ResolvedWorkload, host: HostConfig | null): number {
  const frames = host ? host.frames : w.totalPages + 1024;
  return frames * (PAGE_SIZE + 16) + w.totalPages * METADATA_BYTES_PER_GUEST_PAGE + 200 * 2 ** 20;
}

/** The options a run document records about its host (only when it has one). */
export function hostOptions(h: HostConfig): Record<string, number | string> {
  return {
    memoryBytes: h.frames * PAGE_SIZE, minFreeBytes: h.minFreePages * PAGE_SIZE, balloonPagesPerSec: h.balloonPagesPerSec,
    swapDevice: h.swapDevice, swapReadUs: +(h.swapReadSec * 1e6).toFixed(3), swapBytes: h.swapPages * PAGE_SIZE, compressionCacheShare: h.cacheShare, swapVictims: h.victims,
  };
}
