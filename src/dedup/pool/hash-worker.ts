/**
 * A hashing worker of the pool (protocol: protocol.ts). It receives one message,
 *   { memory: SharedMemoryHandles, pool: SharedArrayBuffer, chunk, index }
 * and then never returns to its event loop: it claims 64-page sub-chunks of the open chunks
 * with Atomics.add, hashes them in place, publishes done[j] = seq, and sleeps in Atomics.wait on
 * WAKE when there is no work. It leaves on STOP (or is terminated; Bun interrupts Atomics.wait).
 * The handler is installed synchronously at module start (Bun drops messages that arrive before).
 */
import type { SharedMemoryHandles } from "../../hypervisor/index.ts";
import {
  CLOSED, CUR, FAULT_AFTER, FAULT_EXIT, FAULT_KIND, FAULT_WORKER, N, NSUB, READY, SEQ, STOP, SUB, SUB_SHIFT, WAKE,
  bufWord, claimBWord, claimJWord, claimSeqWord, hashRange, poolViews, type FrameReader, type PoolViews,
} from "./protocol.ts";

export interface WorkerInit {
  memory: SharedMemoryHandles;
  pool: SharedArrayBuffer;
  chunk: number;
  index: number;
}

declare const self: Worker;

self.onmessage = (e: MessageEvent<WorkerInit>) => {
  self.onmessage = null;
  run(e.data);
};

function run(init: WorkerInit): void {
  const mem: FrameReader = {
    segments: init.memory.segments.map((b) => new Uint8Array(b)),
    gen: new Uint32Array(init.memory.writeGen),
  };
  const views = poolViews(init.pool, init.chunk);
  const ctl = views.ctl;
  const me = init.index;
  let claims = 0;
  Atomics.add(ctl, READY, 1);
  for (;;) {
    if (Atomics.load(ctl, STOP) !== 0) return;
    const wake = Atomics.load(ctl, WAKE);
    // older chunk (lower seq) first
    const older = Atomics.load(ctl, bufWord(0, SEQ)) <= Atomics.load(ctl, bufWord(1, SEQ)) ? 0 : 1;
    let did = false;
    for (let k = 0; k < 2 && !did; k++) {
      const b = k === 0 ? older : 1 - older;
      if (Atomics.load(ctl, bufWord(b, CUR)) >= CLOSED) continue;
      for (;;) {
        const j = Atomics.add(ctl, bufWord(b, CUR), 1);
        const nsub = Atomics.load(ctl, bufWord(b, NSUB));
        if (j >= nsub) break;
        did = true;
        claims++;
        hashSub(views, mem, me, b, j, claims);
      }
    }
    if (!did) Atomics.wait(ctl, WAKE, wake);
  }
}

function hashSub(views: PoolViews, mem: FrameReader, me: number, b: number, j: number, claims: number): void {
  const ctl = views.ctl;
  const v = views.bufs[b]!;
  const seq = Atomics.load(ctl, bufWord(b, SEQ));
  const n = Atomics.load(ctl, bufWord(b, N));
  Atomics.store(ctl, claimBWord(me), b);
  Atomics.store(ctl, claimJWord(me), j);
  Atomics.store(ctl, claimSeqWord(me), seq);
  const from = j << SUB_SHIFT;
  const to = Math.min(n, from + SUB);
  if (Atomics.load(ctl, FAULT_WORKER) === me && Atomics.load(ctl, FAULT_AFTER) === claims) {
    hashRange(mem, v, from, from + ((to - from) >> 1)); // die half-way through the sub-chunk
    if (Atomics.load(ctl, FAULT_KIND) === FAULT_EXIT) process.exit(7);
    throw new Error(`hash worker ${me}: injected fault in sub-chunk ${j} of chunk ${seq}`);
  }
  hashRange(mem, v, from, to);
  Atomics.store(v.done, j, seq);
  Atomics.notify(v.done, j);
  Atomics.store(ctl, claimSeqWord(me), 0);
}
