/**
 * Density: how many guests fit on a host. For each policy, guest counts n = 1, 2, ... run on the
 * host (--host-mem) and on an uncommitted host (overcommit.ts); maxGuests is the largest n such
 * that every m <= n keeps overcommitLossPct under the limit (a run that exhausts balloon, cache
 * and swap counts as 100% lost; a workload with no operations to lose, 0%). The search stops at the first count over the limit, or at
 * maxGuestsCap (for a trace, at the trace's own guest count). A trace replay's loss is the stretch of
 * its trace by stalls (overcommit.ts withUncommitted). Every simulation is one independent RunRequest made through `run` (a RunCache by
 * default, so repeated requests cost nothing; a RunCache over a job pool runs them side by side),
 * so results are deterministic whatever runs them. The policies are searched at once, and a
 * point's host run and its uncommitted twin are asked for together, so a pool of N has up to
 * 2 x policies simulations to run side by side; results are gathered by position, never in
 * completion order, so they are the same for any N.
 */
import type { Policy } from "../dedup/index.ts";
import { HostMemoryExhaustedError, type RunResult, type WorkloadSpec } from "../sim/index.ts";
import { uncommittedRequest, withUncommitted } from "./overcommit.ts";
import { RunCache } from "./run-cache.ts";
import type { RunRequest } from "./run.ts";

export interface DensityPlan {
  workload: WorkloadSpec;
  hostMem: number;
  /** Largest overcommitLossPct (%) a guest count may show, exclusive. */
  maxLossPct: number;
  policies: readonly Policy[];
  /** Options of every run besides workload, policy, guests and hostMem (guestMem, durationSec, seed, ...). */
  base?: Omit<RunRequest, "workload" | "policy" | "guests" | "hostMem">;
  /** Largest guest count tried (default 64). */
  maxGuestsCap?: number;
}

export interface DensityPoint {
  guests: number;
  overcommitLossPct: number;
  steadySavingsPct: number | null;
  /** Null, or why the host run stopped early (counted as 100% lost). */
  stoppedEarly: string | null;
}

export interface DensityPolicy {
  /** Largest n such that every m <= n kept overcommitLossPct < maxLossPct (0: not even one guest). */
  maxGuests: number;
  /** At maxGuests (null when it is 0). */
  overcommitLossPct: number | null;
  steadySavingsPct: number | null;
  /** True when the search stopped at maxGuestsCap rather than at a count over the limit. */
  capped: boolean;
  points: DensityPoint[];
}

export interface DensityResult {
  workload: string;
  hostMemBytes: number;
  maxLossPct: number;
  policies: Record<string, DensityPolicy>;
  /** Fresh simulations made. */
  runs: number;
}

export type RunFn = (req: RunRequest) => Promise<RunResult>;

/**
 * One guest count under one policy: the host run against its uncommitted twin. A trace replay
 * has no twin to run: its loss is its own trace's stretch (replayLossPct; the uncommitted replay
 * runs without stalls, so its lag is 0).
 */
export async function densityPoint(run: RunFn, req: RunRequest): Promise<DensityPoint> {
  if (req.workload.trace !== undefined) {
    try {
      const r = await run(req);
      return { guests: req.guests!, overcommitLossPct: r.summary.replayLossPct ?? 0, steadySavingsPct: r.summary.steadySavingsPct, stoppedEarly: null };
    } catch (e) {
      if (!(e instanceof HostMemoryExhaustedError)) throw e;
      return { guests: req.guests!, overcommitLossPct: 100, steadySavingsPct: null, stoppedEarly: e.message };
    }
  }
  const uncP = run(uncommittedRequest(req));
  const hostP = run(req);
  hostP.catch(() => {}); // awaited below, after its twin
  const unc = await uncP;
  try {
    const r = withUncommitted(await hostP, unc);
    // null: the workload does no operations even uncommitted (idle at a tiny size), so none can be lost
    return { guests: req.guests!, overcommitLossPct: r.summary.overcommitLossPct ?? 0, steadySavingsPct: r.summary.steadySavingsPct, stoppedEarly: null };
  } catch (e) {
    if (!(e instanceof HostMemoryExhaustedError)) throw e;
    return { guests: req.guests!, overcommitLossPct: 100, steadySavingsPct: null, stoppedEarly: e.message };
  }
}

/** `run`: a RunFn, or a RunCache (e.g. over a job pool) whose fresh simulations are counted; default a RunCache in this thread. */
export async function runDensity(plan: DensityPlan, run?: RunFn | RunCache): Promise<DensityResult> {
  const cache = run instanceof RunCache ? run : run ? null : new RunCache();
  const fn: RunFn = cache ? (req) => cache.run(req) : (run as RunFn);
  const before = cache?.count ?? 0;
  const searched = await Promise.all(plan.policies.map((policy) => searchPolicy(plan, policy, fn)));
  const policies: Record<string, DensityPolicy> = {};
  plan.policies.forEach((p, i) => (policies[p] = searched[i]!));
  return { workload: plan.workload.name, hostMemBytes: plan.hostMem, maxLossPct: plan.maxLossPct, policies, runs: (cache?.count ?? 0) - before };
}

/** One policy: guest counts 1, 2, ... until one is over the limit or the cap is reached. */
async function searchPolicy(plan: DensityPlan, policy: Policy, fn: RunFn): Promise<DensityPolicy> {
  // a trace replays its own guests: at most as many as it holds (--guests N takes the first N)
  const cap = Math.min(plan.maxGuestsCap ?? 64, plan.workload.trace ? plan.workload.families.length : Infinity);
  const points: DensityPoint[] = [];
  let capped = true;
  for (let n = 1; n <= cap; n++) {
    const p = await densityPoint(fn, { ...plan.base, workload: plan.workload, policy, guests: n, hostMem: plan.hostMem });
    points.push(p);
    if (!(p.overcommitLossPct < plan.maxLossPct)) {
      capped = false;
      break;
    }
  }
  const fit = points.filter((p) => p.overcommitLossPct < plan.maxLossPct);
  const last = fit[fit.length - 1];
  return { maxGuests: fit.length, overcommitLossPct: last?.overcommitLossPct ?? null, steadySavingsPct: last?.steadySavingsPct ?? null, capped, points };
}
