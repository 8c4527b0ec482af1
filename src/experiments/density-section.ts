/**
 * Density at one small size for the benchmark suite and the paper figure: per workload and
 * policy, the guests that fit on a host (runDensity, density.ts), kept compact (no per-count
 * points beyond the loss at each count). Two ways to make it, the same numbers:
 *   - densitySection: the adaptive search (stops at the first count over the limit), through a
 *     RunCache over the caller's job pool (the benchmark suite);
 *   - densityGridRequests + densityFromOutputs: every count 1..maxGuests of every policy as a
 *     fixed list of requests (the figures' job list, which shards split), then the same search
 *     read back from the finished runs. The default swap (all guest memory) leaves nothing to
 *     exhaust, so every request of the grid finishes.
 */
import type { Policy } from "../dedup/index.ts";
import type { RunResult, WorkloadSpec } from "../sim/index.ts";
import { runDensity, type DensityResult } from "./density.ts";
import { uncommittedRequest } from "./overcommit.ts";
import { RunCache } from "./run-cache.ts";
import type { RunRequest } from "./run.ts";
import type { JobPool } from "./job-pool.ts";

export interface DensityGrid {
  guestMemBytes: number;
  hostMemBytes: number;
  /** Largest guest count tried. */
  maxGuests: number;
  durationSec: number;
  maxLossPct: number;
  seed: number;
}

/** One workload's row: per policy the guests that fit and the loss at each count tried. */
export interface DensityWorkloadRow {
  workload: string;
  policies: Record<string, { maxGuests: number; capped: boolean; overcommitLossPct: number | null; steadySavingsPct: number | null; lossPctByGuests: number[] }>;
}

/** The results document's `density` section (results-schema.ts). */
export interface DensitySection extends Omit<DensityGrid, "seed"> {
  seed: number;
  workloads: DensityWorkloadRow[];
  /** Trace replays on their own host size (figure 8): each trace's guests as captured, counts 1..its guest count, default duration. */
  traces?: TraceDensitySection;
}

/** Density of trace replays: every trace's own guests, on one host size (a replay's loss is its trace's stretch, density.ts). */
export interface TraceDensityGrid {
  hostMemBytes: number;
  maxLossPct: number;
  seed: number;
}

export interface TraceDensitySection extends TraceDensityGrid {
  workloads: DensityWorkloadRow[];
}

function tracePlan(spec: WorkloadSpec, g: TraceDensityGrid, policies: readonly Policy[]) {
  return { workload: spec, hostMem: g.hostMemBytes, maxLossPct: g.maxLossPct, policies, maxGuestsCap: spec.families.length, base: { seed: g.seed } };
}

/** Every request of a trace's grid: for each policy, counts 1..its guests, the host run alone (no uncommitted twin: density.ts). */
export function traceDensityRequests(spec: WorkloadSpec, g: TraceDensityGrid, policies: readonly Policy[]): RunRequest[] {
  const out: RunRequest[] = [];
  for (const policy of policies)
    for (let n = 1; n <= spec.families.length; n++) out.push({ seed: g.seed, workload: spec, policy, guests: n, hostMem: g.hostMemBytes });
  return out;
}

/** The traces' section from their grid's finished runs (`made` as densityFromOutputs'). */
export async function traceDensityFromOutputs(specs: readonly WorkloadSpec[], g: TraceDensityGrid, policies: readonly Policy[], made: (req: RunRequest) => RunResult): Promise<TraceDensitySection> {
  const rows: DensityWorkloadRow[] = [];
  for (const s of specs) rows.push(row(await runDensity(tracePlan(s, g, policies), async (req) => made(req))));
  return { ...g, workloads: rows };
}

function plan(spec: WorkloadSpec, g: DensityGrid, policies: readonly Policy[]) {
  return {
    workload: spec, hostMem: g.hostMemBytes, maxLossPct: g.maxLossPct, policies, maxGuestsCap: g.maxGuests,
    base: { guestMem: g.guestMemBytes, durationSec: g.durationSec, seed: g.seed },
  };
}

function row(r: DensityResult): DensityWorkloadRow {
  const policies: DensityWorkloadRow["policies"] = {};
  for (const [p, d] of Object.entries(r.policies))
    policies[p] = { maxGuests: d.maxGuests, capped: d.capped, overcommitLossPct: d.overcommitLossPct, steadySavingsPct: d.steadySavingsPct, lossPctByGuests: d.points.map((x) => x.overcommitLossPct) };
  return { workload: r.workload, policies };
}

/**
 * The adaptive search for each workload, its simulations in `pool`. Each policy's search is a
 * chain (count n + 1 is asked for when n is done), so its runs go first in a pool shared with
 * other work (priority 1): the chains advance while the rest fills the free workers.
 */
export async function densitySection(specs: readonly WorkloadSpec[], g: DensityGrid, policies: readonly Policy[], pool: JobPool): Promise<DensitySection> {
  const cache = new RunCache({}, pool, { priority: 1 });
  const results = await Promise.all(specs.map((s) => runDensity(plan(s, g, policies), cache)));
  return { ...g, workloads: results.map(row) };
}

/** Every request of the grid: for each policy and count, the host run and its uncommitted twin. */
export function densityGridRequests(spec: WorkloadSpec, g: DensityGrid, policies: readonly Policy[]): RunRequest[] {
  const out: RunRequest[] = [];
  for (const policy of policies)
    for (let n = 1; n <= g.maxGuests; n++) {
      const req: RunRequest = { guestMem: g.guestMemBytes, durationSec: g.durationSec, seed: g.seed, workload: spec, policy, guests: n, hostMem: g.hostMemBytes };
      out.push(req, uncommittedRequest(req));
    }
  return out;
}

/** The section from the grid's finished runs (`made` looks a request up; it throws for one not made). */
export async function densityFromOutputs(specs: readonly WorkloadSpec[], g: DensityGrid, policies: readonly Policy[], made: (req: RunRequest) => RunResult): Promise<DensitySection> {
  const rows: DensityWorkloadRow[] = [];
  for (const s of specs) rows.push(row(await runDensity(plan(s, g, policies), async (req) => made(req))));
  return { ...g, workloads: rows };
}
