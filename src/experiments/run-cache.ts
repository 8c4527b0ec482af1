/**
 * Runs made once per distinct request: suites and figures that ask for the same run (the same
 * workload spec, policy and options) share one simulation, and every policy's baseline (policy
 * none, see run.ts) is made once however many policies are compared with it. Requests are keyed
 * by their canonical JSON (keys sorted, defaults left out), so two requests built in different
 * ways but asking for the same run share it. The baseline is run before the policy.
 */
import type { RunResult } from "../sim/index.ts";
import { baselineRequest, runOnce, withBaseline, type RunProgress, type RunRequest } from "./run.ts";

export interface RunCacheHooks {
  /** The progress callback of a fresh simulation of `req`. */
  progress?: (req: RunRequest) => RunProgress | undefined;
  /** Called once per fresh simulation, when it is done. */
  done?: (req: RunRequest, result: RunResult) => void;
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
  private readonly runs = new Map<string, Promise<RunResult>>();
  /** Fresh simulations made so far. */
  private made = 0;

  constructor(private readonly hooks: RunCacheHooks = {}) {}

  get count(): number {
    return this.made;
  }

  /** The run of `req` as simulated (no baseline figures). */
  run(req: RunRequest): Promise<RunResult> {
    const key = requestKey(req);
    let p = this.runs.get(key);
    if (!p) {
      p = runOnce(req, this.hooks.progress?.(req)).then((r) => {
        this.made++;
        this.hooks.done?.(req, r);
        return r;
      });
      this.runs.set(key, p);
    }
    return p;
  }

  /** The run of `req` compared with its none baseline (run first); as simulated when the policy is none or `baseline` is false. */
  async withBaseline(req: RunRequest, baseline = true): Promise<RunResult> {
    if (req.policy === "none" || !baseline) return this.run(req);
    const b = await this.run(baselineRequest(req));
    return withBaseline(await this.run(req), b);
  }
}
