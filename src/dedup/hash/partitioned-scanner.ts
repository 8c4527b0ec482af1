/**
 * The batch loop of the hash policies with workers (issue 13, part 3): VmdedupScanner and
 * EsxScanner extend this class, which adds the partition engine (partition-engine.ts) to
 * HashScannerBase. A batch of at least engine.minBatch pages that the chooser
 * (partition-chooser.ts) gives to partitions is listed here (the same walk as
 * ScannerBase.scanBatch), then decided in partitions and applied in order by the engine; every
 * other batch is visited on this thread page by page exactly as without workers, hashing inline:
 *   - a batch the chooser gives to this thread (the last batch hashed few pages, or the workers
 *     are not helping);
 *   - a listed batch whose sample (every SAMPLE_EVERY-th visit asked the policy's hash-ahead
 *     filter) says it would hash fewer than MIN_HASHED_SHARE of its visits: the chooser's count is
 *     one batch late, so a steady pass's first batch after a merging pass would otherwise run in
 *     partitions for little (measured: that one batch cost the 1 GiB mix's 1%-dirty pass 20%).
 *     The sample is looked at after the first PROBE_VISITS visits too: when they would hash few,
 *     they are visited and the rest of the batch runs through ScannerBase.scanBatch unlisted
 *     (listing it all first cost that pass another 3%);
 *   - a batch the engine declines (FAIL: a visit outside what partitions decide exactly).
 * Listing cannot change the order (next() depends on registration and population only, which
 * merges never change), and visiting the listed pages is visiting them in the same order.
 * Without workers (or under a mitigation) there is no engine and ScannerBase.scanBatch runs.
 */
import { PageHasher } from "../fingerprint.ts";
import type { ScannerWork } from "../types.ts";
import { HashScannerBase } from "./hash-scanner-base.ts";
import { MIN_HASHED_SHARE } from "./partition-chooser.ts";
import { PartitionEngine } from "./partition-engine.ts";
import type { BatchViews } from "./partition-layout.ts";

/** A partitioned batch's listing asks the policy's hash-ahead filter about every SAMPLE_EVERY-th visit. */
const SAMPLE_EVERY = 16;
/** After this many listed visits the sample decides whether the rest of the batch is listed at all. */
const PROBE_VISITS = 2048;

export abstract class PartitionedHashScanner extends HashScannerBase {
  /** The hasher of the batches the engine's chooser gives to this thread (counted in work()). */
  private inlineHasher: PageHasher = new PageHasher(this.hv.memory);

  /** Partitioned batches (vmdedup with workers; partition-engine.ts), made at the first batch. */
  protected engine: PartitionEngine | null | undefined = undefined;

  /** With workers, batches are decided in partitions by fingerprint (partition-exec.ts mirrors
   * the policy's visit() and process() exactly, per partition); none on one thread. */
  protected makeEngine(): PartitionEngine | null {
    if (this.parts.length === 1) return null;
    // partition-exec.ts mirrors visit()/process() without mitigations (salts, zero-only, the
    // first-access watch, vusion's relocation): under any mitigation every batch runs here.
    if (this.mitigation.kind !== "off") return null;
    return new PartitionEngine(this.hv, this.slots, this.registration, this.parts, this.merged, this.workCounters, this.options.workers);
  }

  /** @internal The engine (tests and benchmarks), made if it was not yet. */
  partitionEngine(): PartitionEngine | null {
    if (this.engine === undefined) this.engine = this.makeEngine();
    return this.engine;
  }

  /** The batch loop with a partition engine (see the file comment). */
  protected override scanBatch(pages: number): number {
    const eng = this.partitionEngine();
    if (!eng || pages < eng.minBatch) return super.scanBatch(pages);
    if (!eng.choosePartitioned()) return this.inlineBatch(eng, () => super.scanBatch(pages), false);
    const b = eng.begin(pages);
    const sf = this.hv.pageTable.slotFrame;
    this.sampledHashes = 0;
    this.listedPassEnd = false;
    let n = this.listVisits(eng, b, 0, Math.min(pages, PROBE_VISITS));
    const visitListed = (): number => {
      for (let i = 0; i < n; i++) this.visit(b.vSlot[i]!, sf[b.vSlot[i]!]!);
      return n;
    };
    const few = (): boolean => eng.adaptive && this.sampledHashes * SAMPLE_EVERY < MIN_HASHED_SHARE * n;
    // the first PROBE_VISITS visits would hash few: visit them here, then the rest of the batch as without workers
    if (!this.listedPassEnd && n < pages && few()) return this.inlineBatch(eng, () => visitListed() + super.scanBatch(pages - n), false);
    if (!this.listedPassEnd) n = this.listVisits(eng, b, n, pages);
    const passEnded = this.listedPassEnd;
    const o = this.options;
    const params = { esx: this.policy === "esx", useZeroPages: o.useZeroPages, maxPageSharing: o.maxPageSharing, zeroHi: this.zeroHi, zeroLo: this.zeroLo };
    if (few()) this.inlineBatch(eng, visitListed, false); // few to hash
    else if (n > 0 && !eng.run(n, this.merged.chainsPossible, params)) this.inlineBatch(eng, visitListed, true); // declined
    if (passEnded) {
      this.onPassEnd();
      this.fullScanCount++;
    }
    return n;
  }

  private sampledHashes = 0; // of the batch being listed: sampled visits that would hash
  private listedPassEnd = false; // the listing reached the end of the pass

  /** Lists visits from..limit-1 of the batch into b (the one-thread loop's walk); returns the count listed. */
  private listVisits(eng: PartitionEngine, b: BatchViews, from: number, limit: number): number {
    const seq = eng.batchSeq;
    const vs = eng.visitSeq;
    const vp = eng.visitPos;
    const sf = this.hv.pageTable.slotFrame;
    const order = this.order;
    const filter = this.hashAhead; // every SAMPLE_EVERY-th listed visit: would it hash? (see the file comment)
    let sampled = 0;
    let n = from;
    while (n < limit) {
      if (!order.inPass) {
        order.begin(this.fullScanCount);
        this.onPassStart();
      }
      const slot = order.next();
      if (slot < 0) {
        this.listedPassEnd = true;
        break;
      }
      this.pagesScanned++;
      b.vSlot[n] = slot;
      b.vFrame[n] = sf[slot]!;
      if ((n & (SAMPLE_EVERY - 1)) === 0 && filter.wouldHash(slot, sf[slot]!)) sampled++;
      vs[slot] = seq;
      vp[slot] = n;
      n++;
    }
    this.sampledHashes += sampled;
    return n;
  }

  /**
   * A batch on this thread alone (the chooser gave it, or the engine declined it): hashed inline,
   * not through the hash-ahead pool, whose peeks ahead cost more than they save here (measured:
   * the 1 GiB mix's 1%-dirty pass 43 against 25 ns of CPU per visit; a declined batch's visits
   * are already listed, so the pool would be out of step). Its hashed share goes to the chooser.
   */
  private inlineBatch(eng: PartitionEngine, visitAll: () => number, declined: boolean): number {
    const pool = this.hasher;
    const inline = this.inlineHasher;
    const h0 = inline.pagesHashed;
    this.hasher = inline;
    try {
      const r = visitAll();
      eng.noteSerial(r, inline.pagesHashed - h0, declined);
      return r;
    } finally {
      this.hasher = pool;
    }
  }

  override work(): ScannerWork {
    const w = super.work();
    if (this.engine) w.pagesHashed += this.engine.counters.pagesHashed + this.inlineHasher.pagesHashed;
    return w;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.engine?.close();
  }

}
