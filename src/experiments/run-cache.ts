/**
 * Runs made once per distinct request: suites and figures that ask for the same run (the same
 * workload spec, policy and options) share one simulation, and every policy's baseline (policy
 * none, see run.ts) is made once however many policies are compared with it. Requests are keyed
 * by their canonical JSON (keys sorted, defaults left out), so two requests built in different
 * ways but asking for the same run share it. The baseline is queued before the policy.
 *
 * Simulations run in a JobPool (job-pool.ts): by default one in this thread at a time, in the
 * order asked; with a pool of N they run N at once, each caller awaiting its own run's promise,
 * so what a caller builds does not depend on the order runs finish in. A call may name another
 * pool (the worker sweep runs its wall-clock runs alone, after the parallel part). `priority`
 * is passed with every job (job-pool.ts: a search that asks for its next run only after the last
 * one raises it, so its chain of runs goes first in a shared pool).
 */
import { JobPool, type PooledRunResult } from "./job-pool.ts";
import { baselineRequest, requestLabel, withBaseline, type RunProgress, type RunRequest } from "./run.ts";

export interface RunCacheHooks {
  /** The progress callback of a fresh simulation of `req`. */
  progress?: (req: RunRequest) => RunProgress | undefined;
  /** Called once per fresh simulation, when it is done. */
  done?: (req: RunRequest, result: PooledRunResult) => void;
}

/**
 * The canonical key of a request: its defined, non-function fields sorted by name; `workers: 0`
 * is left out too (it is the simulator's default, so a request without it asks for the same run).
 */
export function requestKey(req: RunRequest): string {
  const fields = Object.entries(req).filter(([k, v]) => v !== undefined && typeof v !== "function" && !(k === "workers" && v === 0));
  fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(fields);
}

export class RunCache {
  private readonly runs = new Map<string, Promise<PooledRunResult>>();
  /** Fresh simulations made so far. */
  private made = 0;

  constructor(
    private readonly hooks: RunCacheHooks = {},
    private readonly pool: JobPool = new JobPool({ jobs: 1 }),
    private readonly o: { priority?: number } = {},
  ) {}

  get count(): number {
    return this.made;
  }

  /** The run of `req` as simulated (no baseline figures), made in `pool` (default: the cache's) unless already asked for. */
  run(req: RunRequest, pool: JobPool = this.pool): Promise<PooledRunResult> {
    const key = requestKey(req);
    let p = this.runs.get(key);
    if (!p) {
      p = pool.run({ kind: "run", id: requestLabel(req), req }, { onProgress: this.hooks.progress?.(req), priority: this.o.priority }).then((r) => {
        this.made++;
        this.hooks.done?.(req, r);
        return r;
      });
      this.runs.set(key, p);
    }
    return p;
  }

  /** Whether `req` was asked for already. */
  has(req: RunRequest): boolean {
    return this.runs.has(requestKey(req));
  }

  /** The run of `req` compared with its none baseline (queued first); as simulated when the policy is none or `baseline` is false. */
  async withBaseline(req: RunRequest, baseline = true, pool: JobPool = this.pool): Promise<PooledRunResult> {
    if (req.policy === "none" || !baseline) return this.run(req, pool);
    const [b, r] = await Promise.all([this.run(baselineRequest(req), pool), this.run(req, pool)]);
    return withBaseline(r, b);
  }
}
