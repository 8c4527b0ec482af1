/**
 * Sharing analysis of guest memory snapshots (the "oracle" of real-guests.md, per snapshot):
 * what merging every duplicate page would save, as percentages of all guest pages.
 *
 * One pass over the guests in order, with one DigestTable of the non-zero contents:
 *   unpopulated U, zero Z, content C        page counts by state (all guests);
 *   distinct D                              digests inserted into the table;
 *   within-guest distinct D_g               a digest counts for guest g the first time g meets it
 *                                           (the table's lastGuest differs from g);
 *   savable            = Z + C - D          every zero page onto the zero frame, one frame per content
 *                                           (as the simulator's oracle, dedup/oracle.ts: real-guests.md's
 *                                           "incl. zero" column keeps one zero page, so it is 1 lower);
 *   savableExclZero    = C - D;
 *   withinGuestExclZero = sum_g (C_g - D_g); acrossGuestsExclZero = savableExclZero - withinGuestExclZero;
 *   byGuestCount[k]    = (C - D) over the first k guests, as % of those guests' pages (D grows as
 *                        guests are added, so one pass gives every k);
 *   copiesHistogram    = [copies, contents]: how many non-zero contents have exactly that many pages.
 * Churn between snapshots j-1 and j: pages whose state or digest changed, over all guests, per
 * second of each guest's own interval, as % of all guest pages (fromSec/toSec are guest 0's times).
 */
import { DigestTable } from "./digest-table.ts";
import type { GuestImage } from "./guest-image.ts";
import { PAGE_CONTENT, PAGE_UNPOPULATED } from "./page-digest.ts";

export interface PageCounts {
  pages: number;
  unpopulated: number;
  zero: number;
  content: number;
  distinctContent: number;
  savable: number;
  savableExclZero: number;
  withinGuestExclZero: number;
}

export interface SnapshotFigures {
  timeSec: number;
  zeroPct: number;
  unpopulatedPct: number;
  savablePct: number;
  savableExclZeroPct: number;
  withinGuestExclZeroPct: number;
  acrossGuestsExclZeroPct: number;
  copiesHistogram: [number, number][];
  byGuestCount: { guests: number; savableExclZeroPct: number }[];
  counts: PageCounts;
}

export interface ChurnPoint {
  fromSec: number;
  toSec: number;
  changedPctPerSec: number;
}

const pct = (n: number, d: number) => (d === 0 ? 0 : (n * 100) / d);

/** Counts one snapshot guest by guest (a guest's image can be dropped once added). */
export class SnapshotCounter {
  private readonly table: DigestTable;
  private pages = 0;
  private unpopulated = 0;
  private zero = 0;
  private content = 0;
  private within = 0;
  private readonly byGuestCount: SnapshotFigures["byGuestCount"] = [];
  readonly pagesPerGuest: number[] = [];

  constructor(expectedDistinct = 1 << 14) {
    this.table = new DigestTable(expectedDistinct);
  }

  addGuest(img: GuestImage): void {
    const g = this.pagesPerGuest.length;
    const { state, digestWords } = img;
    const table = this.table;
    let cg = 0, dg = 0;
    for (let i = 0; i < img.pageCount; i++) {
      const s = state[i]!;
      if (s !== PAGE_CONTENT) {
        if (s === PAGE_UNPOPULATED) this.unpopulated++;
        else this.zero++;
        continue;
      }
      cg++;
      const slot = table.slotOf(digestWords, i);
      table.count[slot]!++;
      if (table.lastGuest[slot] !== g) {
        table.lastGuest[slot] = g;
        dg++;
      }
    }
    this.pages += img.pageCount;
    this.content += cg;
    this.within += cg - dg;
    this.pagesPerGuest.push(img.pageCount);
    this.byGuestCount.push({ guests: g + 1, savableExclZeroPct: pct(this.content - table.size, this.pages) });
  }

  figures(timeSec: number): SnapshotFigures {
    const { pages, zero, content, within } = this;
    const d = this.table.size;
    const hist = [...this.table.countHistogram().entries()].sort((a, b) => a[0] - b[0]) as [number, number][];
    const counts: PageCounts = {
      pages, unpopulated: this.unpopulated, zero, content, distinctContent: d,
      savable: zero + content - d, savableExclZero: content - d, withinGuestExclZero: within,
    };
    return {
      timeSec,
      zeroPct: pct(zero, pages),
      unpopulatedPct: pct(this.unpopulated, pages),
      savablePct: pct(counts.savable, pages),
      savableExclZeroPct: pct(counts.savableExclZero, pages),
      withinGuestExclZeroPct: pct(within, pages),
      acrossGuestsExclZeroPct: pct(counts.savableExclZero - within, pages),
      copiesHistogram: hist,
      byGuestCount: [...this.byGuestCount],
      counts,
    };
  }
}

/** Figures of one snapshot: images[g] is guest g's memory at that snapshot. */
export function analyzeSnapshot(images: readonly GuestImage[], timeSec: number): SnapshotFigures {
  const c = new SnapshotCounter();
  for (const img of images) c.addGuest(img);
  return c.figures(timeSec);
}

/**
 * Churn from snapshot j-1 to j. changed[g] = pages of guest g whose state or digest changed;
 * timesSec[g] = guest g's snapshot times.
 */
export function churnPoint(changed: readonly number[], timesSec: readonly (readonly number[])[], j: number, totalPages: number): ChurnPoint {
  let perSec = 0;
  for (let g = 0; g < changed.length; g++) perSec += changed[g]! / (timesSec[g]![j]! - timesSec[g]![j - 1]!);
  return { fromSec: timesSec[0]![j - 1]!, toSec: timesSec[0]![j]!, changedPctPerSec: pct(perSec, totalPages) };
}

export interface Analysis extends Omit<SnapshotFigures, "counts" | "timeSec"> {
  guests: number;
  guestNames: string[];
  pagesPerGuest: number | number[];
  /** Number of snapshots; with --per-snapshot, the per-snapshot figures instead. */
  snapshots: number | SnapshotFigures[];
  timeSec: number;
  counts: PageCounts;
  churn: ChurnPoint[];
}

/** Streaming builder: feed each snapshot in order (images reflect it), then finish(). */
export class AnalysisBuilder {
  private last: SnapshotFigures | null = null;
  private readonly all: SnapshotFigures[] = [];
  private readonly churn: ChurnPoint[] = [];
  private count = 0;

  constructor(
    private readonly names: readonly string[],
    private readonly timesSec: readonly (readonly number[])[],
    private readonly perSnapshot: boolean,
  ) {}

  /** Snapshot j; `changed` (per guest, from j-1) is ignored for j = 0. Only the last snapshot is analysed unless perSnapshot. */
  add(images: readonly GuestImage[], changed: readonly number[] | null, isLast: boolean): void {
    const j = this.count;
    const total = images.reduce((s, im) => s + im.pageCount, 0);
    if (j > 0 && changed) this.churn.push(churnPoint(changed, this.timesSec, j, total));
    this.addFigures(this.perSnapshot || isLast ? analyzeSnapshot(images, this.timesSec[0]![j]!) : null, images.map((im) => im.pageCount));
  }

  /** A snapshot counted elsewhere (SnapshotCounter); null when it need not be analysed. */
  addFigures(f: SnapshotFigures | null, pagesPerGuest: number[]): void {
    this.count++;
    if (f && this.perSnapshot) this.all.push(f);
    if (f) this.last = f;
    this.pagesPerGuestOf = pagesPerGuest;
  }

  private pagesPerGuestOf: number[] = [];

  finish(): Analysis {
    const f = this.last;
    if (!f) throw new Error("bug: no snapshot analysed");
    const ppg = this.pagesPerGuestOf;
    return {
      guests: this.names.length,
      guestNames: [...this.names],
      pagesPerGuest: ppg.every((n) => n === ppg[0]) ? ppg[0]! : ppg,
      snapshots: this.perSnapshot ? this.all : this.count,
      timeSec: f.timeSec,
      zeroPct: f.zeroPct,
      unpopulatedPct: f.unpopulatedPct,
      savablePct: f.savablePct,
      savableExclZeroPct: f.savableExclZeroPct,
      withinGuestExclZeroPct: f.withinGuestExclZeroPct,
      acrossGuestsExclZeroPct: f.acrossGuestsExclZeroPct,
      copiesHistogram: f.copiesHistogram,
      byGuestCount: f.byGuestCount,
      counts: f.counts,
      churn: this.churn,
    };
  }
}
