/**
 * A pool of simulation jobs: independent simulations run side by side, one per core.
 *
 * A job is plain data (a RunRequest with its WorkloadSpec object, a figure-5 merge-cost
 * measurement, or a side-channel attack's measurement), so it can be posted to a Bun Worker
 * (job-worker.ts) by structured clone; the worker runs it and posts the result back. The pool
 * keeps `jobs` workers, starts them all on first use (so each one's start-up overlaps the
 * others' work) and terminates them in close(). A free worker takes the queued job that comes
 * first in dispatch order: higher `priority` first (a caller whose jobs gate later submissions,
 * e.g. density's search, which asks for guest count n + 1 only after n, raises it so its chain
 * never waits behind the bulk), then the larger cost estimate (job-cost.ts: longest first, LPT,
 * from the request alone, never the wall clock), then submission order. With `jobs: 1` there are
 * no workers: jobs run in this thread one after another, in submission order, exactly as before
 * the pool existed.
 *
 * Determinism: a simulation is a function of its request (seed, workload, policy, options and
 * the calibration file), so where and beside what it runs changes only its wall-clock
 * `measured` block. Callers gather results by position (the promise of each job), never in
 * completion order, so every deterministic output is the same for any `jobs`.
 *
 * Failures: an error in a job rejects that job's promise with JobError naming the job (an
 * UnavailableError stays one, so suites still record the run as skipped; a
 * HostMemoryExhaustedError too, with its message, so density counts the run as lost); a worker that dies
 * (uncaught error, out of memory, exit) fails the job it held and is replaced, so nothing waits
 * forever. close() terminates every worker and rejects jobs still queued.
 *
 * `measured.concurrentJobs` of a run: the most jobs that ran at once (this one included) at any
 * time while it ran, so a wall-clock figure taken beside other work says so (1: it ran alone).
 */
import os from "node:os";
import { VmdedupError } from "../hypervisor/index.ts";
import { HostMemoryExhaustedError, type Measured, type RunResult } from "../sim/index.ts";
import { UnavailableError } from "./errors.ts";
import { measureAttack, type AttackMeasurement, type AttackRequest } from "./attack/attack.ts";
import { measureMergeCost, type MergeCost, type MergeCostArgs } from "./figures/merge-cost.ts";
import { estimateJobCost } from "./job-cost.ts";
import { runOnce, type RunRequest } from "./run.ts";

/** A job as the pool and its workers exchange it; `id` names it in progress lines and errors. */
export type Job =
  | { kind: "run"; id: string; req: RunRequest }
  | { kind: "merge-cost"; id: string; args: MergeCostArgs }
  | { kind: "attack"; id: string; req: AttackRequest };
export type JobOutput<J extends Job> = J extends { kind: "run" } ? PooledRunResult : J extends { kind: "attack" } ? AttackMeasurement : MergeCost;
type AnyOutput = PooledRunResult | MergeCost | AttackMeasurement;

/** How a job is queued: `priority` (default 0) goes before the cost estimate in dispatch order; `onStart` is called when it is handed to a worker (or, in-thread, begins). */
export interface JobOptions {
  onProgress?: JobProgress;
  priority?: number;
  onStart?: () => void;
}

/** A run's wall-clock figures plus how many jobs ran beside it. */
export type PooledMeasured = Measured & { concurrentJobs: number };
export type PooledRunResult = RunResult & { measured: PooledMeasured };

/** A job that failed: `job` is its id ("kernel-build/ksm/w0"). */
export class JobError extends VmdedupError {
  constructor(
    readonly job: string,
    message: string,
  ) {
    super(`${job}: ${message}`);
  }
}

/** Messages between the pool and job-worker.ts. */
export type ToWorker = { type: "job"; seq: number; job: Job };
export type FromWorker =
  | { type: "progress"; seq: number; tSec: number; durationSec: number }
  | { type: "done"; seq: number; output: AnyOutput }
  | { type: "error"; seq: number; name: string; message: string; stack?: string; run?: string; reason?: string; state?: string; freeFrames?: number };

export type JobProgress = (tSec: number, durationSec: number) => void;

/** The default job count: one per core this process may use. */
export const defaultJobs = (): number => Math.max(1, os.availableParallelism());

interface Pending {
  seq: number;
  job: Job;
  priority: number;
  /** estimateJobCost(job), computed once when queued. */
  cost: number;
  onProgress?: JobProgress;
  onStart?: () => void;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Most jobs running at once while this one ran. */
  concurrent: number;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
}

/** Index in `queue` of the job to hand out next: highest priority, then largest cost estimate, then first queued (-1 when empty). */
export function nextJobIndex(queue: readonly { seq: number; priority: number; cost: number }[]): number {
  let best = queue.length > 0 ? 0 : -1;
  for (let i = 1; i < queue.length; i++) {
    const a = queue[i]!;
    const b = queue[best]!;
    if (a.priority > b.priority || (a.priority === b.priority && (a.cost > b.cost || (a.cost === b.cost && a.seq < b.seq)))) best = i;
  }
  return best;
}

const WORKER_URL = new URL("./job-worker.ts", import.meta.url).href;

/** The error a worker reported, rebuilt in this thread. */
export function rebuildError(job: Job, m: Extract<FromWorker, { type: "error" }>): Error {
  if (m.name === "UnavailableError") return new UnavailableError(m.run ?? job.id, m.reason ?? m.message);
  // a run whose host ran out of memory is a result (density counts it as lost), not a failure
  if (m.name === "HostMemoryExhaustedError") return new HostMemoryExhaustedError(m.message, m.state ?? "", m.freeFrames ?? 0);
  const e = new JobError(job.id, `${m.name}: ${m.message}`);
  if (m.stack) e.stack = `${e.name}: ${e.message}\n(in the worker) ${m.stack}`;
  return e;
}

/** Runs one job in this thread (the jobs: 1 path, and what each worker does). */
export async function runJobHere(job: Job, onProgress?: JobProgress): Promise<AnyOutput> {
  if (job.kind === "merge-cost") return measureMergeCost(job.args);
  if (job.kind === "attack") return measureAttack(job.req);
  const r = await runOnce(job.req, onProgress);
  return { ...r, measured: { ...r.measured, concurrentJobs: 1 } };
}

export class JobPool {
  readonly jobs: number;
  private readonly queue: Pending[] = [];
  private readonly slots: Slot[] = [];
  private readonly running = new Set<Pending>();
  private seq = 0;
  private closed = false;
  private dispatchQueued = false;
  /** The in-thread chain when jobs is 1. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(o: { jobs?: number } = {}) {
    const n = o.jobs ?? defaultJobs();
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new RangeError(`jobs must be an integer from 1 to 1024, got ${n}`);
    this.jobs = n;
  }

  /** Queues `job`; resolves with its output, rejects with UnavailableError or JobError. `o`: a progress callback, or the options. */
  run<J extends Job>(job: J, o?: JobProgress | JobOptions): Promise<JobOutput<J>> {
    const { onProgress, priority = 0, onStart } = typeof o === "function" ? { onProgress: o } : (o ?? {});
    if (this.closed) return Promise.reject(new JobError(job.id, "the job pool is closed"));
    if (this.jobs === 1) {
      const p = this.serial.then(() => (onStart?.(), runJobHere(job, onProgress))).catch((e: unknown) => {
        throw e instanceof UnavailableError || e instanceof JobError || e instanceof HostMemoryExhaustedError ? e : new JobError(job.id, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      });
      this.serial = p.catch(() => {});
      return p as Promise<JobOutput<J>>;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ seq: this.seq++, job, priority, cost: estimateJobCost(job), onProgress, onStart, resolve: resolve as (v: unknown) => void, reject, concurrent: 0 });
      // start every worker with the first job, so their start-ups overlap rather than follow one another
      while (this.slots.length < this.jobs) this.spawn();
      // hand out at the end of this turn: jobs queued together (a suite's list) are ranked together
      if (!this.dispatchQueued) {
        this.dispatchQueued = true;
        queueMicrotask(() => {
          this.dispatchQueued = false;
          if (!this.closed) this.dispatch();
        });
      }
    });
  }

  /** Terminates every worker; jobs still queued or running are rejected. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new JobError(p.job.id, "the job pool was closed before the job ran"));
    for (const s of this.slots.splice(0)) {
      if (s.current) s.current.reject(new JobError(s.current.job.id, "the job pool was closed while the job ran"));
      s.worker.terminate();
    }
    this.running.clear();
    await this.serial.catch(() => {});
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.current === null);
      if (!slot && this.slots.length < this.jobs) slot = this.spawn();
      if (!slot) return;
      const p = this.queue.splice(nextJobIndex(this.queue), 1)[0]!;
      slot.current = p;
      this.running.add(p);
      for (const q of this.running) q.concurrent = Math.max(q.concurrent, this.running.size);
      slot.worker.postMessage({ type: "job", seq: p.seq, job: p.job } satisfies ToWorker);
      p.onStart?.();
    }
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(WORKER_URL), current: null };
    slot.worker.onmessage = (e: MessageEvent<FromWorker>) => this.message(slot, e.data);
    slot.worker.onerror = (e: ErrorEvent) => this.lost(slot, `the worker failed: ${e.message || "uncaught error"}`);
    slot.worker.addEventListener("close", () => this.lost(slot, "the worker exited"));
    this.slots.push(slot);
    return slot;
  }

  private message(slot: Slot, m: FromWorker): void {
    const p = slot.current;
    if (!p || p.seq !== m.seq) return;
    if (m.type === "progress") {
      p.onProgress?.(m.tSec, m.durationSec);
      return;
    }
    this.finish(slot);
    if (m.type === "done") {
      const out = m.output;
      p.resolve("measured" in out ? { ...out, measured: { ...out.measured, concurrentJobs: p.concurrent } } : out);
    } else p.reject(rebuildError(p.job, m));
    this.dispatch();
  }

  /** A worker died: fail its job, drop it, and let a fresh worker take the queue. */
  private lost(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    const p = slot.current;
    if (p) {
      this.finish(slot);
      p.reject(new JobError(p.job.id, why));
    }
    slot.worker.terminate();
    if (!this.closed) this.dispatch();
  }

  private finish(slot: Slot): void {
    if (slot.current) this.running.delete(slot.current);
    slot.current = null;
  }
}

/** Runs `f` with a pool of `jobs`, terminating its workers whatever happens. */
export async function withJobPool<T>(jobs: number, f: (pool: JobPool) => Promise<T>): Promise<T> {
  const pool = new JobPool({ jobs });
  try {
    return await f(pool);
  } finally {
    await pool.close();
  }
}
