/**
 * The replay's exactness check (issue 11 part 4): a one-snapshot trace replayed under ksm
 * (smart_scan off) reaches, pass by pass, exactly the counters the host kernel's KSM reaches on
 * the same synthesised pages. Ours: the Simulation replaying the trace, pages_to_scan above the
 * page count (one batch = one full pass, as on the kernel side) and ksmd's sleep between passes
 * (so the prune clock of stable-node chains moves alike); counters read after each pass. Kernel:
 * the validate-kernel harness (peer-sides.ts runKernel over an MADV_MERGEABLE mapping), given
 * the replay's first-snapshot writes and the replay's page bytes (synthesizePage). The trace
 * holds unpopulated pages (never touched on either side), > 256 zero pages (stable-node chains
 * at max_page_sharing 256), contents shared across guests and private ones.
 * Runs where root and an idle KSM exist; elsewhere (or when another process's mergeable memory,
 * e.g. a running QEMU guest, shows up in ksmd's counters) it prints why it skipped. Every knob is put
 * back as found (ksm-sysfs.ts), which the test checks.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadReplayTrace, Simulation, synthesizePage, traceWorkloadSpec } from "../../sim/index.ts";
import { seriesGuests, tmpDir, writeTrace } from "../../sim/replay-fixtures.test-util.ts";
import { COUNTERS, KNOBS, KsmSysfs, KsmUnavailableError, type KsmCounters } from "./ksm-sysfs.ts";
import type { Mix } from "./mixes.ts";
import { differingCounters, PASS_SLEEP_MS, runKernel } from "./peer-sides.ts";

const KSM = "/sys/kernel/mm/ksm";
const read = (k: string) => readFileSync(join(KSM, k), "utf8").trim();

function skipReason(): string | null {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync(join(KSM, "run"))) return `no ${KSM}`;
  if (read("run") !== "0") return `KSM in use (run ${read("run")})`;
  if (read("pages_shared") !== "0" || read("pages_sharing") !== "0") return "KSM in use (pages shared)";
  return null;
}
const reason = skipReason();
if (reason) console.log(`trace replay vs the host kernel's KSM: skipped (${reason})`);

const GUESTS = 3, PAGES = 1024, PASSES = 5;

/** The replay's counters after each of its first `passes` full passes, under sysfs names. */
async function replayPasses(path: string, passes: number): Promise<KsmCounters[]> {
  const sim = new Simulation({
    workload: traceWorkloadSpec(path), policy: "ksm", smartScan: false, pagesToScan: GUESTS * PAGES + 100, sleepMillisecs: PASS_SLEEP_MS,
    durationSec: (passes * PASS_SLEEP_MS) / 1000 + 1, audit: true,
  });
  const out: KsmCounters[] = [];
  for (let k = 0; k < sim.ticks && out.length < passes; k++) {
    await sim.tick(k);
    const s = sim.scanner.stats();
    if (s.fullScans === out.length + 1)
      out.push({
        pages_shared: s.pagesShared, pages_sharing: s.pagesSharing, pages_unshared: s.pagesUnshared, pages_volatile: s.pagesVolatile,
        pages_skipped: s.pagesSkipped, ksm_zero_pages: s.zeroPages, stable_node_chains: s.stableNodeChains, stable_node_dups: s.stableNodeDups,
        full_scans: s.fullScans,
      });
    expect(s.fullScans).toBeLessThanOrEqual(out.length); // one batch is one pass
  }
  sim.hv.audit();
  await sim.scanner.close();
  return out;
}

/** The replay's boot writes (every populated page of the one snapshot) as a validate-kernel mix. */
function mixOf(path: string, passes: number): Mix {
  const t = loadReplayTrace(path);
  const pages: number[] = [], contents: number[] = [];
  t.guests.forEach((g, gi) => {
    for (let e = 0; e < g.eventStart[1]!; e++) {
      pages.push(gi * PAGES + g.eventPage[e]!);
      contents.push(g.eventCode[e]!); // 0 zero, 1 + k content k (the replay's codes; no discards in a first snapshot)
    }
  });
  return {
    name: "trace-replay", description: "a one-snapshot trace's pages, synthesised as the replay writes them", guests: 1, pagesPerGuest: GUESTS * PAGES,
    knobs: { maxPageSharing: 256, smartScan: false, useZeroPages: false, stableNodeChainsPruneMillisecs: 2000 },
    steps: [{ label: "snapshot 0", pages: Int32Array.from(pages), contents: Int32Array.from(contents), passes }],
  };
}

describe("trace replay vs the host kernel's KSM", () => {
  test.skipIf(reason !== null)("a one-snapshot trace: every counter equal after every pass; knobs as before", async () => {
    const path = writeTrace(join(tmpDir("vmdedup-replay-kernel-"), "one.vmtrace"), seriesGuests(GUESTS, PAGES, 1, 5, 0, 21));
    const t = loadReplayTrace(path);
    const zero = t.guests.reduce((n, g) => n + [...g.eventCode.subarray(0, g.eventStart[1]!)].filter((c) => c === 0).length, 0);
    expect(zero).toBeGreaterThan(256); // stable-node chains on both sides
    const ours = await replayPasses(path, PASSES);
    expect(ours.length).toBe(PASSES);
    const before = Object.fromEntries(KNOBS.map((k) => [k, read(k)]));
    const sys = new KsmSysfs();
    let kernel: KsmCounters[];
    try {
      sys.claim();
    } catch (e) {
      if (!(e instanceof KsmUnavailableError)) throw e;
      console.log(`trace replay vs the host kernel's KSM: skipped at claim (${e.message})`);
      return;
    }
    let busy: string | null = null;
    try {
      kernel = await runKernel(mixOf(path, PASSES), {
        sysfs: sys,
        fill: (c, out) => void (c === 0 ? out.fill(0) : synthesizePage(t.digests, c - 1, t.sizeClass[c - 1]!, out)),
      });
    } catch (e) {
      // e.g. another process's MADV_MERGEABLE memory (a QEMU guest) that ksmd scans beside ours
      if (!(e instanceof KsmUnavailableError)) throw e;
      busy = e.message;
      kernel = [];
    } finally {
      sys.restore();
    }
    expect(Object.fromEntries(KNOBS.map((k) => [k, read(k)]))).toEqual(before);
    if (busy !== null) {
      console.log(`trace replay vs the host kernel's KSM: skipped during the kernel side (${busy}); knobs restored`);
      return;
    }
    const rows = ours.map((o, i) => ({ pass: i + 1, ours: o, kernel: kernel[i]!, differ: differingCounters(o, kernel[i]!) }));
    console.log(`trace replay vs kernel KSM (${GUESTS} guests x ${PAGES} pages, smart_scan 0, max_page_sharing 256):`);
    for (const r of rows) console.log(`  pass ${r.pass}: ${r.differ.length ? `DIFF ${r.differ.join(",")}` : "MATCH"} ${COUNTERS.map((c) => `${c}=${r.kernel[c]}${r.ours[c] !== r.kernel[c] ? `/ours ${r.ours[c]}` : ""}`).join(" ")}`);
    expect(rows.map((r) => r.differ)).toEqual(rows.map(() => []));
    expect(ours[PASSES - 1]!.pages_sharing).toBeGreaterThan(0);
    expect(ours[PASSES - 1]!.stable_node_chains).toBeGreaterThan(0);
  }, 120_000);
});
