/**
 * Which guest pages the host has backed: the QEMU process's guest-RAM mapping in /proc/PID/smaps
 * and its entries in /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst).
 *
 *   findGuestRam()   the RAM block is the mergeable ("mg" in VmFlags: QEMU madvises guest RAM
 *                    MADV_MERGEABLE, mem-merge=on) anonymous mapping of at least the guest's size;
 *                    the smallest such, whose start is guest-physical address 0 of a pc guest
 *                    below 4 GiB (the VGA/ROM window at 640 KiB-1 MiB reads the devices, not this RAM);
 *   readPagemap()    one u64 per page, read while the guest is paused: bit 63 present, bit 62
 *                    swapped, bits 0-54 the frame number (0 unless the reader has CAP_SYS_ADMIN);
 *   backingMap()     after the page bytes are known: a page is backed when present or swapped,
 *                    except a present page mapped to the shared zero page or the huge zero page
 *                    (KPF_ZERO_PAGE, bit 24 of /proc/kpageflags at its frame): reading untouched guest
 *                    RAM (which pmemsave itself does) maps those, and they are not host memory of the
 *                    guest's own. Only pages whose bytes are all zero are looked up (a page with content
 *                    has a frame of its own); zero-page frames are cached, others looked up each time.
 * Without root the frame numbers read 0, so zero-page mappings cannot be told apart and count as
 * backed (`exact` false).
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { PAGE_SIZE } from "../../src/hypervisor/index.ts";
import { PAGE_ZERO, type GuestImage } from "../../src/trace/index.ts";

export interface RamMapping {
  start: number;
  bytes: number;
}

/** The guest-RAM mapping of QEMU process `pid` for a guest of `ramBytes`, or an Error saying why not. */
export function findGuestRam(pid: number, ramBytes: number): RamMapping {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  let best: RamMapping | null = null;
  let cur: RamMapping | null = null;
  let anon = false;
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      cur = { start: parseInt(m[1]!, 16), bytes: parseInt(m[2]!, 16) - parseInt(m[1]!, 16) };
      anon = m[3]!.startsWith("rw") && m[4] === "0" && m[5]!.trim() === "";
      continue;
    }
    if (cur && anon && line.startsWith("VmFlags:") && / mg( |$)/.test(line) && cur.bytes >= ramBytes && (!best || cur.bytes < best.bytes)) best = cur;
  }
  if (!best) throw new Error(`no mergeable anonymous mapping of ${ramBytes} bytes in /proc/${pid}/smaps (QEMU's mem-merge off?)`);
  return best;
}

/** Raw pagemap entries of the mapping's first `pages` pages. */
export function readPagemap(pid: number, ram: RamMapping, pages: number): BigUint64Array {
  const out = new BigUint64Array(pages);
  const fd = openSync(`/proc/${pid}/pagemap`, "r");
  try {
    const buf = Buffer.from(out.buffer);
    let done = 0;
    const base = (ram.start / PAGE_SIZE) * 8;
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, base + done);
      if (n <= 0) throw new Error(`short read of /proc/${pid}/pagemap`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const PRESENT = 1n << 63n, SWAPPED = 1n << 62n, PFN_MASK = (1n << 55n) - 1n;
const KPF_ZERO_PAGE = 1n << 24n;

export class BackingReader {
  private readonly zeroPfns = new Set<number>();
  private kpageflags: number | null = null;
  /** Whether frame numbers are readable (root), so zero-page mappings are recognised. */
  exact = false;

  constructor() {
    try {
      this.kpageflags = openSync("/proc/kpageflags", "r");
    } catch {
      this.kpageflags = null;
    }
  }

  private isZeroFrame(pfn: number): boolean {
    if (this.zeroPfns.has(pfn)) return true;
    if (this.kpageflags === null) return false;
    const b = Buffer.alloc(8);
    if (readSync(this.kpageflags, b, 0, 8, pfn * 8) !== 8) return false;
    const zero = (b.readBigUInt64LE(0) & KPF_ZERO_PAGE) !== 0n;
    if (zero) this.zeroPfns.add(pfn);
    return zero;
  }

  /** 1 per page the host backs with memory of the guest's own, 0 otherwise. */
  backingMap(entries: BigUint64Array, image: GuestImage): Uint8Array {
    const backed = new Uint8Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if ((e & SWAPPED) !== 0n) backed[i] = 1;
      else if ((e & PRESENT) !== 0n) {
        const pfn = Number(e & PFN_MASK);
        if (pfn !== 0) this.exact = this.kpageflags !== null;
        backed[i] = pfn !== 0 && image.state[i] === PAGE_ZERO && this.isZeroFrame(pfn) ? 0 : 1;
      }
    }
    return backed;
  }

  close(): void {
    if (this.kpageflags !== null) closeSync(this.kpageflags);
    this.kpageflags = null;
  }
}
