/** Policy "none": the baseline. It registers pages like the others but visits and merges nothing. */
import { ScannerBase } from "./scanner-base.ts";
import type { ScannerStats } from "./types.ts";

export class NoneScanner extends ScannerBase {
  readonly policy = "none" as const;

  /** Every batch is a whole (empty) pass: nothing is visited, passes still count. */
  protected override scanBatch(_pages: number): number {
    this.fullScanCount++;
    return 0;
  }
  protected visit(): void {}
  protected dropSlots(): void {}
  protected resetAll(): void {}
  protected growSlots(): void {}

  stats(): ScannerStats {
    this.sync();
    return {
      pagesShared: 0,
      pagesSharing: 0,
      pagesUnshared: 0,
      pagesVolatile: 0,
      fullScans: this.fullScanCount,
      pagesScanned: 0,
      pagesSkipped: 0,
      stableNodeChains: 0,
      stableNodeDups: 0,
      zeroPages: 0,
      generalProfit: 0,
    };
  }
}
