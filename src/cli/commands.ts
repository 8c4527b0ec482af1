/**
 * The CLI commands (run, list, demo, calibrate), registered in COMMANDS: a new command is one
 * entry there (its name, its line in `vmdedup --help`'s command list and its handler).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { POLICIES, type Policy } from "../dedup/index.ts";
import { runWithBaseline, UnavailableError, withBaseline, type RunProgress, type RunRequest } from "../experiments/index.ts";
import { calibrate, fitWriteLatency, HostMemoryExhaustedError, loadCalibration, loadWriteLatency, validateRunResult, WRITE_LATENCY_KEYS, type LatencyQuantiles, type RunResult, type RunSummary, type WriteLatencyCalibration } from "../sim/index.ts";
import { measureKernelWriteLatency } from "../experiments/kernel-peer/write-latency-kernel.ts";
import { KsmUnavailableError } from "../experiments/kernel-peer/ksm-sysfs.ts";
import { cmdDensity } from "./density.ts";
import { parsePolicy, simOptionsFrom, UsageError, type ParsedCommand } from "./args.ts";
import { cmdAttack } from "./attack.ts";
import { helpText } from "./help.ts";
import { ProgressBar } from "./progress.ts";
import { CANNED, shippedTraceLines, workloadFromArg } from "./workloads.ts";

type Values = ParsedCommand["values"];

export interface Command {
  /** What the command does, one line. */
  summary: string;
  run(values: Values): Promise<void> | void;
}

function writeJson(path: string, doc: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(doc, null, 1) + "\n");
}

/** A progress bar per run, labelled; returns the bar's callback and a function that clears it. */
function bars() {
  let bar: ProgressBar | null = null;
  const end = () => {
    bar?.done();
    bar = null;
  };
  const start = (label: string): RunProgress => {
    end();
    const b = new ProgressBar(label);
    bar = b;
    return (t, total) => b.update(t, total);
  };
  return { start, end };
}

const fmt = (x: number | null, d = 2) => (x === null ? "n/a" : x.toFixed(d));

async function cmdRun(v: Values): Promise<void> {
  if (typeof v.workload !== "string") throw new UsageError(`run needs --workload (see \`vmdedup list\`)`);
  const spec = await workloadFromArg(v.workload);
  const policy = parsePolicy((v.policy as string | undefined) ?? "vmdedup");
  const req: RunRequest = { ...simOptionsFrom(v), workload: spec, policy };
  const progress = bars();
  let result: RunResult;
  const out0 = v.out as string | undefined;
  try {
    ({ result } = await runWithBaseline(req, {
      baseline: !v["no-baseline"],
      progress: (which) => progress.start(which === "policy" ? `${spec.name}/${policy}` : which === "baseline" ? `${spec.name}/none (baseline)` : `${spec.name}/${policy} (uncommitted host)`),
    }));
  } catch (e) {
    progress.end();
    if (e instanceof HostMemoryExhaustedError && e.partial) return exhausted(e, out0 ?? `results/${spec.name}-${policy}-s${(e.partial as RunResult).seed}.json`);
    throw e;
  } finally {
    progress.end();
  }
  validateRunResult(result);
  const out = out0 ?? `results/${spec.name}-${policy}-s${result.seed}.json`;
  writeJson(out, result);
  const s = result.summary;
  console.log(
    `${spec.name} ${policy}: savings ${s.steadySavingsPct.toFixed(1)}% (excl. zero ${s.steadySavingsExclZeroPct.toFixed(1)}%), ` +
      `oracle ${s.oracleSavablePct.toFixed(1)}%, efficiency ${fmt(s.efficiency)}, CoW breaks ${s.steadyCowBreaksPerSec.toFixed(0)}/s, ` +
      `throughput loss ${s.throughputLossPct === null ? "n/a" : s.throughputLossPct.toFixed(1) + "%"}, ${s.fullScans} full passes -> ${out}`,
  );
  if (s.swapOuts !== undefined)
    console.log(
      `  host: overcommit loss ${s.overcommitLossPct == null ? "n/a" : s.overcommitLossPct.toFixed(1) + "%"}${s.replayLagSec !== undefined ? ` (the trace ran ${s.replayLagSec.toFixed(2)} s late)` : ""}, swap-outs ${s.swapOuts}, swap-ins ${s.swapIns}, ` +
        `compressed ${s.compressedPages}, frames freed by balloons ${s.balloonedPages}${v.verify ? ", --verify: every page as written" : ""}`,
    );
}

/** The host ran out of everything: the partial document is written, the message printed, exit 1. */
function exhausted(e: HostMemoryExhaustedError, out: string): void {
  writeJson(out, e.partial);
  console.error(`vmdedup: ${e.message}
(partial result -> ${out})`);
  process.exitCode = 1;
}

function cmdList(): void {
  const ws = [...CANNED.list(), ...shippedTraceLines()];
  const width = Math.max(...ws.map((w) => w.name.length));
  for (const w of ws) console.log(`${w.name.padEnd(width)}  ${w.description}`);
}

function demoRow(p: Policy, s: RunSummary): string[] {
  return [p, fmt(s.steadySavingsPct, 1), fmt(s.steadySavingsExclZeroPct, 1), fmt(s.oracleSavablePct, 1), fmt(s.efficiency), s.steadyCowBreaksPerSec.toFixed(0),
    s.throughputLossPct === null ? "-" : fmt(s.throughputLossPct, 1), String(s.fullScans), s.timeToMerge.p50Ms === null ? "-" : String(s.timeToMerge.p50Ms)];
}

/** A short run of one canned workload under every policy (none first: it is every other policy's baseline). */
async function cmdDemo(v: Values): Promise<void> {
  const spec = await workloadFromArg((v.workload as string | undefined) ?? "web-server");
  const small = spec.trace ? {} : { guestMem: 32 * 1024 * 1024, durationSec: 60 }; // a replayed trace keeps its guests' sizes and its default duration
  const base: RunRequest = { ...small, ...stripUndefined(simOptionsFrom(v)), workload: spec, policy: "none" };
  const policies: Policy[] = v.policies ? (v.policies as string).split(",").map((p) => parsePolicy(p.trim(), "policies")) : [...POLICIES];
  const order: Policy[] = ["none", ...policies.filter((p) => p !== "none")];
  const rows: string[][] = [];
  const progress = bars();
  let baseline: RunResult | null = null;
  const t0 = performance.now();
  for (const p of order) {
    try {
      const { result } = await runWithBaseline({ ...base, policy: p }, { baseline: false, progress: () => progress.start(`${spec.name}/${p}`) });
      if (p === "none") baseline = result;
      rows.push(demoRow(p, (baseline && p !== "none" ? withBaseline(result, baseline) : result).summary));
    } catch (e) {
      if (!(e instanceof UnavailableError)) throw e;
      rows.push([p, `not available: ${e.message}`]);
    } finally {
      progress.end();
    }
  }
  const g = baseline?.options;
  console.log(`${spec.name}: ${g ? `${g.guests} guests x ${g.guestMemBytes / 2 ** 20} MiB, ${g.durationSec} s simulated, seed ${g.seed}` : ""} (steady-state averages)`);
  const head = ["policy", "savings %", "excl. zero %", "oracle %", "efficiency", "CoW/s", "tput loss %", "passes", "ttm p50 ms"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  for (const r of rows) console.log(r.length === 2 ? `${r[0]!.padEnd(widths[0]!)}  ${r[1]}` : line(r));
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s wall)`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
}

/**
 * `calibrate --write-latency F`: the attack's write-latency noise model measured on this host's
 * KSM (root; KSM idle), as ksm_tests -C does, into F (the file `attack --write-latency F` reads).
 * Where that cannot run (no root, no KSM, KSM in use by others) F gets the documented defaults
 * (src/sim/calibration/write-latency.json) and stderr says why. The cost constants are untouched.
 */
async function cmdCalibrateWriteLatency(v: Values, out: string): Promise<void> {
  const rounds = v.rounds === undefined ? 5 : Number(v.rounds);
  if (!/^\d+$/.test(String(v.rounds ?? 5)) || rounds < 1 || rounds > 100) throw new UsageError(`--rounds must be an integer from 1 to 100, got "${v.rounds}"`);
  if (out === "" || typeof out !== "string") throw new UsageError(`--write-latency needs the file to write`);
  let doc: WriteLatencyCalibration;
  try {
    const k = await measureKernelWriteLatency({ rounds });
    const date = new Date().toISOString().slice(0, 10);
    const base = v.calibration ? loadCalibration(v.calibration as string) : loadCalibration();
    const faultNs = base.constants.cowTrap.ns + base.constants.tlbFlush.ns + base.constants.pageCopy.ns;
    doc = fitWriteLatency(k.unmergedNs, k.mergedNs, {
      description: `ksm_tests -C method: ${k.rounds} rounds of ${k.pairs} pairs of anonymous pages; one timed one-byte store per unmerged page and per merged pair (src/experiments/kernel-peer/write-latency-kernel.ts)`,
      host: k.host, date, timerOverheadNs: k.timerOverheadNs, mergedShare: k.mergedShare, knobsFound: k.knobsFound, knobsLeft: k.knobsLeft,
    }, faultNs);
    const m = doc.measured as { unmerged: LatencyQuantiles; merged: LatencyQuantiles };
    for (const [name, x] of [["unmerged", m.unmerged], ["merged", m.merged]] as const)
      console.log(`${name.padEnd(9)} n=${x.count}  min ${x.minNs}  p5 ${x.p5Ns}  p25 ${x.p25Ns}  p50 ${x.p50Ns}  p75 ${x.p75Ns}  p95 ${x.p95Ns}  p99 ${x.p99Ns}  max ${x.maxNs}  mean ${x.meanNs} ns`);
    console.log(`merged share ${k.mergedShare.toFixed(4)}, timer overhead ${k.timerOverheadNs} ns subtracted; KSM knobs restored: ${JSON.stringify(k.knobsLeft) === JSON.stringify(k.knobsFound) ? "yes, as found" : `NO: found ${JSON.stringify(k.knobsFound)}, left ${JSON.stringify(k.knobsLeft)}`}`);
  } catch (e) {
    if (!(e instanceof KsmUnavailableError)) throw e;
    console.error(`vmdedup calibrate: write latency not measured here: ${e.message}; writing the documented defaults`);
    doc = loadWriteLatency();
  }
  writeJson(out, doc);
  for (const k of WRITE_LATENCY_KEYS) console.log(`${k.padEnd(16)} ${String(doc[k].value).padStart(10)}`);
  console.log(`-> ${out} (use it with vmdedup attack --write-latency ${out})`);
}

async function cmdCalibrate(v: Values): Promise<void> {
  if (v["write-latency"] !== undefined) return cmdCalibrateWriteLatency(v, v["write-latency"] as string);
  const pages = v.pages === undefined ? 16384 : Number(v.pages);
  if (!Number.isInteger(pages) || pages < 256 || pages > 1 << 20) throw new UsageError(`--pages must be an integer from 256 to 1048576`);
  const base = v.calibration ? loadCalibration(v.calibration as string) : loadCalibration();
  const c = calibrate(pages, base);
  const out = (v.out as string | undefined) ?? `src/sim/calibration/${c.name}.json`;
  writeJson(out, c);
  for (const [k, x] of Object.entries(c.constants)) console.log(`${k.padEnd(12)} ${x.ns.toFixed(3).padStart(10)} ns`);
  console.log(`-> ${out} (use it with --calibration ${out})`);
}

/** Every command by name, in the order --help lists them. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  run: { summary: "simulate one workload under one policy (and none as its baseline), write the result JSON", run: cmdRun },
  list: { summary: "canned workloads and shipped traces (trace:NAME), one line each", run: cmdList },
  demo: { summary: "a short run of a canned workload under every policy, prints a table", run: cmdDemo },
  attack: { summary: "the page-sharing timing side channel and covert channel under a policy and mitigation", run: cmdAttack },
  calibrate: { summary: "time the hv/dedup code paths here, write a calibration file (--write-latency F: the attack's write latencies on this host's KSM)", run: cmdCalibrate },
  density: { summary: "how many guests fit on a host (--host-mem) per policy within --max-loss", run: cmdDensity },
  help: { summary: "this text", run: () => console.log(helpText()) },
};
