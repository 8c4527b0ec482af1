/**
 * Per-page-slot state of the hash-table policies (vmdedup, esx), as typed arrays grown with the
 * page table (see hash-scanner-base.ts for what each kind means in the lookup/merge step):
 *   kind       NONE | INDEXED (has an unshared entry) | MERGED (maps a frame this scanner shares)
 *              | ZERO (this scanner mapped it to the zero frame) | VOLATILE (seen changed since it
 *              was indexed or merged, and not indexed again yet)
 *   hashHi/Lo  the fingerprint computed at its last hash
 *   seenFrame/seenGen  the frame and its write generation at the last visit (-1: never visited)
 *   inZeroList whether the slot is on the zero-mapped list (MergedFrames)
 *   waitRoom   an INDEXED slot that met an equal shared frame which was full (maxPageSharing):
 *              its visits repeat the lookup (remembered fingerprint, no hash) so that it merges
 *              once a CoW break makes room, as KSM's stable-tree search does every visit
 * kindCount[kind]: slots of each kind, +1/-1 in setKind (pagesUnshared = INDEXED, pagesVolatile
 * = VOLATILE). Built before the scanner, so the policy's hash-ahead filter can read it.
 */
export const Kind = { NONE: 0, INDEXED: 1, MERGED: 2, ZERO: 3, VOLATILE: 4 } as const;

export class HashSlots {
  kind = new Uint8Array(0);
  hashHi = new Uint32Array(0);
  hashLo = new Uint32Array(0);
  seenFrame = new Int32Array(0);
  seenGen = new Uint32Array(0);
  inZeroList = new Uint8Array(0);
  waitRoom = new Uint8Array(0);
  /** Slots per kind (index = Kind value); NONE's entry is not meaningful. */
  readonly kindCount = new Int32Array(5);

  setKind(slot: number, k: number): void {
    this.kindCount[this.kind[slot]!]!--;
    this.kindCount[k]!++;
    this.kind[slot] = k;
  }

  grow(capacity: number): void {
    if (this.kind.length >= capacity) return;
    const old = this.kind.length;
    this.kind = growTo(this.kind, new Uint8Array(capacity));
    this.hashHi = growTo(this.hashHi, new Uint32Array(capacity));
    this.hashLo = growTo(this.hashLo, new Uint32Array(capacity));
    this.seenFrame = growTo(this.seenFrame, new Int32Array(capacity));
    this.seenFrame.fill(-1, old);
    this.seenGen = growTo(this.seenGen, new Uint32Array(capacity));
    this.inZeroList = growTo(this.inZeroList, new Uint8Array(capacity));
    this.waitRoom = growTo(this.waitRoom, new Uint8Array(capacity));
  }

  /** run=2: every slot forgotten (kind NONE, never visited). */
  reset(): void {
    this.kind.fill(0);
    this.seenFrame.fill(-1);
    this.kindCount.fill(0);
    this.inZeroList.fill(0);
  }
}

function growTo<T extends Uint8Array | Uint32Array | Int32Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}
