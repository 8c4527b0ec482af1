/**
 * The live peer of a capture: the host kernel's KSM merging the captured guests while they run,
 * its counters sampled over time. Knobs go through src/experiments/kernel-peer/ksm-sysfs.ts (the
 * one module that saves and restores them, and refuses when KSM is in use by others); this file
 * adds what a capture needs on top:
 *   - ksmd's nice (--ksmd-nice): found and restored here, on exit and on SIGINT/SIGTERM too
 *     (ksmd at nice 5 beside busy TCG guests on 2 CPUs got 0.07 s of CPU in 90 s: real-guests.md);
 *   - ksmd's CPU time over the capture (/proc/<ksmd>/stat utime + stime);
 *   - the ownership check: the merged pages the kernel counts (pages_shared + pages_sharing)
 *     must not exceed the sum of the QEMU processes' own (/proc/PID/ksm_stat ksm_merging_pages),
 *     and no knob may change behind our back (KsmSysfs.assertStillOurs).
 * The guests' RAM is mergeable because QEMU's mem-merge is on by default (MADV_MERGEABLE).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { KsmSysfs, KsmUnavailableError, parseKsmStat } from "../../src/experiments/kernel-peer/ksm-sysfs.ts";
import { HOST_KSM_COUNTERS, type HostKsmKnobs, type HostKsmSample } from "../../src/trace/index.ts";

export interface KsmPeerOptions {
  pagesToScan: number;
  sleepMs: number;
  smartScan?: number;
  ksmdNice?: number;
}

function ksmdPid(): number | null {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === "ksmd") return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}

function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

export class KsmPeer {
  readonly sysfs = new KsmSysfs({ procStat: null });
  private ksmd: number | null = null;
  private niceFound: number | null = null;
  private ticks0 = 0;
  private t0Ms = 0;
  private onExit: (() => void) | null = null;
  readonly samples: HostKsmSample[] = [];
  knobs: HostKsmKnobs = {};
  ksmdNice: number | undefined;

  constructor(private readonly o: KsmPeerOptions) {}

  /** Claims KSM (throws KsmUnavailableError with the reason) and sets the capture's knobs; run stays 0. */
  claim(): void {
    this.sysfs.claim();
    try {
      this.ksmd = ksmdPid();
      if (this.ksmd === null) throw new KsmUnavailableError("no ksmd thread in /proc");
      this.niceFound = getPriority(this.ksmd);
      this.onExit = () => this.restoreNice();
      process.once("exit", this.onExit);
      this.sysfs.set("pages_to_scan", this.o.pagesToScan);
      this.sysfs.set("sleep_millisecs", this.o.sleepMs);
      if (this.o.smartScan !== undefined) this.sysfs.set("smart_scan", this.o.smartScan);
      if (this.o.ksmdNice !== undefined) setPriority(this.ksmd, this.o.ksmdNice);
      this.ksmdNice = getPriority(this.ksmd);
      for (const k of ["pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages", "max_page_sharing", "merge_across_nodes", "stable_node_chains_prune_millisecs"] as const) {
        const p = `${this.sysfs.root}/${k}`;
        if (existsSync(p)) this.knobs[k] = this.sysfs.readNumber(k);
      }
    } catch (e) {
      this.restore();
      throw e;
    }
  }

  /** Starts ksmd over the guests' RAM; t0Ms is the capture's time origin. */
  start(t0Ms: number): void {
    this.t0Ms = t0Ms;
    this.ticks0 = cpuTicks(this.ksmd!);
    this.sysfs.set("run", 1);
  }

  /** Records the counters now; throws KsmUnavailableError when somebody else uses KSM. */
  sample(qemuPids: readonly number[]): HostKsmSample {
    this.sysfs.assertStillOurs();
    const s: HostKsmSample = { timeSec: Math.round((performance.now() - this.t0Ms) / 10) / 100 };
    for (const c of HOST_KSM_COUNTERS) if (existsSync(`${this.sysfs.root}/${c}`)) s[c] = this.sysfs.readNumber(c);
    let ours = 0;
    for (const pid of qemuPids) if (existsSync(`/proc/${pid}/ksm_stat`)) ours += parseKsmStat(readFileSync(`/proc/${pid}/ksm_stat`, "utf8")).merging;
    const merged = (s.pages_shared ?? 0) + (s.pages_sharing ?? 0);
    if (merged > ours) throw new KsmUnavailableError(`KSM is in use by others: the kernel counts ${merged} merged pages, the guests' QEMU processes ${ours}`);
    this.samples.push(s);
    return s;
  }

  /** CPU seconds ksmd used since start(). */
  ksmdCpuSec(): number {
    return this.ksmd === null ? 0 : (cpuTicks(this.ksmd) - this.ticks0) / 100; // USER_HZ is 100 on Linux
  }

  private restoreNice(): void {
    if (this.ksmd !== null && this.niceFound !== null) {
      try {
        if (getPriority(this.ksmd) !== this.niceFound) setPriority(this.ksmd, this.niceFound);
      } catch {
        /* ksmd cannot vanish; nothing else to do at exit */
      }
    }
  }

  /** Unmerges, writes every knob back, puts ksmd's nice back. Safe to call twice. */
  restore(): void {
    try {
      this.sysfs.restore();
    } finally {
      this.restoreNice();
      if (this.onExit) process.off("exit", this.onExit);
      this.onExit = null;
    }
  }
}
