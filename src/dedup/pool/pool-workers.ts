/**
 * The worker threads of a WorkerPool and the shared buffer they hash into, one "incarnation" at
 * a time (see "Faults" below): start() makes a fresh shared buffer and spawns the
 * workers; a worker that dies while its incarnation is current is replaced at once, after its
 * claimed sub-chunk is re-run by the owner (no page is lost or hashed twice); stop() terminates
 * them all, and stop(true) also drops the buffer, so that a late write of a stuck worker cannot
 * land in a buffer that is reused.
 *
 * Faults. The owner never blocks for long: waiting on a sub-chunk gives up after faultMillis and
 * then rebuilds the pool (terminates every worker, new shared buffer so that a late write of a
 * stuck worker cannot land in a reused chunk, new workers) and hashes inline. A worker that dies
 * while the owner is idle is seen through its "close" event: its claimed sub-chunk is re-run by
 * the owner and the worker replaced. Either way no page is lost or counted twice: results are
 * only ever a cache, validated per visit.
 */
import type { MachineMemory } from "../../hypervisor/index.ts";
import type { WorkerInit } from "./hash-worker.ts";
import {
  CLOSED, CUR, FAULT_WORKER, N, SEQ, STOP, SUB_SHIFT, WAKE,
  bufWord, claimBWord, claimJWord, claimSeqWord, hashRange, poolBufferBytes, poolViews,
  type FrameReader, type PoolViews,
} from "./protocol.ts";

const WORKER_URL = new URL("./hash-worker.ts", import.meta.url).href;

export class PoolWorkers {
  /** The live workers (tests may terminate one to simulate a crash). */
  workers: Worker[] = [];
  private sab: SharedArrayBuffer | null = null;
  private views: PoolViews | null = null;
  private incarnation = 0;
  private closed = false;
  /** Resolves as each worker ever spawned closes (close() waits for them). */
  readonly closing: Promise<void>[] = [];

  constructor(
    private readonly memory: MachineMemory,
    private readonly reader: FrameReader,
    private readonly chunkSize: number,
    private readonly nWorkers: number,
    /** Called once per worker replaced after it died. */
    private readonly onRestart: () => void,
  ) {}

  /** An incarnation is up (workers spawned, buffer live). */
  get running(): boolean {
    return this.sab !== null;
  }

  /** A new incarnation: fresh buffer (both chunk buffers CLOSED), N new workers. Returns its views. */
  start(): PoolViews {
    this.incarnation++;
    this.sab = new SharedArrayBuffer(poolBufferBytes(this.chunkSize));
    const v = poolViews(this.sab, this.chunkSize);
    this.views = v;
    Atomics.store(v.ctl, FAULT_WORKER, -1);
    for (let b = 0; b < 2; b++) Atomics.store(v.ctl, bufWord(b, CUR), CLOSED);
    this.workers = [];
    for (let i = 0; i < this.nWorkers; i++) this.workers.push(this.spawn(i));
    return v;
  }

  /** Terminates the workers of the current incarnation; `dropBuffer`: the next use starts a new one. */
  stop(dropBuffer = false): void {
    if (this.sab === null || this.views === null) return;
    const ctl = this.views.ctl;
    Atomics.store(ctl, STOP, 1);
    Atomics.add(ctl, WAKE, 1);
    Atomics.notify(ctl, WAKE);
    this.incarnation++;
    for (const w of this.workers) w.terminate();
    this.workers = [];
    if (dropBuffer) {
      this.sab = null;
      this.views = null;
    }
  }

  /** For good: no worker is replaced any more. */
  close(): void {
    this.closed = true;
    this.stop();
  }

  private spawn(index: number): Worker {
    const w = new Worker(WORKER_URL);
    const inc = this.incarnation;
    let onClose!: () => void;
    this.closing.push(new Promise<void>((r) => (onClose = r)));
    w.addEventListener("close", () => {
      onClose();
      if (!this.closed && inc === this.incarnation && this.workers[index] === w) this.replace(index);
    });
    w.addEventListener("error", () => {}); // a crash is handled on "close"
    w.unref();
    const init: WorkerInit = { memory: this.memory.handles(), pool: this.sab!, chunk: this.chunkSize, index };
    w.postMessage(init);
    return w;
  }

  /** Worker `index` died while the owner was idle: re-run its claimed sub-chunk, start a new one. */
  private replace(index: number): void {
    this.onRestart();
    const views = this.views!;
    const ctl = views.ctl;
    const seq = Atomics.load(ctl, claimSeqWord(index));
    if (seq !== 0) {
      const b = Atomics.load(ctl, claimBWord(index));
      const j = Atomics.load(ctl, claimJWord(index));
      const v = views.bufs[b]!;
      if (Atomics.load(ctl, bufWord(b, SEQ)) === seq && Atomics.load(v.done, j) !== seq) {
        const n = Atomics.load(ctl, bufWord(b, N));
        hashRange(this.reader, v, j << SUB_SHIFT, Math.min(n, (j + 1) << SUB_SHIFT));
        Atomics.store(v.done, j, seq);
      }
      Atomics.store(ctl, claimSeqWord(index), 0);
    }
    if (Atomics.load(ctl, FAULT_WORKER) === index) Atomics.store(ctl, FAULT_WORKER, -1);
    this.workers[index] = this.spawn(index);
  }
}
