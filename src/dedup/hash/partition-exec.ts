/**
 * One executor of a partitioned batch of vmdedup or esx (issue 13, part 3): the code every thread
 * runs, a partition worker (dedup/pool/partition-worker.ts) as well as the scanner's own thread
 * (partition-engine.ts). It reproduces, per partition, exactly the decisions of the one-thread
 * visit loop (vmdedup-scanner.ts / esx-scanner.ts visit() and hintValid(), hash-scanner-base.ts
 * process()). This file is over 400 lines: it is that one mirror, kept in one place.
 *
 * Why per partition is exact. Decisions about a content depend only on the index entries of its
 * fingerprint and on the frames and slots those entries name; every fingerprint lives in one
 * partition (partitions.ts), and a key's entries are met in insertion order in any table
 * (hash-index.ts). Within a batch nothing writes guest memory, so a frame's content, and with it
 * its partition, is fixed; merges change only frames of the merged content. So each partition,
 * walking the batch's positions in visit order and handling the visits of its fingerprints,
 * meets the same states as the one thread did. What crosses partitions is handled explicitly:
 *   - a page rewritten since its last visit has its old entry in the partition of its old
 *     fingerprint (pOld) and its new content in another (own): pOld forgets the entry at that
 *     position (remoteForget, with the kind, fingerprint and seen frame listed at the batch's
 *     start), own processes the page;
 *   - a partition reads the kind of a slot another partition visits in this batch from the
 *     batch's start (oldKind), since the other may already have written it; it writes a slot's
 *     state only for slots it visits, or that no partition visits in this batch; a hint dropped
 *     for a page another partition visits changes no kind (that visit forgets it anyway: the
 *     counts come out the same);
 *   - frames: a partition sees the refcount and state the owner has not applied yet through an
 *     overlay of the frames it merged (rcNow/stateNow); keep slots and content groups of shares
 *     are resolved by the owner when it applies them (aKeep -1: the frame's rmap head; aFull: the
 *     frame whose group a new frame joins);
 *   - MergedFrames.chainsPossible can turn true in the middle of a batch, which changes mayFold
 *     only for a page alone on a shared frame; phase H fails the batch (FAIL) when chainsPossible
 *     is still false and it lists such a page, or a page on a frame mapped more than once that is
 *     not simply merged (shared outside the scanner): those batches run on the owner's thread.
 *   - esx hashes every page not still merged; one whose hint another page merged into earlier in
 *     the batch is still merged at its visit and is not hashed by the one thread: phase P takes
 *     phase H's hash back for it (esxVisit);
 * Phase H (classify, hash the visits that need it, and compare each hashed page with the shared
 * frame its fingerprint names, while the page is in this core's cache: compareAhead) only writes
 * the batch buffer, so a FAIL leaves nothing to undo. Phase P writes slot state, the partition's index and the actions.
 */
import { FrameState, type MachineMemory } from "../../hypervisor/index.ts";
import { FrameComparer } from "../frame-comparer.ts";
import type { ScannerWork } from "../types.ts";
import { HashIndex } from "./hash-index.ts";
import { Kind } from "./hash-slots.ts";
import {
  Act, CHAINS, Cls, ENTER, FAIL, HASHED, HCUR, HDONE, MAX_SHARING, N, P, PCUR, PDONE, POLICY, RES_STRIDE, R_COMPARE_BYTES, R_COMPARES, R_HASHED, R_KIND, R_LOOKUPS,
  R_ZERO_CHECKS, SEQ, SUB, USE_ZERO, ZERO_FRAME, ZERO_HI, ZERO_LO, batchViews, partBit, type BatchViews, type PartitionLayout,
} from "./partition-layout.ts";
import { partitionOf } from "./partitions.ts";

const tmp64 = new BigUint64Array(1);
const tmp32 = new Uint32Array(tmp64.buffer);

export class PartitionExec {
  readonly b: BatchViews;
  private readonly segs: Uint8Array[];
  private readonly bufs: Buffer[]; // Buffer views of segs (no copy), for native compares
  private readonly gen: Uint32Array;
  private readonly rc: Uint32Array;
  private readonly state: Uint8Array;
  private readonly sf: Int32Array;
  private readonly reg: Uint8Array;
  private readonly kind: Uint8Array;
  private readonly hashHi: Uint32Array;
  private readonly hashLo: Uint32Array;
  private readonly seenFrame: Int32Array;
  private readonly seenGen: Uint32Array;
  private readonly waitRoom: Uint8Array;
  private readonly visitSeq: Int32Array;
  private readonly visitPos: Int32Array;
  private readonly parts: HashIndex[];
  private readonly cmp: FrameComparer;
  private readonly work: ScannerWork;
  private readonly memoryKey: readonly SharedArrayBuffer[]; // the segments and frameWriteGen these views are of
  // overlay of the frames this executor's partitions merged in the current batch
  private readonly ovSeq: Int32Array;
  private readonly ovRc: Int32Array;
  private readonly ovState: Uint8Array;
  private readonly kindDelta = new Float64Array(5);
  // the batch being run
  private seq = 0;
  private part = 0;
  private rehashed = 0; // esx: hinted pages re-hashed in the current partition
  private zeroFrame = 0;
  /** Pages this executor hashed in phase H of its last batch (the chooser's measure of the workers' share). */
  hashedInBatch = 0;
  /** Wall ns this executor waited at the phase H barrier in its last batch (for another executor's sub-chunks). */
  waitedNs = 0;

  /**
   * The executor of layout `l`. `prev`: this thread's executor of the engine's previous layout
   * (a table or the batch buffer grew): its views of guest memory, its comparer and its frame
   * overlay (arrays of the frame count, the costly part) are kept when the memory is the same.
   */
  constructor(l: PartitionLayout, prev?: PartitionExec) {
    this.b = batchViews(l.batch, l.capacity);
    const key = [...l.segments, l.writeGen];
    const same = prev !== undefined && prev.memoryKey.length === key.length && prev.memoryKey.every((x, i) => x === key[i]);
    this.memoryKey = key;
    this.segs = same ? prev.segs : l.segments.map((s) => new Uint8Array(s));
    this.bufs = same ? prev.bufs : l.segments.map((s) => Buffer.from(s));
    this.gen = same ? prev.gen : new Uint32Array(l.writeGen);
    this.rc = new Uint32Array(l.refcount);
    this.state = new Uint8Array(l.state);
    this.sf = new Int32Array(l.slotFrame);
    this.reg = new Uint8Array(l.registered);
    this.kind = new Uint8Array(l.kind);
    this.hashHi = new Uint32Array(l.hashHi);
    this.hashLo = new Uint32Array(l.hashLo);
    this.seenFrame = new Int32Array(l.seenFrame);
    this.seenGen = new Uint32Array(l.seenGen);
    this.waitRoom = new Uint8Array(l.waitRoom);
    this.visitSeq = new Int32Array(l.visitSeq);
    this.visitPos = new Int32Array(l.visitPos);
    this.parts = l.parts.map((p) =>
      HashIndex.attach({
        keyHi: new Uint32Array(p.keyHi), keyLo: new Uint32Array(p.keyLo), frame: new Int32Array(p.frame),
        gen: new Uint32Array(p.gen), aux: new Int32Array(p.aux), header: new Int32Array(p.header), bits: p.bits,
      }),
    );
    if (same) {
      this.work = prev.work;
      this.cmp = prev.cmp;
      this.ovSeq = prev.ovSeq;
      this.ovRc = prev.ovRc;
      this.ovState = prev.ovState;
      return;
    }
    this.work = { pagesHashed: 0, compares: 0, compareBytes: 0, zeroChecks: 0, merges: 0, lookups: 0 };
    const memory = { segments: this.segs, frameWriteGen: this.gen, frames: l.frames } as unknown as MachineMemory;
    this.cmp = new FrameComparer(memory, this.work);
    this.ovSeq = new Int32Array(l.frames + 1);
    this.ovRc = new Int32Array(l.frames + 1);
    this.ovState = new Uint8Array(l.frames + 1);
  }

  /** Runs this thread's share of batch `seq` (nothing if the batch is closed already). */
  run(seq: number, timeoutMs: number): void {
    const ctl = this.b.ctl;
    Atomics.add(ctl, ENTER, 1);
    try {
      if (Atomics.load(ctl, SEQ) === seq) this.share(seq, timeoutMs);
    } finally {
      Atomics.sub(ctl, ENTER, 1);
      Atomics.notify(ctl, ENTER);
    }
  }

  /** Phase H sub-chunks, the barrier, phase P partitions. */
  private share(seq: number, timeoutMs: number): void {
    const ctl = this.b.ctl;
    this.seq = seq;
    this.hashedInBatch = 0;
    this.waitedNs = 0;
    this.zeroFrame = ctl[ZERO_FRAME]!;
    const n = ctl[N]!;
    const nsub = (n + SUB - 1) >>> 6;
    for (;;) {
      const j = Atomics.add(ctl, HCUR, 1);
      if (j >= nsub) break;
      // once a visit failed the batch (it will run on the scanner's thread) the rest is not classified
      if (Atomics.load(ctl, FAIL) === 0) this.b.subMask[j] = this.classify(j << 6, Math.min(n, (j + 1) << 6));
      Atomics.add(ctl, HDONE, 1);
      Atomics.notify(ctl, HDONE);
    }
    const w0 = Bun.nanoseconds();
    waitFor(ctl, HDONE, nsub, timeoutMs);
    this.waitedNs = Bun.nanoseconds() - w0;
    if (Atomics.load(ctl, FAIL) !== 0) return;
    const parts = ctl[P]!;
    for (;;) {
      const p = Atomics.add(ctl, PCUR, 1);
      if (p >= parts) break;
      this.runPartition(p, n);
      Atomics.add(ctl, PDONE, 1);
      Atomics.notify(ctl, PDONE);
    }
  }

  // ---- phase H -----------------------------------------------------------------------------------
  /** Classifies positions from..to-1 (one sub-chunk); returns its subMask (partBit of every own and pOld). */
  private classify(from: number, to: number): number {
    const b = this.b;
    const { kind, seenFrame, seenGen, gen, rc, state, hashHi, hashLo } = this;
    const zf = this.zeroFrame;
    const chains = b.ctl[CHAINS] !== 0;
    const np = b.ctl[P]!;
    const esx = b.ctl[POLICY] === 1;
    let hashed = 0;
    let mask = 0;
    for (let i = from; i < to; i++) {
      const s = b.vSlot[i]!;
      const f = b.vFrame[i]!;
      const k = kind[s]!;
      b.oldKind[i] = k;
      b.act[i] = Act.NONE;
      b.pOld[i] = -1;
      b.own[i] = -1;
      let c: number = Cls.NOOP;
      if (f === zf) {
        if (seenFrame[s] !== zf) {
          c = k === Kind.INDEXED || k === Kind.MERGED ? Cls.ZERO_FORGET : Cls.ZERO_TRIVIAL;
          b.own[i] = c === Cls.ZERO_FORGET ? partitionOf(hashHi[s]!, hashLo[s]!, np) : s % np;
        }
      } else if (esx && k === Kind.MERGED && seenFrame[s] === f && state[f] === FrameState.SHARED && seenGen[s] === gen[f] && (rc[f]! > 1 || !chains)) {
        if (rc[f] === 1) Atomics.store(b.ctl, FAIL, 1); // still merged, alone, chains off: mayFold could change mid-batch
        c = Cls.NOOP; // still merged on an unchanged shared frame (EsxScanner.visit's first test)
      } else if (!esx && seenFrame[s] === f && seenGen[s] === gen[f] && k !== Kind.NONE && k !== Kind.ZERO) {
        const shared = state[f] === FrameState.SHARED;
        if (shared && rc[f] === 1 && !chains) Atomics.store(b.ctl, FAIL, 1); // mayFold could change mid-batch
        if (k === Kind.INDEXED && this.waitRoom[s] === 0) c = Cls.NOOP;
        else if (k === Kind.MERGED && shared && (rc[f]! > 1 || !chains)) c = Cls.NOOP;
        else {
          if (!shared && rc[f] !== 1) Atomics.store(b.ctl, FAIL, 1); // shared outside the scanner
          c = Cls.UNCHANGED;
          b.own[i] = partitionOf(hashHi[s]!, hashLo[s]!, np);
        }
      } else {
        if (rc[f] !== 1 || (state[f] === FrameState.SHARED && !chains)) Atomics.store(b.ctl, FAIL, 1);
        c = Cls.HASHED;
        const off = (f & 0x3ffff) << 12;
        tmp64[0] = Bun.hash.xxHash3(this.segs[f >>> 18]!.subarray(off, off + 4096));
        b.hLo[i] = tmp32[0]!;
        b.hHi[i] = tmp32[1]!;
        hashed++;
        b.own[i] = partitionOf(tmp32[1]!, tmp32[0]!, np);
        this.compareAhead(i, f, tmp32[1]!, tmp32[0]!);
        if (k === Kind.INDEXED || k === Kind.MERGED) {
          b.pOld[i] = partitionOf(hashHi[s]!, hashLo[s]!, np);
          b.oldHi[i] = hashHi[s]!;
          b.oldLo[i] = hashLo[s]!;
          b.oldSeen[i] = seenFrame[s]!;
        }
      }
      b.cls[i] = c;
      if (c !== Cls.NOOP) mask |= partBit(b.own[i]!) | (b.pOld[i]! >= 0 ? partBit(b.pOld[i]!) : 0);
    }
    if (hashed) Atomics.add(b.ctl, HASHED, hashed);
    this.hashedInBatch += hashed;
    return mask;
  }

  /**
   * While the page is hot from its hash: compare it with the first shared frame its fingerprint
   * names at the batch's start (the index is read-only in phase H), as FrameComparer.equal would,
   * without counting; phase P uses the result when process() compares exactly these two frames
   * (equalAt). A compare is a function of the two frames' bytes, fixed during the batch.
   */
  private compareAhead(i: number, f: number, hi: number, lo: number): void {
    const b = this.b;
    b.spec[i] = -1;
    const ix = this.parts[b.own[i]!]!;
    let p = ix.first(hi, lo);
    while (p >= 0 && (ix.aux[p]! >= 0 || ix.frame[p] === f || this.state[ix.frame[p]!] !== FrameState.SHARED || this.gen[ix.frame[p]!] !== ix.gen[p])) p = ix.next(p, hi, lo);
    if (p < 0) return;
    const ef = ix.frame[p]!;
    const sa = this.segs[ef >>> 18]!;
    const sb = this.segs[f >>> 18]!;
    const oa = (ef & 0x3ffff) << 12;
    const ob = (f & 0x3ffff) << 12;
    let k = 0;
    if (this.bufs[ef >>> 18]!.compare(this.bufs[f >>> 18]!, ob, ob + 4096, oa, oa + 4096) === 0) k = 4096;
    else while (sa[oa + k] === sb[ob + k]) k++;
    b.spec[i] = ef;
    b.specEq[i] = k === 4096 ? 1 : 0;
    b.specBytes[i] = k === 4096 ? 8192 : 2 * (k + 1);
  }

  /** FrameComparer.equal(ef, f) with its counts, from phase H's compare when it was of these frames. */
  private equalAt(i: number, ef: number, f: number): boolean {
    const b = this.b;
    if (b.spec[i] !== ef || b.cls[i] !== Cls.HASHED || b.vFrame[i] !== f) return this.cmp.equal(ef, f);
    this.work.compares++;
    this.work.compareBytes += b.specBytes[i]!;
    if (b.specEq[i] === 0) return false;
    this.cmp.genA = this.gen[ef]!;
    this.cmp.genB = this.gen[f]!;
    return true;
  }

  // ---- phase P -----------------------------------------------------------------------------------
  private runPartition(p: number, n: number): void {
    const b = this.b;
    this.part = p;
    this.kindDelta.fill(0);
    const w = this.work;
    w.lookups = w.compares = w.compareBytes = w.zeroChecks = 0;
    const zf = this.zeroFrame;
    const esxPolicy = b.ctl[POLICY] === 1;
    this.rehashed = 0;
    const bit = partBit(p);
    const subMask = b.subMask;
    for (let i = 0; i < n; i++) {
      if ((i & (SUB - 1)) === 0 && (subMask[i >>> 6]! & bit) === 0) {
        i += SUB - 1; // no visit of this sub-chunk has work in this partition
        continue;
      }
      const c = b.cls[i]!;
      if (c === Cls.NOOP) continue;
      const own = b.own[i]!;
      if (c === Cls.HASHED && b.pOld[i] === p && own !== p) this.remoteForget(i);
      if (own !== p) continue;
      const s = b.vSlot[i]!;
      const f = b.vFrame[i]!;
      if (c === Cls.HASHED && esxPolicy) {
        this.esxVisit(i, s, f);
      } else if (c === Cls.HASHED) {
        const old = b.oldKind[i]!;
        if (b.pOld[i] === p) this.forgetSlot(s);
        else if (b.pOld[i] >= 0) this.kind[s] = Kind.NONE; // the old partition forgot it and counted it
        else if (old !== Kind.NONE) this.setKind(s, Kind.NONE);
        this.seenFrame[s] = f;
        this.seenGen[s] = this.gen[f]!;
        this.process(i, s, f, b.hHi[i]!, b.hLo[i]!, old !== Kind.NONE);
      } else if (c === Cls.UNCHANGED) {
        const k = this.kind[s]!;
        if (k === Kind.INDEXED && this.waitRoom[s] === 0) continue;
        if (k === Kind.MERGED && this.stateNow(f) === FrameState.SHARED && !this.mayFold(f)) continue;
        const hi = this.hashHi[s]!;
        const lo = this.hashLo[s]!;
        this.forgetSlot(s);
        this.process(i, s, f, hi, lo, false);
      } else {
        if (c === Cls.ZERO_FORGET) this.forgetSlot(s);
        else if (this.kind[s] !== Kind.NONE) this.setKind(s, Kind.NONE);
        this.seenFrame[s] = zf;
        this.seenGen[s] = 0;
      }
    }
    const r = b.res;
    const o = p * RES_STRIDE;
    r[o + R_LOOKUPS] = w.lookups;
    r[o + R_COMPARES] = w.compares;
    r[o + R_COMPARE_BYTES] = w.compareBytes;
    r[o + R_ZERO_CHECKS] = w.zeroChecks;
    for (let k = 0; k < 5; k++) r[o + R_KIND + k] = this.kindDelta[k]!;
    r[o + R_HASHED] = this.rehashed;
  }

  /** EsxScanner.visit after its hash (phase H): forget, then process, in this partition. */
  private esxVisit(i: number, s: number, f: number): void {
    const b = this.b;
    const hi = b.hHi[i]!;
    const lo = b.hLo[i]!;
    const pOld = b.pOld[i]!;
    if (this.kind[s] === Kind.MERGED && this.seenFrame[s] === f && this.stateNow(f) === FrameState.SHARED && this.seenGen[s] === this.gen[f] && !this.mayFold(f)) {
      // merged earlier in this batch (its hint was merged into): still merged now, so the one
      // thread would not have hashed it (phase H did: take that hash back)
      this.rehashed--;
      return;
    }
    if (pOld >= 0 && pOld !== this.part) {
      this.kind[s] = Kind.NONE; // fingerprint changed: the old partition forgot the entry and counted it
      this.seenFrame[s] = f;
      this.seenGen[s] = this.gen[f]!;
      this.process(i, s, f, hi, lo, true);
      return;
    }
    const k = this.kind[s]!;
    const changed = k !== Kind.NONE && (hi !== this.hashHi[s] || lo !== this.hashLo[s]);
    if (k === Kind.INDEXED && !changed && this.waitRoom[s] === 0) return;
    this.forgetSlot(s);
    this.seenFrame[s] = f;
    this.seenGen[s] = this.gen[f]!;
    this.process(i, s, f, hi, lo, changed);
  }

  private rcNow(f: number): number {
    return this.ovSeq[f] === this.seq ? this.ovRc[f]! : this.rc[f]!;
  }

  private stateNow(f: number): number {
    return this.ovSeq[f] === this.seq ? this.ovState[f]! : this.state[f]!;
  }

  private setFrame(f: number, rc: number, state: number): void {
    this.ovSeq[f] = this.seq;
    this.ovRc[f] = rc;
    this.ovState[f] = state;
  }

  private mayFold(f: number): boolean {
    return this.b.ctl[CHAINS] !== 0 && this.rcNow(f) === 1;
  }

  /** Another partition visits slot h in this batch (it writes h's state; read it as listed). */
  private visitedElsewhere(h: number): boolean {
    if (this.visitSeq[h] !== this.seq) return false;
    const o = this.b.own[this.visitPos[h]!]!;
    return o >= 0 && o !== this.part; // own -1: a visit with nothing to do (NOOP)
  }

  private kindOf(h: number): number {
    return this.visitedElsewhere(h) ? this.b.oldKind[this.visitPos[h]!]! : this.kind[h]!;
  }

  private setKind(s: number, k: number): void {
    this.kindDelta[this.kind[s]!]!--;
    this.kindDelta[k]!++;
    this.kind[s] = k;
  }

  /** The old partition's half of a changed page's visit (own processes the page). */
  private remoteForget(i: number): void {
    const b = this.b;
    const s = b.vSlot[i]!;
    const k = b.oldKind[i]!;
    const hi = b.oldHi[i]!;
    const lo = b.oldLo[i]!;
    const ix = this.parts[this.part]!;
    if (k === Kind.INDEXED) {
      for (let p = ix.first(hi, lo); p >= 0; p = ix.next(p, hi, lo)) {
        if (ix.aux[p] === s) {
          ix.remove(p);
          break;
        }
      }
    } else {
      const p = ix.locate(hi, lo, b.oldSeen[i]!, -1);
      if (p >= 0 && !this.sharedValid(ix, p)) ix.remove(p);
    }
    this.kindDelta[k]!--;
    this.kindDelta[Kind.NONE]!++;
  }

  /** HashScannerBase.forgetSlot, for a slot this partition visits. */
  private forgetSlot(s: number): void {
    const k = this.kind[s]!;
    if (k === Kind.NONE) return;
    const hi = this.hashHi[s]!;
    const lo = this.hashLo[s]!;
    const ix = this.parts[this.part]!;
    if (k === Kind.INDEXED) {
      for (let p = ix.first(hi, lo); p >= 0; p = ix.next(p, hi, lo)) {
        if (ix.aux[p] === s) {
          ix.remove(p);
          break;
        }
      }
    } else if (k === Kind.MERGED) {
      const p = ix.locate(hi, lo, this.seenFrame[s]!, -1);
      if (p >= 0 && !this.sharedValid(ix, p)) ix.remove(p);
    }
    this.setKind(s, Kind.NONE);
  }

  private sharedValid(ix: HashIndex, pos: number): boolean {
    const f = ix.frame[pos]!;
    return this.stateNow(f) === FrameState.SHARED && this.gen[f] === ix.gen[pos];
  }

  /** VmdedupScanner.hintValid (write generation), or EsxScanner.hintValid (re-hash the hinted page). */
  private hintValid(ix: HashIndex, pos: number, hi: number, lo: number): boolean {
    const h = ix.aux[pos]!;
    if (this.b.ctl[POLICY] === 1) {
      const f = this.sf[h]!;
      if (this.kindOf(h) !== Kind.INDEXED || this.reg[h] !== 1 || f < 0 || f === this.zeroFrame) return false;
      this.rehashed++;
      const off = (f & 0x3ffff) << 12;
      tmp64[0] = Bun.hash.xxHash3(this.segs[f >>> 18]!.subarray(off, off + 4096));
      if (tmp32[1] !== hi || tmp32[0] !== lo) return false;
      ix.frame[pos] = f;
      ix.gen[pos] = this.gen[f]!;
      return true;
    }
    const f = ix.frame[pos]!;
    return this.kindOf(h) === Kind.INDEXED && this.sf[h] === f && this.gen[f] === ix.gen[pos] && this.reg[h] === 1;
  }

  private dropEntry(ix: HashIndex, pos: number): void {
    const h = ix.aux[pos]!;
    if (h >= 0 && !this.visitedElsewhere(h) && this.kind[h] === Kind.INDEXED) this.setKind(h, Kind.VOLATILE);
    ix.remove(pos);
  }

  /** HashScannerBase.process, deciding instead of merging (the owner applies b.act[i]). */
  private process(i: number, s: number, f: number, hi: number, lo: number, changed: boolean): void {
    const ctl = this.b.ctl;
    this.hashHi[s] = hi;
    this.hashLo[s] = lo;
    const cmp = this.cmp;
    if (ctl[USE_ZERO] !== 0 && hi === ctl[ZERO_HI]! >>> 0 && lo === ctl[ZERO_LO]! >>> 0 && cmp.isZero(f)) {
      this.mapToZero(i, s, f, cmp.genA);
      return;
    }
    const ix = this.parts[this.part]!;
    const max = ctl[MAX_SHARING]!;
    const w = this.work;
    let hintPos = -1;
    let hintGen = 0;
    let hintFrameGen = 0;
    let fullFrame = -1;
    let own = false;
    w.lookups++;
    let p = ix.first(hi, lo);
    while (p >= 0) {
      w.lookups++;
      const aux = ix.aux[p]!;
      if (aux === s || (aux >= 0 && hintPos >= 0)) {
        p = ix.next(p, hi, lo);
        continue;
      }
      if (!(aux >= 0 ? this.hintValid(ix, p, hi, lo) : this.sharedValid(ix, p))) {
        this.dropEntry(ix, p);
        p = ix.scan(p, hi, lo);
        continue;
      }
      const ef = ix.frame[p]!;
      if (ef === f) {
        if (aux < 0) {
          if (!this.mayFold(f)) {
            this.setMerged(s, f);
            return;
          }
          own = true;
        }
      } else if (this.equalAt(i, ef, f)) {
        if (aux >= 0) {
          hintPos = p;
          hintGen = cmp.genA;
          hintFrameGen = cmp.genB;
        } else if (this.rcNow(ef) + this.rcNow(f) <= max) {
          this.shareInto(i, ef, cmp.genA, -1, s, f, cmp.genB);
          return;
        } else if (fullFrame < 0) fullFrame = ef;
      }
      p = ix.next(p, hi, lo);
    }
    if (own) {
      this.setMerged(s, f);
      return;
    }
    if (hintPos >= 0 && this.rcNow(ix.frame[hintPos]!) + this.rcNow(f) <= max) {
      const h = ix.aux[hintPos]!;
      const hf = ix.frame[hintPos]!;
      this.shareInto(i, hf, hintGen, h, s, f, hintFrameGen);
      this.b.act[i] = Act.SHARE_HINT;
      this.b.aFull[i] = fullFrame;
      ix.aux[hintPos] = -1;
      ix.gen[hintPos] = this.gen[hf]!;
      this.setMerged(h, hf);
      return;
    }
    if (changed) {
      this.setKind(s, Kind.VOLATILE);
      return;
    }
    ix.insert(hi, lo, f, this.gen[f]!, s);
    this.setKind(s, Kind.INDEXED);
    this.waitRoom[s] = fullFrame >= 0 ? 1 : 0;
  }

  private shareInto(i: number, target: number, targetGen: number, keepSlot: number, s: number, f: number, frameGen: number): void {
    const b = this.b;
    b.act[i] = Act.SHARE;
    b.aTarget[i] = target;
    b.aTGen[i] = targetGen;
    b.aKeep[i] = keepSlot;
    b.aMGen[i] = frameGen;
    this.setFrame(target, this.rcNow(target) + this.rcNow(f), FrameState.SHARED);
    this.setFrame(f, 0, FrameState.FREE);
    this.setMerged(s, target);
  }

  private setMerged(s: number, f: number): void {
    this.seenFrame[s] = f;
    this.seenGen[s] = this.gen[f]!;
    this.setKind(s, Kind.MERGED);
  }

  private mapToZero(i: number, s: number, f: number, gen: number): void {
    this.b.act[i] = Act.ZERO;
    this.b.aMGen[i] = gen;
    const left = this.rcNow(f) - 1;
    this.setFrame(f, left, left === 0 ? FrameState.FREE : this.stateNow(f));
    this.seenFrame[s] = this.zeroFrame;
    this.seenGen[s] = this.gen[this.zeroFrame]!;
    this.setKind(s, Kind.ZERO);
  }

  /** Phase P's compare and zero-check counts of the last partition run (for tests). */
  get lastWork(): Readonly<ScannerWork> {
    return this.work;
  }
}

/** Spins, then sleeps, until ctl[word] <= 0; throws after timeoutMs (a dead executor). */
export function waitZero(ctl: Int32Array, word: number, timeoutMs: number): void {
  for (let spin = 0; spin < 4000; spin++) if (Atomics.load(ctl, word) <= 0) return;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(ctl, word);
    if (v <= 0) return;
    if (performance.now() > deadline) throw new Error(`partitioned batch: an executor stopped (${v} still inside)`);
    Atomics.wait(ctl, word, v, 1);
  }
}

/** Spins, then sleeps, until ctl[word] >= target; throws after timeoutMs (a dead executor). */
export function waitFor(ctl: Int32Array, word: number, target: number, timeoutMs: number): void {
  for (let spin = 0; spin < 4000; spin++) if (Atomics.load(ctl, word) >= target) return; // ~20-40 us: a busy peer answers
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(ctl, word);
    if (v >= target) return;
    if (performance.now() > deadline) throw new Error(`partitioned batch: an executor stopped (control word ${word} at ${v} of ${target})`);
    Atomics.wait(ctl, word, v, 1);
  }
}
