/** The overcommitted-host flags of `run` and `density` (src/sim/host-memory.ts says what each models); bad values throw UsageError (exit 2). */
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { parseSize, swapReadSec, type HostRequest } from "../sim/index.ts";
import type { ParsedCommand } from "./args.ts";
import { UsageError } from "./usage-error.ts";

type Values = ParsedCommand["values"];

function size(v: Values, flag: string): number | undefined {
  const s = v[flag];
  if (s === undefined) return undefined;
  try {
    return parseSize(s as string);
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

/** A share like "10%" or "0.1". */
export function share(s: string | boolean | undefined, flag: string, max = 1): number | undefined {
  if (s === undefined) return undefined;
  const pct = typeof s === "string" && s.trim().endsWith("%");
  const n = Number(typeof s === "string" ? s.replace(/%\s*$/, "") : NaN) / (pct ? 100 : 1);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`--${flag} must be a share from 0 to ${max * 100}% (e.g. 10% or 0.1), got "${s}"`);
  return n;
}

export function hostOptionsFrom(v: Values): HostRequest & { verify?: boolean } {
  const hostMem = size(v, "host-mem");
  if (hostMem !== undefined && hostMem < 16 * 4096) throw new UsageError(`--host-mem must be at least 64 KiB (16 frames), got ${hostMem} bytes`);
  const rate = v["balloon-rate"];
  const balloonRate = rate === undefined ? undefined : Number(rate);
  if (balloonRate !== undefined && (!/^\d+(\.\d+)?$/.test(rate as string) || balloonRate > 1e7)) throw new UsageError(`--balloon-rate must be a number of 1 MiB requests per second from 0 to 1e7, got "${rate}"`);
  const dev = v["swap-device"] as string | undefined;
  if (dev !== undefined)
    try {
      swapReadSec(dev);
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new UsageError(`--swap-device: ${e.message}`);
      throw e;
    }
  const victims = v["swap-victims"] as string | undefined;
  if (victims !== undefined && victims !== "random" && victims !== "access") throw new UsageError(`--swap-victims must be random or access, got "${victims}"`);
  const o: HostRequest & { verify?: boolean } = {
    hostMem, minFree: size(v, "min-free"), balloonRate, swapDevice: dev, swapSize: size(v, "swap"),
    compressionCache: share(v["compression-cache"], "compression-cache"), swapVictims: victims as HostRequest["swapVictims"],
    verify: v.verify === true ? true : undefined,
  };
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as HostRequest & { verify?: boolean };
}
