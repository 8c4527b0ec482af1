/** Command-line parsing (node:util parseArgs) into typed options; bad input throws UsageError (exit 2). */
import { parseArgs } from "node:util";
import { MITIGATIONS, POLICIES, type MitigationKind, type Policy } from "../dedup/index.ts";
import { VmdedupError } from "../hypervisor/index.ts";
import { parseDuration, parseSize, type SimOptions } from "../sim/index.ts";
import { hostOptionsFrom } from "./host-flags.ts";
import { UsageError } from "./usage-error.ts";

export { UsageError };

export const RUN_FLAGS = {
  workload: { type: "string", short: "w" },
  guests: { type: "string", short: "g" },
  "guest-mem": { type: "string", short: "m" },
  policy: { type: "string", short: "p" },
  policies: { type: "string" },
  workers: { type: "string" },
  seed: { type: "string" },
  duration: { type: "string", short: "d" },
  out: { type: "string", short: "o" },
  tick: { type: "string" },
  "host-cpus": { type: "string" },
  "scanner-nice": { type: "string" },
  "scanner-weight": { type: "string" },
  "pages-to-scan": { type: "string" },
  "sleep-ms": { type: "string" },
  "smart-scan": { type: "string" },
  "use-zero-pages": { type: "string" },
  "max-page-sharing": { type: "string" },
  "sample-every": { type: "string" },
  "oracle-every": { type: "string" },
  calibration: { type: "string" },
  "no-baseline": { type: "boolean" },
  calibrate: { type: "boolean" },
  pages: { type: "string" },
  mitigation: { type: "string" },
  "salt-groups": { type: "string" },
  trials: { type: "string" },
  "wait-passes": { type: "string" },
  "bits-per-round": { type: "string" },
  "write-latency": { type: "string" },
  rounds: { type: "string" },
  // overcommitted hosts (host-flags.ts)
  "host-mem": { type: "string" },
  "min-free": { type: "string" },
  "balloon-rate": { type: "string" },
  "swap-device": { type: "string" },
  swap: { type: "string" },
  "compression-cache": { type: "string" },
  "swap-victims": { type: "string" },
  verify: { type: "boolean" },
  "max-loss": { type: "string" },
  "max-guests": { type: "string" },
  jobs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Flags only some commands read: given to any other, parseCommand refuses them (UsageError),
 * rather than the run silently ignoring them (e.g. `run --jobs 2`).
 */
export const COMMAND_FLAGS: Readonly<Record<string, readonly string[]>> = {
  policies: ["demo", "density"],
  "max-loss": ["density"],
  "max-guests": ["density"],
  jobs: ["density"],
  trials: ["attack"],
  "wait-passes": ["attack"],
  "bits-per-round": ["attack"],
  "write-latency": ["attack", "calibrate"],
  rounds: ["calibrate"],
  pages: ["calibrate"],
  "no-baseline": ["run"],
  json: ["attack", "density"],
};

export interface ParsedCommand {
  /** A name from `commands` (main passes COMMANDS' names), or "help". */
  command: string;
  values: Record<string, string | boolean | undefined>;
}

/** The command and flags of `argv`; `commands` are the known command names. Throws UsageError. */
export function parseCommand(argv: string[], commands: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: RUN_FLAGS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const cmd = positionals[0] ?? (values.calibrate ? "calibrate" : "help");
  if (values.help) return { command: "help", values };
  if (!commands.includes(cmd)) throw new UsageError(`unknown command "${cmd}" (commands: ${commands.filter((c) => c !== "help").join(", ")})`);
  for (const [flag, only] of Object.entries(COMMAND_FLAGS))
    if (values[flag as keyof typeof values] !== undefined && !only.includes(cmd))
      throw new UsageError(
        `--${flag} is not a flag of ${cmd}: only of ${only.join(" and ")}` +
          (flag === "jobs" ? " (benchmarks, figures and the gate take --jobs as scripts: bun run benchmarks --jobs N)" : ""),
      );
  return { command: cmd, values };
}

function int(v: string | boolean | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^-?\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}
function weightOf(v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isFinite(n) || n <= 0 || n > 1e6) throw new UsageError(`--scanner-weight must be a number above 0, got "${v}"`);
  return n;
}
function onOff(v: string | boolean | undefined, flag: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "on" || v === "true" || v === "1") return true;
  if (v === "off" || v === "false" || v === "0") return false;
  throw new UsageError(`--${flag} must be on or off, got "${v}"`);
}
function wrap<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

export function parsePolicy(v: string, flag = "policy"): Policy {
  if (!POLICIES.includes(v as Policy)) throw new UsageError(`--${flag} must be one of ${POLICIES.join(", ")}, got "${v}"`);
  return v as Policy;
}

export function parseMitigation(v: string | boolean | undefined): MitigationKind | undefined {
  if (v === undefined) return undefined;
  if (!MITIGATIONS.includes(v as MitigationKind)) throw new UsageError(`--mitigation must be one of ${MITIGATIONS.join(", ")}, got "${v}"`);
  return v as MitigationKind;
}

/** --salt-groups N (guests round-robin into N groups) or a list "0,0,1,2" (one group per guest, in guest order). */
export function parseSaltGroups(v: string | boolean | undefined, mitigation: MitigationKind | undefined): number | number[] | undefined {
  if (v === undefined) return undefined;
  if (mitigation !== "salted") throw new UsageError(`--salt-groups needs --mitigation salted`);
  if (typeof v === "string" && /^\d+$/.test(v)) return int(v, "salt-groups", 1, 1 << 20);
  if (typeof v !== "string" || !/^\d+(,\d+)+$/.test(v))
    throw new UsageError(`--salt-groups must be a group count N or a list of group numbers, one per guest ("0,0,1,2"), got "${v}"`);
  return v.split(",").map(Number);
}

/** The simulation options the run flags describe (the workload is resolved by the caller). */
export function simOptionsFrom(v: ParsedCommand["values"]): Omit<SimOptions, "workload" | "policy"> {
  const str = (k: string) => v[k] as string | undefined;
  const durationSec = str("duration") !== undefined ? wrap("duration", () => parseDuration(str("duration")!)) : undefined;
  if (durationSec !== undefined && durationSec <= 0) throw new UsageError(`--duration must be above 0`);
  const guestMem = str("guest-mem") !== undefined ? wrap("guest-mem", () => parseSize(str("guest-mem")!)) : undefined;
  const tick = str("tick") !== undefined ? wrap("tick", () => parseDuration(str("tick")!)) * 1000 : undefined;
  const sample = str("sample-every") !== undefined ? wrap("sample-every", () => parseDuration(str("sample-every")!)) : undefined;
  const oracle = str("oracle-every") !== undefined ? wrap("oracle-every", () => parseDuration(str("oracle-every")!)) : undefined;
  const sleep = str("sleep-ms") !== undefined ? wrap("sleep-ms", () => parseDuration(/^\d+$/.test(str("sleep-ms")!) ? `${str("sleep-ms")}ms` : str("sleep-ms")!)) * 1000 : undefined;
  if (sleep !== undefined && !Number.isInteger(sleep)) throw new UsageError(`--sleep-ms must be a whole number of milliseconds`);
  return {
    guests: int(v.guests, "guests", 1, 4096),
    guestMem,
    seed: int(v.seed, "seed", 0, 2 ** 31 - 1),
    durationSec,
    tickMs: tick,
    hostCpus: int(v["host-cpus"], "host-cpus", 1, 256),
    scannerNice: int(v["scanner-nice"], "scanner-nice", -20, 19),
    scannerWeight: weightOf(v["scanner-weight"]),
    pagesToScan: int(v["pages-to-scan"], "pages-to-scan", 1, 1 << 24),
    sleepMillisecs: sleep,
    smartScan: onOff(v["smart-scan"], "smart-scan"),
    useZeroPages: onOff(v["use-zero-pages"], "use-zero-pages"),
    maxPageSharing: int(v["max-page-sharing"], "max-page-sharing", 2, 1 << 30),
    workers: int(v.workers, "workers", 0, 64),
    sampleEverySec: sample,
    oracleEverySec: oracle,
    calibrationPath: str("calibration"),
    ...mitigationFrom(v),
    ...hostOptionsFrom(v),
  };
}

/** --mitigation and --salt-groups (omitted when not given, so off runs are today's). */
export function mitigationFrom(v: ParsedCommand["values"]): { mitigation?: MitigationKind; saltGroups?: number | number[] } {
  const mitigation = parseMitigation(v.mitigation);
  const saltGroups = parseSaltGroups(v["salt-groups"], mitigation);
  return { ...(mitigation !== undefined ? { mitigation } : {}), ...(saltGroups !== undefined ? { saltGroups } : {}) };
}
