/**
 * The owner's side of the hash policies' partitioned batches (vmdedup and esx) (issue 13, part 3): the index, the compares
 * and the merge decisions run in partitions by content fingerprint (partition-exec.ts says why
 * that is exact), on the partition workers and on the scanner's own thread; the owner applies
 * the resulting merges by handle in visit order, so results are the same for any worker count.
 *
 * A batch (PartitionEngine.run), after the scanner listed its visits (vSlot/vFrame, in the one
 * batch loop's order; visitSeq/visitPos per slot):
 *   1. room: every partition's index gets room for one insert per visit (only the owner grows a
 *      table; a grown table is a new layout, sent to the workers with the batch);
 *   2. the control words are reset and the batch is posted to each worker; the owner runs its
 *      own executor (phase H sub-chunks, then partitions), as the workers do;
 *   3. FAIL (a visit outside what partitions decide exactly): nothing was changed; run() returns
 *      false and the scanner visits the listed pages on its own thread, as without workers;
 *   4. otherwise, once every partition is done, the owner closes the batch (SEQ 0) and waits until
 *      no executor is inside it (a worker still asleep when the work ran out leaves at once when it
 *      wakes: the owner never waits for a wake-up), then applies the actions in
 *      position order (hv.mapZeroByHandle / hv.shareByHandle, MergedFrames notes, merges) and adds
 *      the partitions' counts (lookups, compares, compareBytes, zeroChecks, kind deltas).
 * Workers and choice. The workers are this thread's partition crew (dedup/pool/partition-crew.ts:
 * started once, warmed up, shared by every engine, kept after close()); started() also sends them
 * a first layout, so every executor's views of guest memory exist before the first batch. Which
 * batches run here at all is the chooser's (partition-chooser.ts) and the scanner's
 * (partitioned-scanner.ts) decision, from counts of pages hashed and of the workers' share.
 * Faults. A worker that dies between batches costs nothing (the others and the owner do its share).
 * One that dies in the middle of a partition leaves it half-decided: there is no undo, so the owner
 * stops waiting after timeoutMs and throws (the scanner's state is then unusable: close it).
 * Unlike the hash-ahead pool, this path does not recover from a crash inside a batch.
 */
import type { Hypervisor } from "../../hypervisor/index.ts";
import { VmdedupError } from "../../hypervisor/index.ts";
import type { Registration } from "../registration.ts";
import type { ScannerWork } from "../types.ts";
import type { HashIndex } from "./hash-index.ts";
import type { HashSlots } from "./hash-slots.ts";
import type { MergedFrames } from "./merged-frames.ts";
import { joinCrew, leaveCrew } from "../pool/partition-crew.ts";
import { PartitionChooser } from "./partition-chooser.ts";
import { PartitionExec, waitFor, waitZero } from "./partition-exec.ts";
import {
  Act, CHAINS, ENTER, FAIL, HASHED, HCUR, HDONE, MAX_PARTITIONS, MAX_SHARING, N, P, PCUR, PDONE, RES_STRIDE, R_COMPARE_BYTES, R_COMPARES, R_KIND,
  R_HASHED, R_LOOKUPS, R_ZERO_CHECKS, SEQ, POLICY, USE_ZERO, ZERO_FRAME, ZERO_HI, ZERO_LO, batchBytes, batchViews, type BatchViews, type PartitionLayout,
} from "./partition-layout.ts";

/**
 * Below this many pages a batch runs on the scanner's thread with the hash-ahead pool. Measured
 * (pool.bench.ts "small", 2,000-page batches 20 ms apart, this 2-core VM with its second core
 * mostly busy): partitions 1.5-2.2x the inline time per batch, the hash-ahead pool 0.6x; so the
 * simulator's batches and figure 6's (4,096) stay on the pool, and partitions take batches of the
 * size the merging benchmarks use (20,000). engine.minBatch overrides it (tests).
 */
export const MIN_PARTITIONED_BATCH = 8192;

export interface EngineParams {
  /** esx's visit and hint validation (re-hash) instead of vmdedup's (write generations). */
  esx: boolean;
  useZeroPages: boolean;
  maxPageSharing: number;
  zeroHi: number;
  zeroLo: number;
}

/** The engine's counters (engine.counters), since its creation. */
export interface EngineCounters {
  /** Batches decided in partitions. */
  batches: number;
  /** Batches of at least minBatch pages the scanner ran on its own thread because the chooser
   * (partition-chooser.ts) picked it (few pages to hash, or workers not helping). */
  serialChosen: number;
  /** Batches phase H failed (declined: run on the scanner's thread instead). */
  failed: number;
  /** Pages hashed in partitioned batches (phase H, and esx's hint re-hashes; the scanner adds
   * them to work().pagesHashed). */
  pagesHashed: number;
}

export class PartitionEngine {
  private b: BatchViews;
  private exec: PartitionExec | null = null;
  private workers: Worker[] = [];
  private ready: Promise<void>[] = [];
  private crewId = 0; // this engine's id in its workers (partition-crew.ts)
  private seq = 0;
  private sent: unknown[] = []; // the buffers of the last layout the workers got
  private layout: PartitionLayout | null = null;
  visitSeq = new Int32Array(new SharedArrayBuffer(0));
  visitPos = new Int32Array(new SharedArrayBuffer(0));
  readonly counters: EngineCounters = { batches: 0, serialChosen: 0, failed: 0, pagesHashed: 0 };
  private readonly chooser = new PartitionChooser();
  private readyWorkers = 0;
  /** false: every batch of minBatch pages or more runs in partitions (tests). */
  adaptive = true;
  /** false: the engine starts no workers; the scanner's thread runs every partition (a partition
   * worker's own warm-up, dedup/pool/partition-warmup.ts). */
  spawnWorkers = true;
  /** Batches of fewer pages run on the scanner's thread (MIN_PARTITIONED_BATCH; tests lower it). */
  minBatch = MIN_PARTITIONED_BATCH;
  private closed = false;

  constructor(
    private readonly hv: Hypervisor,
    private readonly slots: HashSlots,
    private readonly registration: Registration,
    private readonly parts: HashIndex[],
    private readonly merged: MergedFrames,
    private readonly work: ScannerWork,
    private readonly nWorkers: number,
    private readonly timeoutMs = 10_000,
  ) {
    if (parts.length > MAX_PARTITIONS) throw new VmdedupError(`at most ${MAX_PARTITIONS} partitions`);
    this.b = this.newBatch(1024);
  }

  private newBatch(capacity: number): BatchViews {
    return batchViews(new SharedArrayBuffer(batchBytes(capacity)), capacity);
  }

  /** The batch buffers for up to `visits` visits (listing writes vSlot/vFrame, visitSeq/visitPos). */
  begin(visits: number): BatchViews {
    if (this.b.capacity < visits) this.b = this.newBatch(Math.max(visits, 2 * this.b.capacity));
    const slots = this.hv.pageTable.slotCount;
    if (this.visitSeq.length < slots) {
      const n = Math.max(slots, 2 * this.visitSeq.length);
      this.visitSeq = new Int32Array(new SharedArrayBuffer(4 * n));
      this.visitPos = new Int32Array(new SharedArrayBuffer(4 * n));
    }
    this.seq = (this.seq % 0x7ffffffe) + 1;
    return this.b;
  }

  /** The number of the batch begin() opened (what visitSeq holds for its slots). */
  get batchSeq(): number {
    return this.seq;
  }

  /** Whether the next batch should run in partitions (partition-chooser.ts; the results are the same either way). */
  choosePartitioned(): boolean {
    if (this.closed) return false;
    if (!this.adaptive) return true;
    return this.chooser.partitioned();
  }

  /** Records a batch run on the scanner's thread: `visits` visits, `hashed` pages hashed;
   * `declined`: one run() declined (counted as failed), not one the chooser gave it. */
  noteSerial(visits: number, hashed: number, declined = false): void {
    this.chooser.note(false, visits, hashed, 0, false);
    if (!declined) this.counters.serialChosen++;
  }

  /** Spawns the workers now and resolves when each has started (they start at the first batch otherwise). */
  async started(): Promise<void> {
    if (this.workers.length === 0 && this.nWorkers > 0 && !this.closed) this.spawn();
    // each executor builds its views of guest memory, its comparer and frame overlay now (a
    // layout without a batch: seq 0), not inside the first batch; later layouts keep them
    const layout = this.closed ? undefined : this.currentLayout();
    if (layout) for (const w of this.workers) w.postMessage({ engine: this.crewId, seq: 0, layout, timeoutMs: this.timeoutMs });
    await Promise.all(this.ready);
  }

  private spawn(): void {
    if (!this.spawnWorkers) return;
    const c = joinCrew(this, this.nWorkers);
    this.crewId = c.id;
    this.workers = c.workers;
    this.ready = c.ready;
    for (const r of this.ready) void r.then(() => this.readyWorkers++);
  }

  /** Runs a listed batch of `n` visits in partitions; false: FAIL, nothing changed. */
  run(n: number, chainsPossible: boolean, params: EngineParams): boolean {
    if (this.closed) return false;
    if (this.workers.length === 0 && this.nWorkers > 0) this.spawn();
    for (const ix of this.parts) if (ix.room < n) ix.reserve(ix.count + n);
    const layout = this.currentLayout();
    const b = this.b;
    const ctl = b.ctl;
    for (const w of [HCUR, HDONE, PCUR, PDONE, FAIL, HASHED]) ctl[w] = 0;
    ctl[N] = n;
    ctl[P] = this.parts.length;
    ctl[USE_ZERO] = params.useZeroPages ? 1 : 0;
    ctl[MAX_SHARING] = params.maxPageSharing;
    ctl[ZERO_HI] = params.zeroHi | 0;
    ctl[ZERO_LO] = params.zeroLo | 0;
    ctl[CHAINS] = chainsPossible ? 1 : 0;
    ctl[ZERO_FRAME] = this.hv.zeroFrame;
    ctl[POLICY] = params.esx ? 1 : 0;
    Atomics.store(ctl, SEQ, this.seq);
    let waited = 0;
    for (const w of this.workers) w.postMessage({ engine: this.crewId, seq: this.seq, layout, timeoutMs: this.timeoutMs });
    try {
      const t0 = Bun.nanoseconds();
      this.exec!.run(this.seq, this.timeoutMs);
      const t1 = Bun.nanoseconds();
      if (Atomics.load(ctl, FAIL) === 0) waitFor(ctl, PDONE, this.parts.length, this.timeoutMs);
      Atomics.store(ctl, SEQ, 0); // closed: a worker that comes late leaves at once
      waitZero(ctl, ENTER, this.timeoutMs); // and none is still inside
      const t2 = Bun.nanoseconds();
      // the share of this batch the scanner's thread spent waiting for other executors (a worker descheduled inside a partition)
      waited = t2 > t0 ? (this.exec!.waitedNs + (t2 - t1)) / (t2 - t0) : 0;
    } catch (e) {
      this.closed = true;
      throw new VmdedupError(`partitioned batch failed: ${(e as Error).message}; the scanner's state is lost, close it`);
    }
    if (Atomics.load(ctl, FAIL) !== 0) {
      this.counters.failed++;
      return false;
    }
    this.apply(n);
    this.counters.batches++;
    const hashed = ctl[HASHED]!;
    this.chooser.note(true, n, hashed, hashed - this.exec!.hashedInBatch, this.readyWorkers >= this.workers.length && this.workers.length > 0, waited);
    return true;
  }

  /** The layout to send, or undefined when the workers' is still current (rebuilds the owner's executor). */
  private currentLayout(): PartitionLayout | undefined {
    const m = this.hv.memory;
    const s = this.slots;
    const buf = (a: { buffer: ArrayBufferLike }) => a.buffer as SharedArrayBuffer;
    const now: unknown[] = [this.b.sab, this.hv.pageTable.slotFrame.buffer, this.registration.registered.buffer, s.kind.buffer, this.visitSeq.buffer];
    for (const ix of this.parts) now.push(ix.exportState().frame.buffer);
    if (this.layout && now.length === this.sent.length && now.every((x, i) => x === this.sent[i])) return undefined;
    this.sent = now;
    this.layout = {
      batch: this.b.sab, capacity: this.b.capacity, segments: m.segmentBuffers, frames: m.frames,
      writeGen: buf(m.frameWriteGen), refcount: buf(m.frameRefcount), state: buf(m.frameState),
      slotFrame: buf(this.hv.pageTable.slotFrame), registered: buf(this.registration.registered),
      kind: buf(s.kind), hashHi: buf(s.hashHi), hashLo: buf(s.hashLo), seenFrame: buf(s.seenFrame), seenGen: buf(s.seenGen), waitRoom: buf(s.waitRoom),
      visitSeq: buf(this.visitSeq), visitPos: buf(this.visitPos),
      parts: this.parts.map((ix) => {
        const st = ix.exportState();
        return { keyHi: buf(st.keyHi), keyLo: buf(st.keyLo), frame: buf(st.frame), gen: buf(st.gen), aux: buf(st.aux), header: buf(st.header), bits: st.bits };
      }),
    };
    this.exec = new PartitionExec(this.layout, this.exec ?? undefined);
    return this.layout;
  }

  /** The decided merges, by handle, in visit order; then the partitions' counts. */
  private apply(n: number): void {
    const b = this.b;
    const hv = this.hv;
    const head = hv.memory.frameRmapHead;
    const merged = this.merged;
    let merges = 0;
    for (let i = 0; i < n; i++) {
      const a = b.act[i]!;
      if (a === Act.NONE) continue;
      const s = b.vSlot[i]!;
      const f = b.vFrame[i]!;
      if (a === Act.ZERO) {
        hv.mapZeroByHandle(s, f, b.aMGen[i]!);
        merged.noteZero(s);
      } else {
        const t = b.aTarget[i]!;
        const keep = b.aKeep[i]! >= 0 ? b.aKeep[i]! : head[t]!;
        hv.shareByHandle(keep, t, b.aTGen[i]!, s, f, b.aMGen[i]!);
        if (a === Act.SHARE_HINT) merged.noteShared(t, b.aFull[i]! >= 0 ? merged.frameGroup[b.aFull[i]!]! : -1);
      }
      merges++;
    }
    const w = this.work;
    w.merges += merges;
    const r = b.res;
    const kc = this.slots.kindCount;
    for (let p = 0; p < this.parts.length; p++) {
      const o = p * RES_STRIDE;
      w.lookups += r[o + R_LOOKUPS]!;
      w.compares += r[o + R_COMPARES]!;
      w.compareBytes += r[o + R_COMPARE_BYTES]!;
      w.zeroChecks += r[o + R_ZERO_CHECKS]!;
      for (let k = 0; k < 5; k++) kc[k] = kc[k]! + r[o + R_KIND + k]!;
      this.counters.pagesHashed += r[o + R_HASHED]!;
    }
    this.counters.pagesHashed += b.ctl[HASHED]!;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.workers.length) leaveCrew(this, this.crewId, this.workers);
    this.workers = [];
  }
}
