/**
 * Guest memory for the kernel side of validate-kernel: one anonymous private mapping
 * (mmap MAP_PRIVATE|MAP_ANONYMOUS) per mix, marked MADV_MERGEABLE (so ksmd scans it) and
 * MADV_NOHUGEPAGE (KSM splits THPs before merging, which changes counts), through bun:ffi on
 * libc. Guest g's page i is page g*pagesPerGuest + i of the mapping, so the kernel walks the
 * pages in the simulator's order (guests in creation order, gfns ascending): ksmd visits the
 * VMAs of an mm in address order, and one VMA is one address range.
 *
 * Writes are plain stores through a Uint8Array view of the mapping (toArrayBuffer, no copy);
 * discard is MADV_DONTNEED on one page (the page is unmapped; a later store faults in a
 * fresh zero page). Never-touched pages are not populated, so ksmd does not see them — write
 * zeros to have a populated zero page, as the simulator's guest.write does.
 *
 * ArrayMemory is the same interface over a plain buffer, for tests that fake the kernel.
 */
import { dlopen, FFIType, toArrayBuffer, type Pointer } from "bun:ffi";

const PAGE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_PRIVATE = 2;
const MAP_ANONYMOUS = 0x20;
const MADV_DONTNEED = 4;
const MADV_MERGEABLE = 12;
const MADV_NOHUGEPAGE = 15;

/** The memory a mix writes into: total pages, page i's bytes, discard. */
export interface PeerMemory {
  readonly pages: number;
  /** A view of page i (4096 bytes); storing into it writes guest memory. */
  page(i: number): Uint8Array;
  discard(i: number): void;
  release(): void;
}

type Libc = {
  symbols: {
    mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => Pointer | null;
    munmap: (addr: Pointer, len: number) => number;
    madvise: (addr: Pointer, len: number, advice: number) => number;
    __errno_location: () => Pointer;
  };
};
let libc: Libc | null = null;

function loadLibc(): Libc {
  if (libc) return libc;
  const names = ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib/libc.so.6"];
  let last: unknown;
  for (const n of names) {
    try {
      libc = dlopen(n, {
        mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
        munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
        madvise: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
        __errno_location: { args: [], returns: FFIType.ptr },
      }) as unknown as Libc;
      return libc;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cannot load libc for mmap/madvise: ${(last as Error)?.message}`);
}

/** An anonymous mapping of `pages` pages, MADV_MERGEABLE + MADV_NOHUGEPAGE. */
export class MmapMemory implements PeerMemory {
  private addr: Pointer;
  private readonly bytes: Uint8Array;
  private released = false;

  constructor(readonly pages: number) {
    const c = loadLibc().symbols;
    const len = pages * PAGE;
    const p = c.mmap(null, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p === null || Number(p) === -1 || Number(p) === 0) throw new Error(`mmap of ${len} bytes failed`);
    this.addr = p;
    if (c.madvise(p, len, MADV_NOHUGEPAGE) !== 0) throw new Error(`madvise(MADV_NOHUGEPAGE) failed`);
    if (c.madvise(p, len, MADV_MERGEABLE) !== 0) {
      c.munmap(p, len);
      throw new Error(`madvise(MADV_MERGEABLE) failed: this kernel has no KSM`);
    }
    this.bytes = new Uint8Array(toArrayBuffer(p, 0, len));
  }

  page(i: number): Uint8Array {
    return this.bytes.subarray(i * PAGE, (i + 1) * PAGE);
  }

  discard(i: number): void {
    const c = loadLibc().symbols;
    if (c.madvise((Number(this.addr) + i * PAGE) as Pointer, PAGE, MADV_DONTNEED) !== 0) throw new Error(`madvise(MADV_DONTNEED) of page ${i} failed`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    loadLibc().symbols.munmap(this.addr, this.pages * PAGE);
  }
}

/** The same interface over ordinary memory (fake-kernel tests); discard zeroes and marks the page. */
export class ArrayMemory implements PeerMemory {
  readonly bytes: Uint8Array;
  /** 1 = populated (written since the last discard). */
  readonly present: Uint8Array;

  constructor(readonly pages: number) {
    this.bytes = new Uint8Array(pages * PAGE);
    this.present = new Uint8Array(pages);
  }

  page(i: number): Uint8Array {
    this.present[i] = 1; // a view is only taken to store into it
    return this.bytes.subarray(i * PAGE, (i + 1) * PAGE);
  }

  discard(i: number): void {
    this.bytes.fill(0, i * PAGE, (i + 1) * PAGE);
    this.present[i] = 0;
  }

  release(): void {}
}
