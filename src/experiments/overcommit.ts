/**
 * A run on an overcommitted host judged against the same run on an uncommitted one: the same
 * workload, policy, seed and options, with a frame for every guest page (no --host-mem, the
 * spec's `host` left out). overcommitLossPct = (1 - steady guest ops/s on the host / the same on
 * the uncommitted host) x 100, as throughputLossPct is judged against policy none.
 */
import type { RunResult, RunSummary, WorkloadSpec } from "../sim/index.ts";
import type { RunRequest } from "./run.ts";

/** True when `req` runs on a host with a size (its own hostMem or its spec's host). */
export function hasHost(req: Pick<RunRequest, "hostMem" | "workload">): boolean {
  return req.hostMem !== undefined || req.workload.host !== undefined;
}

const HOST_KEYS = ["hostMem", "minFree", "balloonRate", "swapDevice", "swapSize", "compressionCache", "swapVictims"] as const;

/** The same request on an uncommitted host: no host size, no reclamation knobs, the spec without `host`. */
export function uncommittedRequest(req: RunRequest): RunRequest {
  const out: RunRequest = { ...req };
  for (const k of HOST_KEYS) delete out[k];
  if (req.workload.host !== undefined) {
    const { host: _host, ...spec } = req.workload;
    out.workload = spec as WorkloadSpec;
  }
  return out;
}

/**
 * `result` with overcommitLossPct filled in from the uncommitted run (a new document). A trace
 * replay's writes are never dropped, only delayed by its stalls (a closed loop at the trace's
 * pace: replay-runner.ts), so its loss is the stretch of its trace, summary.replayLossPct: the
 * same work in T + lag instead of T is a throughput of T / (T + lag) of the uncommitted replay's,
 * which runs without stalls (its lag is 0).
 */
export function withUncommitted<T extends { summary: RunSummary }>(result: T, uncommitted: { summary: RunSummary }): T {
  const u = uncommitted.summary.steadyGuestOpsPerSec;
  const replay = result.summary.replayLossPct;
  const loss = replay !== undefined ? replay : u > 0 ? Math.round((1 - result.summary.steadyGuestOpsPerSec / u) * 100 * 1e4) / 1e4 : null;
  return { ...result, summary: { ...result.summary, uncommittedGuestOpsPerSec: u, overcommitLossPct: loss } };
}

export type { RunResult };
