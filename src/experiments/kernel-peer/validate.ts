/**
 * validate-kernel's logic: run every mix through the host kernel's KSM and through the ksm
 * policy, compare the counters pass by pass, and report. Output: one line per mix and pass
 * (kernel counters, ours, MATCH/DIFF) or, with json, the document
 *   { kernel: uname -r, match, mixes: [ { name, match, passes: [ { kernel, ours, match } ] } ] }
 * with sysfs counter names. Exit code 0 = all match, 1 = a difference, 2 = cannot run (reason).
 *
 * The simulator side runs first for each mix (it may throw: nothing of the host has been
 * touched for that mix yet), then the kernel side; KsmSysfs restores every knob at the end,
 * on SIGINT/SIGTERM and on any throw.
 */
import { release } from "node:os";
import { COUNTERS, KsmSysfs, KsmUnavailableError, type KsmSysfsOptions } from "./ksm-sysfs.ts";
import type { PeerMemory } from "./kernel-memory.ts";
import { fullMixes, quickMixes, type Mix } from "./mixes.ts";
import { differingCounters, passLabels, runKernel, runOurs, type PassCounters } from "./peer-sides.ts";

export interface ValidationPass {
  kernel: PassCounters;
  ours: PassCounters;
  match: boolean;
}
export interface ValidationMix {
  name: string;
  match: boolean;
  passes: ValidationPass[];
}
export interface ValidationDoc {
  kernel: string;
  match: boolean;
  mixes: ValidationMix[];
}

export interface ValidateOptions {
  quick?: boolean;
  /** Replaces the mix set (tests). */
  mixes?: Mix[];
  sysfs?: KsmSysfsOptions;
  memory?: (pages: number) => PeerMemory;
  /** Check for Linux and root first (default: when sysfs.root is not injected). */
  requireRoot?: boolean;
  /** Receives each output line as it is made (progress); default none. */
  onLine?: (line: string) => void;
}

export interface ValidateOutcome {
  exitCode: 0 | 1 | 2;
  doc: ValidationDoc | null;
  lines: string[];
  /** Why it could not run (exit 2). */
  reason?: string;
}

const SHORT: Record<(typeof COUNTERS)[number], string> = {
  pages_shared: "shared",
  pages_sharing: "sharing",
  pages_unshared: "unshared",
  pages_volatile: "volatile",
  pages_skipped: "skipped",
  ksm_zero_pages: "zero",
  stable_node_chains: "chains",
  stable_node_dups: "dups",
  full_scans: "scans",
};

/** "1/2/3/..." in COUNTERS order. */
function vec(c: PassCounters): string {
  return COUNTERS.map((k) => String(c[k])).join("/");
}

export function legendLine(): string {
  return `counters: ${COUNTERS.map((k) => SHORT[k]).join("/")} (sysfs: ${COUNTERS.join(", ")})`;
}

export function passLine(mix: string, pass: number, label: string, r: ValidationPass): string {
  const diff = r.match ? "" : `  (${differingCounters(r.kernel, r.ours).map((k) => `${SHORT[k]} ${r.kernel[k]} vs ${r.ours[k]}`).join(", ")})`;
  return `${mix} pass ${pass} (${label}): kernel ${vec(r.kernel)}  ours ${vec(r.ours)}  ${r.match ? "MATCH" : "DIFF"}${diff}`;
}

/** Compares per-pass counters; a missing pass on either side is a difference. */
export function compareMix(name: string, kernel: PassCounters[], ours: PassCounters[]): ValidationMix {
  const passes: ValidationPass[] = [];
  const n = Math.max(kernel.length, ours.length);
  const empty = Object.fromEntries(COUNTERS.map((c) => [c, -1])) as PassCounters;
  for (let i = 0; i < n; i++) {
    const k = kernel[i] ?? empty;
    const o = ours[i] ?? empty;
    passes.push({ kernel: k, ours: o, match: differingCounters(k, o).length === 0 });
  }
  return { name, match: passes.every((p) => p.match), passes };
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

export async function validateKernel(o: ValidateOptions = {}): Promise<ValidateOutcome> {
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    o.onLine?.(l);
  };
  const cannot = (reason: string): ValidateOutcome => ({ exitCode: 2, doc: null, lines, reason });
  if (o.requireRoot ?? o.sysfs?.root === undefined) {
    if (process.platform !== "linux") return cannot(`not Linux (${process.platform}): no KSM`);
    if (!isRoot()) return cannot(`not root: KSM's knobs in /sys/kernel/mm/ksm need root`);
  }
  const sysfs = new KsmSysfs(o.sysfs);
  const mixes = o.mixes ?? (o.quick ? quickMixes() : fullMixes());
  const doc: ValidationDoc = { kernel: release(), match: true, mixes: [] };
  try {
    sysfs.claim();
    emit(`kernel ${doc.kernel}: ${mixes.length} mixes, ${legendLine()}`);
    for (const mix of mixes) {
      const ours = await runOurs(mix);
      const kernel = await runKernel(mix, { sysfs, memory: o.memory });
      const r = compareMix(mix.name, kernel, ours);
      const labels = passLabels(mix);
      r.passes.forEach((p, i) => emit(passLine(mix.name, i + 1, labels[i]?.step ?? "?", p)));
      emit(`${mix.name}: ${r.match ? "MATCH" : "DIFF"} (${mix.description})`);
      doc.mixes.push(r);
      doc.match &&= r.match;
    }
  } catch (e) {
    restoreQuietly(sysfs, lines);
    if (e instanceof KsmUnavailableError) return cannot(e.message);
    throw e;
  }
  sysfs.restore();
  emit(doc.match ? `all ${doc.mixes.length} mixes MATCH` : `DIFF in ${doc.mixes.filter((m) => !m.match).map((m) => m.name).join(", ")}`);
  return { exitCode: doc.match ? 0 : 1, doc, lines };
}

function restoreQuietly(sysfs: KsmSysfs, lines: string[]): void {
  try {
    sysfs.restore();
  } catch (e) {
    lines.push(`warning: ${(e as Error).message}`);
  }
}
