/**
 * Density: how many guests fit on a host. For each policy, guest counts n = 1, 2, ... run on the
 * host (--host-mem) and on an uncommitted host (overcommit.ts); maxGuests is the largest n such
 * that every m <= n keeps overcommitLossPct under the limit (a run that exhausts balloon, cache
 * and swap counts as 100% lost; a workload with no operations to lose, 0%). The search stops at the first count over the limit, or at
 * maxGuestsCap. Every simulation is one independent RunRequest made through `run` (a RunCache by
 * default, so repeated requests cost nothing; a job pool can be handed in instead), so results
 * are deterministic whatever runs them.
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

/** One guest count under one policy: the host run against its uncommitted twin. */
export async function densityPoint(run: RunFn, req: RunRequest): Promise<DensityPoint> {
  const unc = await run(uncommittedRequest(req));
  try {
    const r = withUncommitted(await run(req), unc);
    // null: the workload does no operations even uncommitted (idle at a tiny size), so none can be lost
    return { guests: req.guests!, overcommitLossPct: r.summary.overcommitLossPct ?? 0, steadySavingsPct: r.summary.steadySavingsPct, stoppedEarly: null };
  } catch (e) {
    if (!(e instanceof HostMemoryExhaustedError)) throw e;
    return { guests: req.guests!, overcommitLossPct: 100, steadySavingsPct: null, stoppedEarly: e.message };
  }
}

export async function runDensity(plan: DensityPlan, run?: RunFn): Promise<DensityResult> {
  const cache = run ? null : new RunCache();
  const fn: RunFn = run ?? ((req) => cache!.run(req));
  const cap = plan.maxGuestsCap ?? 64;
  const policies: Record<string, DensityPolicy> = {};
  for (const policy of plan.policies) {
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
    policies[policy] = {
      maxGuests: fit.length, overcommitLossPct: last?.overcommitLossPct ?? null, steadySavingsPct: last?.steadySavingsPct ?? null, capped, points,
    };
  }
  return { workload: plan.workload.name, hostMemBytes: plan.hostMem, maxLossPct: plan.maxLossPct, policies, runs: cache?.count ?? 0 };
}
