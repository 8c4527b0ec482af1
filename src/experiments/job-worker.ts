/**
 * The body of one job-pool worker (job-pool.ts): takes one job at a time, runs it in this
 * thread, posts progress (at most one message per simulated 1% of the run) and then the result
 * or the error as plain data. The pool owns this worker and terminates it.
 */
import { HostMemoryExhaustedError } from "../sim/index.ts";
import { runJobHere, type FromWorker, type ToWorker } from "./job-pool.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const { seq, job } = e.data;
  let lastPct = -1;
  const onProgress = (tSec: number, durationSec: number) => {
    const pct = Math.floor((100 * tSec) / Math.max(durationSec, 1e-9));
    if (pct === lastPct) return;
    lastPct = pct;
    post({ type: "progress", seq, tSec, durationSec });
  };
  try {
    post({ type: "done", seq, output: await runJobHere(job, onProgress) });
  } catch (err) {
    const x = err instanceof Error ? err : new Error(String(err));
    const u = x as Error & { run?: unknown; reason?: unknown };
    post({
      type: "error", seq, name: x.name, message: x.message, stack: x.stack,
      ...(typeof u.run === "string" ? { run: u.run } : {}), ...(typeof u.reason === "string" ? { reason: u.reason } : {}),
      ...(x instanceof HostMemoryExhaustedError ? { state: x.state, freeFrames: x.freeFrames } : {}),
    });
  }
};
