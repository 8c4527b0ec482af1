/**
 * The host kernel's KSM controls (/sys/kernel/mm/ksm/*): read counters, save and restore knobs,
 * and refuse to run when somebody else uses KSM. Shared by validate-kernel and any script that
 * drives the real KSM (e.g. a QEMU guest capture): whoever touches a knob goes through here.
 *
 * KsmSysfs.claim() checks the host (the directory exists, we may write it, run == 0, nothing
 * shared or unshared: pages_shared, pages_sharing, pages_unshared, ksm_zero_pages all 0) and
 * records every knob it may later change. From then on:
 *   - set(knob, value) writes a knob (only knobs in KNOBS; recorded values are restored later);
 *   - restore() unmerges what we merged (run=2, which also resets full_scans), writes every
 *     knob back in an order the kernel accepts (max_page_sharing and merge_across_nodes only
 *     while nothing is shared, so after run=2), and leaves run as found (0);
 *   - restore() also runs on SIGINT/SIGTERM and at process exit (installed by claim(), removed
 *     by restore()), so an interrupted run or a throwing simulator side leaves the host as found;
 *   - a process killed outright (SIGKILL, e.g. a test runner's timeout) runs no handler, so
 *     claim() also writes the recorded knobs to a journal (default /run/vmdedup-ksm-knobs.json
 *     for the real sysfs: /run is cleared at boot, as the knobs are) and restore() deletes it.
 *     The next claim() that finds a journal whose process is gone puts those knobs back first
 *     (and says so on stderr), then checks the host as usual.
 * assertStillOurs() is the between-passes check that nobody else started using KSM: run is the
 * value we last wrote, no knob changed behind our back, and the global rmap-item and merged-page
 * counts equal this process's own (/proc/self/ksm_stat).
 *
 * The root directory is injectable (a fake sysfs directory in tests); the hook onWrite lets a
 * test play ksmd (react to run=1 by writing counters).
 */
import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const KSM_SYSFS_ROOT = "/sys/kernel/mm/ksm";
/** The journal of recorded knobs for the real sysfs (see the header). */
export const KSM_JOURNAL_PATH = "/run/vmdedup-ksm-knobs.json";

/** Knobs a KSM driver may change, in the order restore() writes them back (run last). */
export const KNOBS = [
  "pages_to_scan",
  "sleep_millisecs",
  "smart_scan",
  "use_zero_pages",
  "stable_node_chains_prune_millisecs",
  "max_page_sharing",
  "merge_across_nodes",
  "run",
] as const;
export type KsmKnob = (typeof KNOBS)[number];

/** Counters read after each pass (sysfs names). */
export const COUNTERS = [
  "pages_shared",
  "pages_sharing",
  "pages_unshared",
  "pages_volatile",
  "pages_skipped",
  "ksm_zero_pages",
  "stable_node_chains",
  "stable_node_dups",
  "full_scans",
] as const;
export type KsmCounter = (typeof COUNTERS)[number];
export type KsmCounters = Record<KsmCounter, number>;

/** The host cannot be used (exit 2 of validate-kernel); the message says why. */
export class KsmUnavailableError extends Error {
  override name = "KsmUnavailableError";
}

export interface KsmSysfsOptions {
  root?: string;
  /** Where this process's own KSM use is read (ksm_rmap_items, ksm_merging_pages); null: skip that check. */
  procStat?: string | null;
  /** Test hook, called after every successful write. */
  onWrite?: (knob: KsmKnob, value: string) => void;
  /** Install SIGINT/SIGTERM/exit handlers that restore (default true). */
  handleSignals?: boolean;
  /** The journal of recorded knobs (see the header); default KSM_JOURNAL_PATH for the real sysfs,
   * none for any other root; null: no journal. */
  journalPath?: string | null;
}

interface Journal {
  pid: number;
  root: string;
  saved: Partial<Record<KsmKnob, string>>;
}

/** Whether `pid` still runs: a killed process that its parent has not reaped yet (a zombie) does not. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export class KsmSysfs {
  readonly root: string;
  private readonly procStat: string | null;
  private readonly onWrite?: (knob: KsmKnob, value: string) => void;
  private readonly handleSignals: boolean;
  private saved: Partial<Record<KsmKnob, string>> | null = null;
  private expected: Partial<Record<KsmKnob, string>> = {};
  private handlers: { sig: () => void; exit: () => void } | null = null;
  private readonly journalPath: string | null;

  constructor(opts: KsmSysfsOptions = {}) {
    this.root = opts.root ?? KSM_SYSFS_ROOT;
    this.procStat = opts.procStat === undefined ? "/proc/self/ksm_stat" : opts.procStat;
    this.onWrite = opts.onWrite;
    this.handleSignals = opts.handleSignals ?? true;
    this.journalPath = opts.journalPath !== undefined ? opts.journalPath : this.root === KSM_SYSFS_ROOT ? KSM_JOURNAL_PATH : null;
  }

  /** Raw text of a sysfs file, trimmed; for selectors like advisor_mode "[none] scan-time". */
  readText(name: string): string {
    return readFileSync(join(this.root, name), "utf8").trim();
  }

  readNumber(name: string): number {
    const t = this.readText(name);
    const n = Number(t);
    if (!Number.isFinite(n)) throw new KsmUnavailableError(`${join(this.root, name)} reads "${t}", not a number`);
    return n;
  }

  counters(): KsmCounters {
    const out = {} as KsmCounters;
    for (const c of COUNTERS) out[c] = existsSync(join(this.root, c)) ? this.readNumber(c) : 0;
    return out;
  }

  /** Checks the host is usable and idle, records the knobs, installs the restore handlers. */
  claim(): void {
    if (this.saved) throw new Error("KsmSysfs.claim() called twice");
    if (!existsSync(join(this.root, "run"))) throw new KsmUnavailableError(`${this.root} does not exist: this kernel has no KSM (CONFIG_KSM)`);
    try {
      accessSync(join(this.root, "run"), constants.W_OK);
    } catch {
      throw new KsmUnavailableError(`${join(this.root, "run")} is not writable: run as root`);
    }
    this.recoverJournal();
    const run = this.readNumber("run");
    if (run !== 0) throw new KsmUnavailableError(`KSM is in use by others: run is ${run}, not 0`);
    const busy = ["pages_shared", "pages_sharing", "pages_unshared", "ksm_zero_pages"].filter((c) => existsSync(join(this.root, c)) && this.readNumber(c) !== 0);
    if (busy.length > 0) throw new KsmUnavailableError(`KSM is in use by others: ${busy.map((c) => `${c} ${this.readNumber(c)}`).join(", ")} at the start`);
    const advisor = existsSync(join(this.root, "advisor_mode")) ? this.readText("advisor_mode") : "[none]";
    if (!advisor.includes("[none]")) throw new KsmUnavailableError(`KSM's advisor is on (advisor_mode ${advisor}): somebody tunes KSM`);
    const saved: Partial<Record<KsmKnob, string>> = {};
    for (const k of KNOBS) if (existsSync(join(this.root, k))) saved[k] = this.readText(k);
    this.saved = saved;
    this.expected = { ...saved };
    if (this.journalPath) writeFileSync(this.journalPath, JSON.stringify({ pid: process.pid, root: this.root, saved } satisfies Journal) + "\n");
    if (this.handleSignals) this.installHandlers();
  }

  /** Puts back the knobs of a journal whose process is gone (killed before it could restore). */
  private recoverJournal(): void {
    const path = this.journalPath;
    if (!path || !existsSync(path)) return;
    let j: Journal;
    try {
      j = JSON.parse(readFileSync(path, "utf8")) as Journal;
    } catch {
      throw new KsmUnavailableError(`${path} is not a KSM knob journal (remove it if no vmdedup run is using KSM)`);
    }
    if (j.root !== this.root || processAlive(j.pid)) return; // another root, or its run is still going (claim then refuses: run != 0)
    console.error(`vmdedup: restoring KSM knobs left by an interrupted run (pid ${j.pid}) from ${path}`);
    this.saved = j.saved;
    this.restore(); // deletes the journal
  }

  /** Writes a knob; the first write of each knob is undone by restore(). */
  set(knob: KsmKnob, value: number | boolean): void {
    if (!this.saved) throw new Error("KsmSysfs.set() before claim()");
    if (!(knob in this.saved)) throw new KsmUnavailableError(`${join(this.root, knob)} does not exist on this kernel`);
    const text = typeof value === "boolean" ? (value ? "1" : "0") : String(value);
    this.write(knob, text);
    this.expected[knob] = text;
  }

  private write(knob: KsmKnob, text: string): void {
    writeFileSync(join(this.root, knob), text + "\n");
    this.onWrite?.(knob, text);
  }

  /** Between passes: nobody else changed a knob or merges pages through KSM. The merged-page and
   * rmap-item comparison with this process's own counts is exact only while ksmd is stopped (the
   * two are read at different moments): pass `{ counters: false }` while it runs. */
  assertStillOurs(opts: { counters?: boolean } = {}): void {
    if (!this.saved) return;
    for (const [k, v] of Object.entries(this.expected)) {
      const now = this.readText(k);
      if (now !== v) throw new KsmUnavailableError(`KSM is in use by others: ${k} changed to ${now} (we set ${v})`);
    }
    if (opts.counters === false || this.procStat === null || !existsSync(this.procStat)) return;
    const own = parseKsmStat(readFileSync(this.procStat, "utf8"));
    const c = this.counters();
    const merged = c.pages_shared + c.pages_sharing;
    const items = merged + c.pages_unshared + c.pages_volatile;
    if (merged > own.merging || items > own.rmapItems)
      throw new KsmUnavailableError(
        `KSM is in use by others: the kernel counts ${merged} merged pages and ${items} rmap items, this process ${own.merging} and ${own.rmapItems}`,
      );
  }

  /** Unmerges, writes every recorded knob back, leaves run as found. Safe to call twice. */
  restore(): void {
    const saved = this.saved;
    if (!saved) return;
    this.saved = null;
    this.removeHandlers();
    const errors: string[] = [];
    const tryWrite = (k: KsmKnob, v: string) => {
      try {
        if (this.readText(k) !== v) this.write(k, v);
      } catch (e) {
        errors.push(`${k}=${v}: ${(e as Error).message}`);
      }
    };
    tryWrite("run", "2"); // unmerge everything we merged (also resets full_scans)
    for (const k of KNOBS) if (k !== "run" && saved[k] !== undefined) tryWrite(k, saved[k]!);
    if (saved.run !== undefined) tryWrite("run", saved.run);
    if (errors.length > 0) throw new Error(`could not restore KSM knobs: ${errors.join("; ")}`);
    if (this.journalPath) rmSync(this.journalPath, { force: true });
  }

  /** Knob values recorded by claim() (for reports and tests). */
  savedKnobs(): Readonly<Partial<Record<KsmKnob, string>>> | null {
    return this.saved;
  }

  private installHandlers(): void {
    const sig = () => {
      try {
        this.restore();
      } finally {
        process.exit(130);
      }
    };
    const exit = () => {
      try {
        this.restore();
      } catch {
        /* at exit there is nobody left to tell */
      }
    };
    process.once("SIGINT", sig);
    process.once("SIGTERM", sig);
    process.once("exit", exit);
    this.handlers = { sig, exit };
  }

  private removeHandlers(): void {
    const h = this.handlers;
    if (!h) return;
    process.off("SIGINT", h.sig);
    process.off("SIGTERM", h.sig);
    process.off("exit", h.exit);
    this.handlers = null;
  }
}

/** /proc/<pid>/ksm_stat: "ksm_rmap_items N" lines. */
export function parseKsmStat(text: string): { rmapItems: number; merging: number } {
  const get = (k: string) => Number(new RegExp(`^${k}\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { rmapItems: get("ksm_rmap_items"), merging: get("ksm_merging_pages") };
}
