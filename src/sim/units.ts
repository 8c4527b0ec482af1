/** Parsing and formatting of sizes ("256MiB") and durations ("120s", "20ms", "2min", "50us"). */
import { InvalidArgumentError } from "../hypervisor/index.ts";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4,
};

/** Bytes from a number or a string like "256MiB", "1GiB", "4096" (binary units; KB/MB/GB are read as KiB/MiB/GiB). */
export function parseSize(v: string | number, what = "size"): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0 || !Number.isInteger(v)) throw new InvalidArgumentError(`${what} must be a non-negative integer number of bytes, got ${v}`);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(v));
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`${what} must look like 256MiB, 1GiB or a byte count, got "${v}"`);
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes;
}

const TIME_UNITS: Record<string, number> = { us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/** Seconds from a number (seconds) or a string like "120s", "20ms", "2min", "50us". */
export function parseDuration(v: string | number, what = "duration"): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${what} must be a non-negative number of seconds, got ${v}`);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*$/.exec(String(v));
  const unit = m ? (m[2] === "" ? 1 : TIME_UNITS[m[2]!.toLowerCase()]) : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`${what} must look like 120s, 20ms, 2min or 50us, got "${v}"`);
  return Number(m[1]) * unit;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(2)}MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(2)}KiB`;
  return `${bytes}B`;
}

export function formatDuration(sec: number): string {
  if (sec >= 60 && sec % 60 === 0) return `${sec / 60}min`;
  if (sec >= 1) return `${+sec.toFixed(3)}s`;
  if (sec >= 1e-3) return `${+(sec * 1e3).toFixed(3)}ms`;
  return `${+(sec * 1e6).toFixed(3)}us`;
}
