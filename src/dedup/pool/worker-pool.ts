/**
 * WorkerPool: a FrameHasher that hashes ahead of the scanner on N Bun workers (protocol.ts).
 *
 * Algorithm. The scanner (the owner) still visits pages one by one in the single-thread order and
 * calls hashFrame(slot, frame) when a visit needs a hash. The pool keeps two chunks of upcoming
 * visits, A (being consumed) and B (being hashed ahead), each up to `chunk` (slot, frame) pairs
 * peeked from the scanner's VisitOrder (order.peek through the policy's HashAheadFilter: the same
 * order and the same "would a visit hash it" predicate the scanner's batch loop and visit use;
 * read-only; a peek examines at most PEEK_WINDOW_CHUNKS chunks' worth of positions). At
 * hashFrame(slot, frame), for an ascending order (positions are slots: AscendingOrder):
 *   - slot lies in A's remaining range: advance A's pointer to it (the slots ascend);
 *   - else slot lies in B's range: retire A (close its buffer, wait for claimed sub-chunks),
 *     B becomes A and the freed buffer is refilled with the chunk after it (workers hash it
 *     while the owner consumes A: the pipeline);
 *   - else a forward gap (a page written since the peek): hashed inline, still in step;
 *   - else the pool is out of step (a new pass B does not cover): resync = drop both chunks and
 *     peek two new ones after the cursor, with a doubling back-off while the chunks served under
 *     1/8 of their pages (a policy that hashes only a few of the pages it visits).
 * A shuffled order (esx's ShuffledOrder, ascending = false) is matched by position instead: the request
 * is looked for in a short window after A's pointer, then at B's start (serveInOrder).
 * If the position is found and the frame and the generation match (protocol.ts, "Validity"), the
 * owner takes the worker's hash once its sub-chunk is done; when no worker has claimed that
 * sub-chunk yet the owner claims and hashes it itself, and while a worker holds it the owner
 * hashes the next unclaimed one rather than idle (ensureDone). In every other case it hashes
 * inline. pagesHashed counts one per call either way, so every counter and merge is the same for
 * every worker count.
 *
 * Workers start lazily with the first chunk (a scanner that never hashes spawns nothing); until
 * one is READY the owner hashes inline.
 *
 * Faults: waiting on a sub-chunk gives up after faultMillis and rebuilds the pool; a worker that
 * dies is replaced (pool-workers.ts). Results are only ever a cache, validated per visit.
 *
 * Size: about 400 lines, at the guideline (its worker lifecycle and config already moved to
 * pool-workers.ts and pool-config.ts).
 */
import { SEGMENT_FRAMES, type MachineMemory } from "../../hypervisor/index.ts";
import type { FrameHasher } from "../fingerprint.ts";
import type { HashAheadFilter, PeekResult, VisitOrder } from "../visit-order.ts";
import { DEFAULT_CHUNK, MATCH_WINDOW, MISSES_BEFORE_RESYNC, PEEK_WINDOW_CHUNKS, type Chunk, type PoolCounters, type PoolOptions } from "./pool-config.ts";
import { PoolWorkers } from "./pool-workers.ts";
import {
  CLOSED, CUR, FAULT_AFTER, FAULT_KIND, FAULT_WORKER, N, NSUB, READY, SEQ, SUB, SUB_SHIFT, WAKE,
  bufWord, checkChunk, hashRange, type FrameReader, type PoolViews,
} from "./protocol.ts";

const tmp64 = new BigUint64Array(1);
const tmp32 = new Uint32Array(tmp64.buffer);


export class WorkerPool implements FrameHasher {
  hi = 0;
  lo = 0;
  pagesHashed = 0;
  private readonly tally: PoolCounters = { hits: 0, misses: 0, chunks: 0, resyncs: 0, restarts: 0, waits: 0, ownerSubchunks: 0, dispatchNs: 0 };
  readonly chunkSize: number;
  readonly faultMillis: number;
  private readonly crew: PoolWorkers;
  private v!: PoolViews; // the current incarnation's views (set by start(), used only while crew.running)
  private readonly reader: FrameReader;
  private readonly gen: Uint32Array;
  private readonly chunks: [Chunk, Chunk];
  private cur = -1; // buffer index of A
  private nxt = -1; // buffer index of B
  private seqCounter = 0;
  private closed = false;
  private hitsAtResync = 0;
  private backoff = 0;
  private skipResyncs = 0;
  private pagesSent = 0;
  private readonly probe = new Int32Array(1);
  private readonly peekResult: PeekResult = { passEnd: true, lastPosition: -1 };
  private lastSlot = -1; // the slot of the previous hashFrame call
  private inOrderMisses = 0; // non-ascending orders: requests in a row not found in the chunks
  private sentAtResync = 0;
  private readonly nWorkers: number;

  constructor(
    private readonly memory: MachineMemory,
    private readonly order: VisitOrder,
    private readonly filter: HashAheadFilter,
    opts: PoolOptions,
  ) {
    if (SEGMENT_FRAMES !== 1 << 18) throw new Error("pool protocol assumes 2^18-frame segments");
    this.chunkSize = opts.chunk ?? DEFAULT_CHUNK;
    checkChunk(this.chunkSize);
    this.faultMillis = opts.faultMillis ?? 250;
    this.nWorkers = opts.workers;
    this.reader = { segments: memory.segments, gen: memory.frameWriteGen };
    this.gen = memory.frameWriteGen;
    const mk = (): Chunk => ({ slots: new Int32Array(this.chunkSize), n: 0, seq: 0, ptr: 0, passEnd: false, nextAfter: -1 });
    this.chunks = [mk(), mk()];
    this.crew = new PoolWorkers(memory, this.reader, this.chunkSize, this.nWorkers, () => this.tally.restarts++);
  }

  /** The pool's counters (a live read-only view). */
  get counters(): Readonly<PoolCounters> {
    return this.tally;
  }

  /** The live workers (tests may terminate one to simulate a crash). */
  get workers(): Worker[] {
    return this.crew.workers;
  }

  // ---- FrameHasher ----------------------------------------------------------------------------
  hashFrame(slot: number, frame: number): void {
    this.pagesHashed++;
    if (!this.closed) {
      if (this.serve(slot, frame)) {
        this.tally.hits++;
        return;
      }
    }
    this.tally.misses++;
    const off = (frame & 0x3ffff) << 12;
    tmp64[0] = Bun.hash.xxHash3(this.memory.segments[frame >>> 18]!.subarray(off, off + 4096));
    this.lo = tmp32[0]!;
    this.hi = tmp32[1]!;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.crew.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
    await Promise.race([Promise.all(this.crew.closing), timeout]);
    clearTimeout(timer);
  }

  /** Starts the workers now (they start lazily otherwise) and resolves once all are up. */
  async started(): Promise<void> {
    if (this.closed) return;
    if (!this.crew.running) this.start();
    while (this.crew.running && Atomics.load(this.v.ctl, READY) < this.nWorkers) await Bun.sleep(1);
  }

  /** Test hook: worker `index` dies half-way through its `afterClaims`-th sub-chunk. */
  injectFault(index: number, afterClaims: number, kind: "throw" | "exit"): void {
    if (!this.crew.running) this.start();
    Atomics.store(this.v.ctl, FAULT_KIND, kind === "exit" ? 2 : 1);
    Atomics.store(this.v.ctl, FAULT_AFTER, afterClaims);
    Atomics.store(this.v.ctl, FAULT_WORKER, index);
  }

  // ---- lookup ---------------------------------------------------------------------------------
  /** Finds slot in A or B (moving the pipeline on) and serves the worker's hash if valid. */
  private serve(slot: number, frame: number): boolean {
    if (!this.order.ascending) return this.serveInOrder(slot, frame);
    const prev = this.lastSlot;
    this.lastSlot = slot;
    let b = this.cur;
    if (b >= 0) {
      const c = this.chunks[b]!;
      if (c.ptr < c.n && slot >= c.slots[c.ptr]! && slot <= c.slots[c.n - 1]!) return this.take(b, c, slot, frame);
    }
    b = this.nxt;
    if (b >= 0) {
      const c = this.chunks[b]!;
      if (slot >= c.slots[0]! && slot <= c.slots[c.n - 1]!) {
        if (this.inefficient()) {
          this.resync(); // backs off
          return false;
        }
        if (this.cur >= 0) this.retire(this.cur);
        if (!this.crew.running) return false; // a fault rebuilt the pool while retiring
        this.cur = b;
        this.nxt = -1;
        this.refill();
        return this.cur === b && this.take(b, c, slot, frame);
      }
    }
    // Moving forward into a gap the chunks do not list (a page written since the peek, or past
    // the peek's window): hash inline and stay in step. Only a jump back (a new pass that B
    // does not cover) or past B means the pool is out of step.
    const nb = this.nxt >= 0 ? this.chunks[this.nxt]! : null;
    if ((this.cur >= 0 || nb) && slot > prev && (!nb || slot < nb.slots[0]!)) return false;
    this.resync();
    return false;
  }

  /**
   * Lookup for a visit order that is not ascending (esx): the request should be at A's pointer or
   * a few positions after it (pages that vanished or stopped needing a hash since the peek are
   * passed over), else at the start of B. Anything else (a hint re-hash, a page written since the
   * peek) is hashed inline; only a long run of misses means a new pass or lost step: resync.
   */
  private serveInOrder(slot: number, frame: number): boolean {
    if (this.cur >= 0) {
      const c = this.chunks[this.cur]!;
      const end = Math.min(c.n, c.ptr + MATCH_WINDOW);
      for (let p = c.ptr; p < end; p++) {
        if (c.slots[p] !== slot) continue;
        this.inOrderMisses = 0;
        c.ptr = p + 1;
        return this.takeAt(this.cur, c, p, frame);
      }
      if (end === c.n && this.nxt >= 0) {
        const b = this.nxt;
        const nb = this.chunks[b]!;
        const endB = Math.min(nb.n, MATCH_WINDOW - (c.n - c.ptr));
        for (let p = 0; p < endB; p++) {
          if (nb.slots[p] !== slot) continue;
          this.inOrderMisses = 0;
          this.retire(this.cur);
          if (!this.crew.running) return false; // a fault rebuilt the pool while retiring
          this.cur = b;
          this.nxt = -1;
          this.refill();
          if (this.cur !== b) return false;
          nb.ptr = p + 1;
          return this.takeAt(b, nb, p, frame);
        }
      }
    }
    if (++this.inOrderMisses >= MISSES_BEFORE_RESYNC || (this.cur < 0 && this.nxt < 0 && this.inOrderMisses >= SUB)) {
      this.inOrderMisses = 0;
      this.resync();
    }
    return false;
  }

  private take(b: number, c: Chunk, slot: number, frame: number): boolean {
    const slots = c.slots;
    let p = c.ptr;
    while (p < c.n && slots[p]! < slot) p++;
    if (p >= c.n || slots[p] !== slot) {
      c.ptr = p;
      return false; // a page the peek did not list (became populated/registered since)
    }
    c.ptr = p + 1;
    return this.takeAt(b, c, p, frame);
  }

  /** Serves position p of buffer b if the worker hashed exactly this frame at this generation. */
  private takeAt(b: number, c: Chunk, p: number, frame: number): boolean {
    const v = this.v.bufs[b]!;
    const g = this.gen[frame]!;
    if (v.frames[p] !== frame || v.expect[p] !== g) return false;
    if (!this.ensureDone(b, c, p >>> SUB_SHIFT)) return false;
    if (v.genBefore[p] !== g || v.genAfter[p] !== g) return false;
    this.lo = v.hash32[2 * p]!;
    this.hi = v.hash32[2 * p + 1]!;
    return true;
  }

  /**
   * Sub-chunk j of buffer b done by a worker; or, when no worker has claimed it yet (the owner
   * caught up with the workers), the owner claims it (and the unclaimed ones before it, which it
   * has already passed and so never reads) and hashes it itself instead of waiting for a wake-up.
   * Only a sub-chunk a worker is hashing right now is waited for (about 64 hashes).
   */
  private ensureDone(b: number, c: Chunk, j: number): boolean {
    if (c.seq === 0) return false;
    const v = this.v.bufs[b]!;
    if (Atomics.load(v.done, j) === c.seq) return true;
    const ctl = this.v.ctl;
    const w = bufWord(b, CUR);
    const nsub = (c.n + SUB - 1) >>> SUB_SHIFT;
    for (;;) {
      if (Atomics.load(v.done, j) === c.seq) return true;
      const claimed = Atomics.load(ctl, w);
      if (claimed <= j) {
        if (Atomics.compareExchange(ctl, w, claimed, j + 1) !== claimed) continue;
        for (let k = claimed; k < j; k++) Atomics.store(v.done, k, c.seq); // passed: never read
        this.hashSub(b, c, j);
        return true;
      }
      // A worker is hashing j: rather than wait, take the next unclaimed sub-chunk (work sharing).
      if (claimed >= nsub) break;
      const k = Atomics.add(ctl, w, 1);
      if (k >= nsub) break;
      this.hashSub(b, c, k);
    }
    return this.waitDone(b, c, j);
  }

  private hashSub(b: number, c: Chunk, j: number): void {
    const v = this.v.bufs[b]!;
    hashRange(this.reader, v, j << SUB_SHIFT, Math.min(c.n, (j + 1) << SUB_SHIFT));
    Atomics.store(v.done, j, c.seq);
    this.tally.ownerSubchunks++;
  }

  /** Waits until sub-chunk j of buffer b is done; false (hash inline) if no worker is up yet or on a fault. */
  private waitDone(b: number, c: Chunk, j: number): boolean {
    if (c.seq === 0) return false;
    const done = this.v.bufs[b]!.done;
    let d = Atomics.load(done, j);
    if (d === c.seq) return true;
    if (Atomics.load(this.v.ctl, READY) === 0) return false;
    this.tally.waits++;
    for (let spin = 0; spin < 2000; spin++) if (Atomics.load(done, j) === c.seq) return true;
    const deadline = performance.now() + this.faultMillis;
    for (;;) {
      d = Atomics.load(done, j);
      if (d === c.seq) return true;
      if (performance.now() > deadline) {
        this.rebuild();
        return false;
      }
      Atomics.wait(done, j, d, 2);
    }
  }

  // ---- pipeline -------------------------------------------------------------------------------
  /** Fills buffer b with up to chunkSize visits after position `after` (VisitOrder.peek) and opens it. */
  private dispatch(b: number, after: number): boolean {
    const t0 = Bun.nanoseconds();
    const c = this.chunks[b]!;
    const v = this.v.bufs[b]!;
    const peek = this.peekResult;
    const window = PEEK_WINDOW_CHUNKS * this.chunkSize;
    let n = this.order.peek(after, c.slots, v.frames, this.chunkSize, window, peek, this.filter);
    if (n === 0 && peek.passEnd && after >= 0) n = this.order.peek(-2, c.slots, v.frames, this.chunkSize, window, peek, this.filter);
    c.n = n;
    c.ptr = 0;
    c.seq = 0;
    if (n === 0) return false;
    c.passEnd = peek.passEnd;
    c.nextAfter = peek.lastPosition;
    const gen = this.gen;
    const frames = v.frames;
    const expect = v.expect;
    for (let i = 0; i < n; i++) expect[i] = gen[frames[i]!]!;
    c.seq = ++this.seqCounter;
    const ctl = this.v.ctl;
    Atomics.store(ctl, bufWord(b, N), n);
    Atomics.store(ctl, bufWord(b, NSUB), (n + SUB - 1) >>> SUB_SHIFT);
    Atomics.store(ctl, bufWord(b, SEQ), c.seq);
    Atomics.store(ctl, bufWord(b, CUR), 0);
    Atomics.add(ctl, WAKE, 1);
    Atomics.notify(ctl, WAKE);
    this.tally.chunks++;
    this.pagesSent += n;
    this.tally.dispatchNs += Bun.nanoseconds() - t0;
    return true;
  }

  /** Closes buffer b: no new claims; waits for the claimed sub-chunks (so it can be refilled). */
  private retire(b: number): void {
    const c = this.chunks[b]!;
    if (c.seq === 0) return;
    const old = Atomics.exchange(this.v.ctl, bufWord(b, CUR), CLOSED);
    const claimed = Math.min(old, (c.n + SUB - 1) >>> SUB_SHIFT);
    for (let j = 0; j < claimed; j++) if (!this.waitDone(b, c, j)) return; // rebuilt: buffers are new
    c.seq = 0;
  }

  /** B := the chunk after A (A is this.cur). */
  private refill(): void {
    const a = this.chunks[this.cur]!;
    const b = 1 - this.cur;
    const after = a.passEnd ? -2 : a.nextAfter;
    if (this.dispatch(b, after)) this.nxt = b;
  }

  /** Whether the chunks sent since the last resync served none or under 1/8 of their pages. */
  private inefficient(): boolean {
    const sent = this.pagesSent - this.sentAtResync;
    const served = this.tally.hits - this.hitsAtResync;
    return sent > 0 && (served === 0 || (sent >= 4 * SUB && served * 8 < sent));
  }

  private resync(): void {
    if (this.skipResyncs > 0) {
      this.skipResyncs--;
      return;
    }
    this.tally.resyncs++;
    const backOff = this.inefficient();
    this.hitsAtResync = this.tally.hits;
    this.sentAtResync = this.pagesSent;
    if (this.cur >= 0) this.retire(this.cur);
    if (this.nxt >= 0) this.retire(this.nxt);
    this.cur = this.nxt = -1;
    if (backOff) {
      // hash inline for the next `backoff` misses (doubling, at most 4 chunks' worth)
      this.backoff = Math.min(Math.max(this.backoff * 2, SUB), 4 * this.chunkSize);
      this.skipResyncs = this.backoff;
      return;
    }
    this.backoff = 0;
    if (!this.crew.running) {
      // not started yet, or rebuilt after a fault: start workers only if there is work
      if (this.order.peek(-1, this.probe, this.probe, 1, Infinity, undefined, this.filter) === 0) return;
      this.start();
    }
    if (!this.dispatch(0, -1)) return;
    this.cur = 0;
    this.refill();
  }

  // ---- workers (pool-workers.ts) -------------------------------------------------------------
  private start(): void {
    this.v = this.crew.start();
    this.chunks[0].seq = this.chunks[1].seq = 0;
    this.cur = this.nxt = -1;
  }

  /** A sub-chunk never came back: drop every worker and the shared buffer, start afresh. */
  private rebuild(): void {
    this.tally.restarts++;
    this.crew.stop(true); // next hashFrame starts a new incarnation; this call hashes inline
    this.cur = this.nxt = -1;
  }
}
