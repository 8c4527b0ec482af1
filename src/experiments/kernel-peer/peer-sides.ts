/**
 * The two sides of validate-kernel, each running one mix pass by pass and returning the
 * counters after every pass, under sysfs names:
 *
 *   ours    a Hypervisor with one guest per mix guest and the ksm policy with the mix's knobs,
 *           pagesToScan above the page count (one batch = one pass) and sleepMillisecs equal
 *           to the kernel side's, so the simulated prune clock advances the same per pass.
 *   kernel  the host's ksmd over one anonymous MADV_MERGEABLE mapping (kernel-memory.ts),
 *           made to do exactly one pass per wake-up (kernel-peer.md): pages_to_scan above the
 *           page count (ksm_do_scan ends its batch when the full scan ends), a long
 *           sleep_millisecs, and run=0 written as soon as full_scans moves. Between passes
 *           ksmd is stopped, so the counters are exact, and the operations are applied then.
 *           ksmd is woken by writing run=1 and then changing sleep_millisecs by one (its sleep
 *           ends when that knob changes), so a pass does not wait out the previous sleep.
 *           pages_skipped is cumulative since boot: the value at the mix's start is subtracted.
 */
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../../dedup/index.ts";
import type { Scanner } from "../../dedup/index.ts";
import { ArrayMemory, MmapMemory, type PeerMemory } from "./kernel-memory.ts";
import { COUNTERS, KsmUnavailableError, type KsmCounters, type KsmSysfs } from "./ksm-sysfs.ts";
import { fillContent, PAGE_SIZE, type Mix } from "./mixes.ts";

/** ksmd's sleep between passes on the kernel side (and the simulated clock's step on ours). */
export const PASS_SLEEP_MS = 10_000; // long: on a loaded host a late poll must not let ksmd start a second pass
/** A pass must end within this, else the host is too busy (or ksmd is not scanning us). */
const PASS_TIMEOUT_MS = 60_000;

export type PassCounters = KsmCounters;

/** One compared pass: which step, which pass of it. */
export interface PassLabel {
  step: string;
  index: number;
}

export function passLabels(mix: Mix): PassLabel[] {
  const out: PassLabel[] = [];
  for (const s of mix.steps) for (let p = 0; p < s.passes; p++) out.push({ step: s.passes > 1 ? `${s.label} ${p + 1}` : s.label, index: out.length + 1 });
  return out;
}

// ---- ours ---------------------------------------------------------------------------------------

export async function runOurs(mix: Mix): Promise<PassCounters[]> {
  const total = mix.guests * mix.pagesPerGuest;
  const hv = new Hypervisor({ frames: total + 64 });
  const guests: Guest[] = [];
  for (let g = 0; g < mix.guests; g++) guests.push(hv.createGuest({ pages: mix.pagesPerGuest, name: `g${g}` }));
  const k = mix.knobs;
  const s: Scanner = createScanner(hv, {
    policy: "ksm",
    pagesToScan: total + 100,
    sleepMillisecs: PASS_SLEEP_MS,
    maxPageSharing: k.maxPageSharing,
    smartScan: k.smartScan,
    useZeroPages: k.useZeroPages,
    stableNodeChainsPruneMillisecs: k.stableNodeChainsPruneMillisecs,
  });
  const buf = new Uint8Array(PAGE_SIZE);
  const out: PassCounters[] = [];
  try {
    for (const step of mix.steps) {
      for (let i = 0; i < step.pages.length; i++) {
        const p = step.pages[i]!;
        const g = guests[Math.floor(p / mix.pagesPerGuest)]!;
        const gfn = p % mix.pagesPerGuest;
        const c = step.contents[i]!;
        if (c < 0) g.discard(gfn);
        else {
          fillContent(c, buf);
          g.write(gfn, 0, buf);
        }
      }
      for (let pass = 0; pass < step.passes; pass++) {
        await s.fullScans(1);
        out.push(oursCounters(s));
      }
    }
    hv.audit();
  } finally {
    await s.close();
  }
  return out;
}

function oursCounters(s: Scanner): PassCounters {
  const st = s.stats();
  return {
    pages_shared: st.pagesShared,
    pages_sharing: st.pagesSharing,
    pages_unshared: st.pagesUnshared,
    pages_volatile: st.pagesVolatile,
    pages_skipped: st.pagesSkipped,
    ksm_zero_pages: st.zeroPages,
    stable_node_chains: st.stableNodeChains,
    stable_node_dups: st.stableNodeDups,
    full_scans: st.fullScans,
  };
}

// ---- kernel -------------------------------------------------------------------------------------

export interface KernelSideOptions {
  sysfs: KsmSysfs;
  /** Guest memory factory (default: an mmap'ed MADV_MERGEABLE region). */
  memory?: (pages: number) => PeerMemory;
  sleep?: (ms: number) => Promise<void>;
  /** Writes content id `c` (>= 0) into a page (default: the mixes' fillContent); e.g. pages synthesised from a trace. */
  fill?: (c: number, out: Uint8Array) => void;
}

/** Runs one mix through the host's ksmd; sysfs must be claimed. Leaves KSM stopped and empty. */
export async function runKernel(mix: Mix, o: KernelSideOptions): Promise<PassCounters[]> {
  const sys = o.sysfs;
  const sleep = o.sleep ?? ((ms: number) => Bun.sleep(ms));
  const total = mix.guests * mix.pagesPerGuest;
  sys.set("run", 2); // unmerge whatever a previous mix left, full_scans back to 0
  sys.set("run", 0);
  const left = sys.counters();
  if (left.pages_shared + left.pages_sharing + left.pages_unshared + left.ksm_zero_pages !== 0)
    throw new KsmUnavailableError(`KSM is in use by others: pages still merged after run=2 (${JSON.stringify(left)})`);
  sys.set("pages_to_scan", total + 100);
  sys.set("sleep_millisecs", PASS_SLEEP_MS);
  sys.set("max_page_sharing", mix.knobs.maxPageSharing);
  sys.set("smart_scan", mix.knobs.smartScan);
  sys.set("use_zero_pages", mix.knobs.useZeroPages);
  sys.set("stable_node_chains_prune_millisecs", mix.knobs.stableNodeChainsPruneMillisecs);
  const skipped0 = sys.readNumber("pages_skipped");
  const mem = (o.memory ?? ((n: number) => new MmapMemory(n)))(total);
  const out: PassCounters[] = [];
  let sleepMs = PASS_SLEEP_MS;
  try {
    for (const step of mix.steps) {
      for (let i = 0; i < step.pages.length; i++) {
        const c = step.contents[i]!;
        if (c < 0) mem.discard(step.pages[i]!);
        else (o.fill ?? fillContent)(c, mem.page(step.pages[i]!));
      }
      for (let pass = 0; pass < step.passes; pass++) {
        sys.assertStillOurs();
        const target = sys.readNumber("full_scans") + 1;
        sys.set("run", 1);
        sleepMs = sleepMs === PASS_SLEEP_MS ? PASS_SLEEP_MS + 1 : PASS_SLEEP_MS;
        sys.set("sleep_millisecs", sleepMs); // ends ksmd's current sleep at once
        const t0 = performance.now();
        while (sys.readNumber("full_scans") < target) {
          if (performance.now() - t0 > PASS_TIMEOUT_MS) throw new KsmUnavailableError(`ksmd did not finish a pass in ${PASS_TIMEOUT_MS / 1000} s`);
          await sleep(1);
        }
        const seen = performance.now();
        sys.set("run", 0);
        if (performance.now() - seen > PASS_SLEEP_MS / 2)
          throw new KsmUnavailableError(`this process was too slow to stop ksmd after a pass (the host is too busy to compare pass by pass)`);
        const c = sys.counters();
        if (c.full_scans !== target) throw new KsmUnavailableError(`ksmd ran ${c.full_scans - target + 1} passes instead of one`);
        c.pages_skipped -= skipped0;
        out.push(c);
      }
    }
  } finally {
    mem.release();
    sys.set("run", 2);
    sys.set("run", 0);
  }
  return out;
}

/** A counter-by-counter comparison: the names that differ. */
export function differingCounters(a: PassCounters, b: PassCounters): (typeof COUNTERS)[number][] {
  return COUNTERS.filter((c) => a[c] !== b[c]);
}

export { ArrayMemory };
