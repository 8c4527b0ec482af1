/** `vmdedup density --workload W --host-mem SIZE --max-loss 5% [--policies a,b] [--max-guests N] [--jobs N] [--json]` (src/experiments/density.ts). */
import { POLICIES, type Policy } from "../dedup/index.ts";
import { RunCache, runDensity, withJobPool, type DensityResult } from "../experiments/index.ts";
import { parseJobs } from "./parallel-flags.ts";
import { parsePolicy, simOptionsFrom, UsageError, type ParsedCommand } from "./args.ts";
import { share } from "./host-flags.ts";
import { workloadFromArg } from "./workloads.ts";

export async function cmdDensity(v: ParsedCommand["values"]): Promise<void> {
  if (typeof v.workload !== "string") throw new UsageError(`density needs --workload (see \`vmdedup list\`)`);
  if (v["host-mem"] === undefined) throw new UsageError(`density needs --host-mem SIZE (the host the guests must fit on)`);
  if (v.guests !== undefined) throw new UsageError(`density chooses the guest counts itself; leave out --guests`);
  const maxLoss = share(v["max-loss"] ?? "5%", "max-loss");
  if (!(maxLoss! > 0)) throw new UsageError(`--max-loss must be above 0%`);
  const cap = v["max-guests"] === undefined ? 64 : Number(v["max-guests"]);
  if (!Number.isInteger(cap) || cap < 1 || cap > 4096) throw new UsageError(`--max-guests must be an integer from 1 to 4096, got "${v["max-guests"]}"`);
  const jobs = parseJobs(v.jobs as string | undefined);
  const spec = await workloadFromArg(v.workload);
  const { hostMem, ...base } = simOptionsFrom(v);
  const policies: Policy[] = v.policies ? (v.policies as string).split(",").map((p) => parsePolicy(p.trim(), "policies")) : [...POLICIES];
  const clean = Object.fromEntries(Object.entries(base).filter(([, x]) => x !== undefined));
  const plan = { workload: spec, hostMem: hostMem!, maxLossPct: maxLoss! * 100, policies, base: clean, maxGuestsCap: cap };
  const r = await withJobPool(jobs, (pool) => runDensity(plan, new RunCache({}, pool)));
  if (v.json) console.log(JSON.stringify(densityJson(r), null, 1));
  else for (const line of densityTable(r)) console.log(line);
}

/** The --json document: { policies: { <policy>: { maxGuests, overcommitLossPct, steadySavingsPct } }, workload, hostMemBytes, maxLossPct, points }. */
export function densityJson(r: DensityResult): Record<string, unknown> {
  const policies = Object.fromEntries(
    Object.entries(r.policies).map(([p, d]) => [p, { maxGuests: d.maxGuests, overcommitLossPct: d.overcommitLossPct, steadySavingsPct: d.steadySavingsPct, capped: d.capped }]),
  );
  const points = Object.fromEntries(Object.entries(r.policies).map(([p, d]) => [p, d.points]));
  return { policies, workload: r.workload, hostMemBytes: r.hostMemBytes, maxLossPct: r.maxLossPct, points, runs: r.runs };
}

export function densityTable(r: DensityResult): string[] {
  const rows = Object.entries(r.policies).map(([p, d]) => [p, `${d.maxGuests}${d.capped ? "+" : ""}`, d.overcommitLossPct === null ? "-" : d.overcommitLossPct.toFixed(2),
    d.steadySavingsPct === null ? "-" : d.steadySavingsPct.toFixed(1), d.points.map((x) => `${x.guests}:${x.stoppedEarly ? "exhausted" : x.overcommitLossPct.toFixed(1)}`).join(" ")]);
  const head = ["policy", "max guests", "loss % at max", "savings %", "loss % by guest count"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (x: string[]) => x.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [`${r.workload} on a ${(r.hostMemBytes / 2 ** 20).toFixed(0)} MiB host, loss < ${r.maxLossPct}% (${r.runs} simulations)`, line(head), ...rows.map(line)];
}
