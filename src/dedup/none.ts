/** Policy "none": the baseline. It registers pages like the others but visits and merges nothing. */
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { ScannerBase } from "./scanner-base.ts";
import type { ScannerStats } from "./types.ts";

export class NoneScanner extends ScannerBase {
  readonly policy = "none" as const;

  /** A batch visits nothing and crosses no pass boundary. */
  protected override scanBatch(_pages: number): number {
    return 0;
  }

  /** Passes over nothing: each completes at once (so fullScans(n) still counts n). */
  override async fullScans(n = 1): Promise<void> {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`fullScans count ${n} must be a non-negative integer`);
    const before = this.fullScanCount;
    await super.fullScans(0); // run-state checks only
    if (this.registeredCount > 0) this.fullScanCount = before + n;
  }
  protected visit(): void {}
  /** Nothing of its own to check (registration is checked by ScannerBase.audit). */
  protected auditPolicy(): void {}
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
