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
 * The arrays live in SharedArrayBuffers: the partition workers (partition-exec.ts) read and write
 * them in place during a partitioned batch (kindCount stays the owner's; workers report deltas).
 */
export const Kind = { NONE: 0, INDEXED: 1, MERGED: 2, ZERO: 3, VOLATILE: 4 } as const;

export class HashSlots {
  kind: Uint8Array = sharedU8(0);
  hashHi: Uint32Array = sharedU32(0);
  hashLo: Uint32Array = sharedU32(0);
  seenFrame: Int32Array = sharedI32(0);
  seenGen: Uint32Array = sharedU32(0);
  inZeroList = new Uint8Array(0);
  waitRoom: Uint8Array = sharedU8(0);
  /** +1 whenever the arrays are replaced (partition workers re-attach). */
  layout = 0;
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
    this.kind = growTo(this.kind, sharedU8(capacity));
    this.hashHi = growTo(this.hashHi, sharedU32(capacity));
    this.hashLo = growTo(this.hashLo, sharedU32(capacity));
    this.seenFrame = growTo(this.seenFrame, sharedI32(capacity));
    this.seenFrame.fill(-1, old);
    this.seenGen = growTo(this.seenGen, sharedU32(capacity));
    this.inZeroList = growTo(this.inZeroList, new Uint8Array(capacity));
    this.waitRoom = growTo(this.waitRoom, sharedU8(capacity));
    this.layout++;
  }

  /** run=2: every slot forgotten (kind NONE, never visited). */
  reset(): void {
    this.kind.fill(0);
    this.seenFrame.fill(-1);
    this.kindCount.fill(0);
    this.inZeroList.fill(0);
  }
}

const sharedU8 = (n: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(n));
const sharedU32 = (n: number): Uint32Array => new Uint32Array(new SharedArrayBuffer(4 * n));
const sharedI32 = (n: number): Int32Array => new Int32Array(new SharedArrayBuffer(4 * n));

function growTo<T extends Uint8Array | Uint32Array | Int32Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}
