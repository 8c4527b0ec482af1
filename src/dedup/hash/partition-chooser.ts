/**
 * Which way the next batch of a hash policy runs (issue 13, part 3): in partitions on the workers
 * and the scanner's thread (partition-engine.ts), or on the scanner's thread alone. Both give the
 * same results, so the choice only follows cost. It is made from counts of earlier batches, not
 * from their wall times (which compare different kinds of batches and move with the machine's
 * load), and from the one wall time that says workers are absent, the scanner's thread waiting:
 *
 *   1. the share of visits the last batch hashed (either way: phase H's hashes, or the scanner's
 *      hasher). Partitions pay per hashed page (a page's hash and compare are the work that is
 *      split); a batch that hashes few pays the listing, the classification of every visit and a
 *      wake-up for little. Below MIN_HASHED_SHARE the next batch runs on the scanner's thread
 *      (a steady pass over pages mostly unchanged; esx re-hashes every page not merged, so its
 *      steady passes stay partitioned). The threshold, from CPU costs measured on the 1 GiB mix
 *      (one thread: ~14 ns per visit plus ~860 ns per hashed page; partitions: ~50 ns per visit in
 *      all, ~7 of them listing on the scanner's thread, plus ~880 ns per hashed page, the rest
 *      split over the executors, plus ~50 us of wake-up per batch): on 2 free cores partitions
 *      break even at about 4-5% of the visits hashed (8%: ~1.2x), so 6%. The benchmark's
 *      1%-dirty steady pass (4% of the first quarter's visits, none after) runs on the scanner's
 *      thread, hashing inline (not through the hash-ahead pool: hash-scanner-base.ts);
 *   2. the share of a partitioned batch's hashing the workers did (the scanner's thread claims
 *      sub-chunks from the same queue, so a worker that is descheduled, or whose core other work
 *      keeps busy, leaves its share to the scanner's thread; a worker descheduled while it holds
 *      a partition makes the scanner's thread wait instead, so a batch in which that thread
 *      waited more than MAX_WAITED_SHARE of its wall time counts as share 0: measured healthy
 *      batches wait under 1%). Partitioned work costs more CPU per
 *      page when two cores stream memory at once (measured on this 2-core VM: a page's hash 1.25-
 *      1.35x, the partitioned merging pass 1.0-1.3x one thread's CPU, while on one thread the
 *      partitioned code costs what the visit loop does), so with c the CPU factor the batch's
 *      wall is about (1 - share) x c x one thread's: partitions win while share > 1 - 1/c, about
 *      0.25. Under MIN_HELPER_SHARE (an average over recent partitioned batches) batches run on
 *      the scanner's thread, and every PROBE_EVERY-th one in partitions to see whether the
 *      workers are back. The share is not counted before every worker reported ready (its warm-up
 *      still running: partition-warmup.ts).
 * A first batch (nothing known) runs in partitions.
 */

/** Below this share of visits hashed by the last batch, the next runs on the scanner's thread. */
export const MIN_HASHED_SHARE = 0.06;
/** Below this share of the hashing done by the workers (recent average), batches run on the scanner's thread. */
export const MIN_HELPER_SHARE = 0.25;
/** A batch in which the scanner's thread waited for the workers more than this share of its wall
 * time counts as one they did not help (a worker descheduled while it held a partition). */
export const MAX_WAITED_SHARE = 0.25;
/** While the workers' share is too low, every PROBE_EVERY-th batch still runs in partitions. */
export const PROBE_EVERY = 16;

export class PartitionChooser {
  private hashedShare = 1; // of the last batch, either way (1: none yet)
  private helperShare = 1; // recent average over partitioned batches (1: none yet)
  private lowHelpBatches = 0;

  /** Whether the next batch should run in partitions. */
  partitioned(): boolean {
    if (this.hashedShare < MIN_HASHED_SHARE) return false;
    if (this.helperShare >= MIN_HELPER_SHARE) return true;
    return ++this.lowHelpBatches % PROBE_EVERY === 0;
  }

  /** A batch of `visits` visits hashed `hashed` pages; partitioned: `helped` of them on the workers
   * (counted only when `workersReady`), and the scanner's thread spent the share `waited` of the
   * batch's wall time waiting for them. */
  note(partitioned: boolean, visits: number, hashed: number, helped: number, workersReady: boolean, waited = 0): void {
    if (visits === 0) return;
    this.hashedShare = hashed / visits;
    if (!partitioned || !workersReady || hashed < 64) return;
    const share = waited > MAX_WAITED_SHARE ? 0 : helped / hashed;
    this.helperShare = 0.6 * this.helperShare + 0.4 * share;
    if (this.helperShare >= MIN_HELPER_SHARE) this.lowHelpBatches = 0;
  }
}
