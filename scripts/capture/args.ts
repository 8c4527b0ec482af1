/** Flags of `bun run capture` (util.parseArgs), their checks and the help text. */
import { parseArgs } from "node:util";

export const WORKLOADS = ["build", "web", "database"] as const;
export type CaptureWorkload = (typeof WORKLOADS)[number];

export interface CaptureOptions {
  workload: CaptureWorkload;
  guests: number;
  memMiB: number;
  everySec: number;
  durationSec: number;
  out: string;
  /** ksmd's nice during the capture; undefined: left as found. */
  ksmdNice?: number;
  ksm: boolean;
  ksmPagesToScan: number;
  ksmSleepMs: number;
  /** smart_scan during the capture; undefined: left as found. */
  ksmSmartScan?: number;
  accel: "auto" | "tcg" | "kvm";
}

/** A bad flag: the message says which and what is accepted (exit 2). */
export class CaptureUsageError extends Error {
  override name = "CaptureUsageError";
}

export const HELP = `bun run capture --workload build|web|database [flags]

Builds identical Debian guests (stock kernel via linux-image-amd64, a bookworm root filesystem with
real programs; images cached in .scratch/capture/), boots them under QEMU, runs the workload in each
and dumps every guest's RAM every --every seconds (paused; hashed from a pipe, digests only) into a
.vmtrace (workloads/traces/FORMAT.md). Where root and /sys/kernel/mm/ksm exist, records the host
kernel's KSM counters for those guests and restores every KSM knob and ksmd's nice afterwards.

  --workload W           build (gcc builds Lua 5.4), web (nginx under wrk), database (sqlite, TPC-B)
  --guests N             identical guests (default 3)
  --mem SIZE             RAM per guest: 256, 256M, 256MiB, 1G (default 256MiB; at most 2048MiB)
  --every S              seconds between dumps (default 5)
  --duration S           seconds of capture after every guest is READY (default 60)
  --out FILE             the trace (default workloads/traces/<workload>.vmtrace)
  --ksmd-nice=N          ksmd's nice while capturing, -20..19 (default: as found; "=" for negatives)
  --ksm-pages-to-scan N  KSM pages_to_scan while capturing (default 1000)
  --ksm-sleep-ms N       KSM sleep_millisecs while capturing (default 20)
  --ksm-smart-scan 0|1   KSM smart_scan while capturing (default: as found)
  --no-ksm               do not run or record the host's KSM
  --accel auto|tcg|kvm   auto (default): KVM if a probe boot reaches READY in time, else TCG
  --help                 this text
Exit: 0 done, 1 the host cannot capture (missing tool, QEMU failed), 2 bad flags.`;

function num(name: string, v: string | undefined, min: number, max: number, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new CaptureUsageError(`--${name} ${v}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
  return n;
}

export function parseMem(v: string): number {
  const m = /^(\d+)\s*(M|MiB|MB|G|GiB|GB)?$/i.exec(v.trim());
  if (!m) throw new CaptureUsageError(`--mem ${v}: expected a size like 256, 256M, 256MiB or 1G`);
  const mib = Number(m[1]) * (/^g/i.test(m[2] ?? "") ? 1024 : 1);
  if (mib < 128 || mib > 2048) throw new CaptureUsageError(`--mem ${v}: expected 128MiB to 2048MiB (a Debian kernel needs 128; above 2 GiB the dump would cross the PCI hole)`);
  return mib;
}

export function parseCaptureArgs(argv: string[]): CaptureOptions {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        workload: { type: "string" }, guests: { type: "string" }, mem: { type: "string" }, every: { type: "string" },
        duration: { type: "string" }, out: { type: "string" }, "ksmd-nice": { type: "string" }, "no-ksm": { type: "boolean" },
        "ksm-pages-to-scan": { type: "string" }, "ksm-sleep-ms": { type: "string" }, "ksm-smart-scan": { type: "string" },
        accel: { type: "string" }, help: { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new CaptureUsageError((e as Error).message);
  }
  if (v.help) throw new CaptureUsageError("");
  const wl = v.workload;
  if (!wl || !(WORKLOADS as readonly string[]).includes(wl)) throw new CaptureUsageError(`--workload ${wl ?? "(missing)"}: expected one of ${WORKLOADS.join(", ")}`);
  const accel = v.accel ?? "auto";
  if (!["auto", "tcg", "kvm"].includes(accel)) throw new CaptureUsageError(`--accel ${accel}: expected auto, tcg or kvm`);
  const everySec = num("every", v.every, 0.5, 3600, false) ?? 5;
  const durationSec = num("duration", v.duration, 0, 86400, false) ?? 60;
  return {
    workload: wl as CaptureWorkload,
    guests: num("guests", v.guests, 1, 64, true) ?? 3,
    memMiB: v.mem === undefined ? 256 : parseMem(v.mem),
    everySec,
    durationSec,
    out: v.out ?? `workloads/traces/${wl}.vmtrace`,
    ksmdNice: num("ksmd-nice", v["ksmd-nice"], -20, 19, true),
    ksm: !v["no-ksm"],
    ksmPagesToScan: num("ksm-pages-to-scan", v["ksm-pages-to-scan"], 1, 1e6, true) ?? 1000,
    ksmSleepMs: num("ksm-sleep-ms", v["ksm-sleep-ms"], 0, 60000, true) ?? 20,
    ksmSmartScan: num("ksm-smart-scan", v["ksm-smart-scan"], 0, 1, true),
    accel: accel as CaptureOptions["accel"],
  };
}
