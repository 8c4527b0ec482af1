/** The CLI commands: run, list, demo, calibrate. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  calibrate, compareWithBaseline, loadCalibration, runSimulation, validateRunResult, workloadFromArg, type RunResult, type SimOptions,
} from "../sim/index.ts";
import { getWorkload, listWorkloads } from "../../workloads/index.ts";
import { POLICIES, type Policy } from "../dedup/index.ts";
import { parsePolicy, simOptionsFrom, UsageError, type ParsedCommand } from "./args.ts";
import { ProgressBar } from "./progress.ts";

type Values = ParsedCommand["values"];

function writeJson(path: string, doc: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(doc, null, 1) + "\n");
}

async function runOne(opts: SimOptions, label: string): Promise<RunResult> {
  const bar = new ProgressBar(label);
  try {
    return await runSimulation({ ...opts, onProgress: (t, total) => bar.update(t, total) });
  } finally {
    bar.done();
  }
}

export async function cmdRun(v: Values): Promise<void> {
  if (typeof v.workload !== "string") throw new UsageError(`run needs --workload (see \`vmdedup list\`)`);
  const spec = await workloadFromArg(v.workload, getWorkload);
  const policy = parsePolicy((v.policy as string | undefined) ?? "vmdedup");
  const opts: SimOptions = { ...simOptionsFrom(v), workload: spec, policy };
  const result = await runOne(opts, `${spec.name}/${policy}`);
  if (policy !== "none" && !v["no-baseline"]) compareWithBaseline(result, await runOne({ ...opts, policy: "none" }, `${spec.name}/none (baseline)`));
  validateRunResult(result);
  const out = (v.out as string | undefined) ?? `results/${spec.name}-${policy}-s${result.seed}.json`;
  writeJson(out, result);
  const s = result.summary;
  console.log(
    `${spec.name} ${policy}: savings ${s.steadySavingsPct.toFixed(1)}% (excl. zero ${s.steadySavingsExclZeroPct.toFixed(1)}%), ` +
      `oracle ${s.oracleSavablePct.toFixed(1)}%, efficiency ${fmt(s.efficiency)}, CoW breaks ${s.steadyCowBreaksPerSec.toFixed(0)}/s, ` +
      `throughput loss ${s.throughputLossPct === null ? "n/a" : s.throughputLossPct.toFixed(1) + "%"}, ${s.fullScans} full passes -> ${out}`,
  );
}

export function cmdList(): void {
  const ws = listWorkloads();
  const width = Math.max(...ws.map((w) => w.name.length));
  for (const w of ws) console.log(`${w.name.padEnd(width)}  ${w.description}`);
}

const fmt = (x: number | null, d = 2) => (x === null ? "n/a" : x.toFixed(d));

/** A short run of one canned workload under every policy (none first, as the baseline). */
export async function cmdDemo(v: Values): Promise<void> {
  const spec = await workloadFromArg((v.workload as string | undefined) ?? "web-server", getWorkload);
  const base = simOptionsFrom(v);
  const opts: Omit<SimOptions, "policy"> = { guestMem: 32 * 1024 * 1024, durationSec: 60, ...stripUndefined(base), workload: spec };
  const policies: Policy[] = v.policies ? (v.policies as string).split(",").map((p) => parsePolicy(p.trim(), "policies")) : ["none", ...POLICIES.filter((p) => p !== "none")];
  if (policies[0] !== "none") policies.unshift("none");
  const rows: string[][] = [];
  let baseline: RunResult | null = null;
  const t0 = performance.now();
  for (const p of policies) {
    let r: RunResult;
    try {
      r = await runOne({ ...opts, policy: p }, `${spec.name}/${p}`);
    } catch (e) {
      rows.push([p, `not available: ${(e as Error).message}`]);
      continue;
    }
    if (p === "none") baseline = r;
    else if (baseline) compareWithBaseline(r, baseline);
    const s = r.summary;
    rows.push([p, fmt(s.steadySavingsPct, 1), fmt(s.steadySavingsExclZeroPct, 1), fmt(s.oracleSavablePct, 1), fmt(s.efficiency), s.steadyCowBreaksPerSec.toFixed(0),
      s.throughputLossPct === null ? "-" : fmt(s.throughputLossPct, 1), String(s.fullScans), s.timeToMerge.p50Ms === null ? "-" : String(s.timeToMerge.p50Ms)]);
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

export function cmdCalibrate(v: Values): void {
  const pages = v.pages === undefined ? 16384 : Number(v.pages);
  if (!Number.isInteger(pages) || pages < 256 || pages > 1 << 20) throw new UsageError(`--pages must be an integer from 256 to 1048576`);
  const base = v.calibration ? loadCalibration(v.calibration as string) : loadCalibration();
  const c = calibrate(pages, base);
  const out = (v.out as string | undefined) ?? `src/sim/calibration/${c.name}.json`;
  writeJson(out, c);
  for (const [k, x] of Object.entries(c.constants)) console.log(`${k.padEnd(12)} ${x.ns.toFixed(3).padStart(10)} ns`);
  console.log(`-> ${out} (use it with --calibration ${out})`);
}
