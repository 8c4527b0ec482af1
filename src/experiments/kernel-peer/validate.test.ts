/**
 * validate-kernel's comparison logic on a fake sysfs directory (runs everywhere): a fake ksmd
 * answers run=1 with one pass of its own ksm policy over the ArrayMemory the kernel side writes,
 * and writes the counters into the fake files. Checks MATCH/DIFF/exit codes, the JSON shape,
 * pages_skipped taken relative to the start, refusal when KSM is in use, and that every knob is
 * back as found afterwards (also after a throw).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner, type Scanner } from "../../dedup/index.ts";
import { ArrayMemory } from "./kernel-memory.ts";
import { COUNTERS, KNOBS, KsmSysfs, KsmUnavailableError, type KsmKnob } from "./ksm-sysfs.ts";
import { chainsChurnMix, quickMixes, type Mix } from "./mixes.ts";
import { validateKernel } from "./validate.ts";

const PAGE = 4096;
const START: Record<string, string> = {
  run: "0", pages_to_scan: "100", sleep_millisecs: "20", smart_scan: "1", use_zero_pages: "0",
  stable_node_chains_prune_millisecs: "2000", max_page_sharing: "256", merge_across_nodes: "1", advisor_mode: "[none] scan-time",
  pages_skipped: "777", // cumulative since boot
};

/** A ksmd stand-in: on run=1, one pass of a ksm scanner over a copy of the ArrayMemory. */
class FakeKsmd {
  mem: ArrayMemory | null = null;
  private hv: Hypervisor | null = null;
  private g: Guest | null = null;
  private s: Scanner | null = null;
  private knobs: Record<string, string> = { ...START };
  passes = 0;
  perturb: ((pass: number, c: Record<string, number>) => void) | null = null;
  constructor(private readonly root: string) {}

  memory = (pages: number) => (this.mem = new ArrayMemory(pages));

  onWrite = (k: KsmKnob, v: string) => {
    this.knobs[k] = v;
    if (k === "run" && v === "2") this.reset();
    if (k === "run" && v === "1") this.pass();
  };

  private reset(): void {
    void this.s?.close();
    this.hv = this.g = this.s = null;
    for (const c of COUNTERS) if (c !== "pages_skipped") writeFileSync(join(this.root, c), "0\n");
  }

  private pass(): void {
    const m = this.mem!;
    if (!this.s) {
      this.hv = new Hypervisor({ frames: m.pages + 64 });
      this.g = this.hv.createGuest({ pages: m.pages });
      this.s = createScanner(this.hv, {
        policy: "ksm", pagesToScan: m.pages + 100, sleepMillisecs: 1000, maxPageSharing: Number(this.knobs.max_page_sharing),
        smartScan: this.knobs.smart_scan === "1", useZeroPages: this.knobs.use_zero_pages === "1",
        stableNodeChainsPruneMillisecs: Number(this.knobs.stable_node_chains_prune_millisecs),
      });
    }
    const g = this.g!;
    for (let i = 0; i < m.pages; i++) {
      const bytes = m.bytes.subarray(i * PAGE, (i + 1) * PAGE);
      if (m.present[i] === 0) {
        if (g.frameOf(i) >= 0) g.discard(i);
      } else if (g.frameOf(i) < 0 || !Buffer.from(g.read(i)).equals(bytes)) g.write(i, 0, bytes);
    }
    void this.s.fullScans(1);
    const st = this.s.stats();
    const c: Record<string, number> = {
      pages_shared: st.pagesShared, pages_sharing: st.pagesSharing, pages_unshared: st.pagesUnshared, pages_volatile: st.pagesVolatile,
      pages_skipped: st.pagesSkipped + 777, ksm_zero_pages: st.zeroPages, stable_node_chains: st.stableNodeChains,
      stable_node_dups: st.stableNodeDups, full_scans: st.fullScans,
    };
    this.passes++;
    this.perturb?.(this.passes, c);
    for (const [k, v] of Object.entries(c)) writeFileSync(join(this.root, k), `${v}\n`);
  }
}

let root: string;
let ksmd: FakeKsmd;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "fake-ksm-"));
  for (const c of COUNTERS) writeFileSync(join(root, c), "0\n");
  for (const [k, v] of Object.entries(START)) writeFileSync(join(root, k), v + "\n");
  ksmd = new FakeKsmd(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const knobsNow = () => Object.fromEntries(KNOBS.map((k) => [k, readFileSync(join(root, k), "utf8").trim()]));
const startKnobs = () => Object.fromEntries(KNOBS.map((k) => [k, START[k]]));
const run = (mixes: Mix[]) => validateKernel({ mixes, sysfs: { root, procStat: null, onWrite: ksmd.onWrite, handleSignals: false }, memory: ksmd.memory });

describe("validate-kernel on a fake sysfs", () => {
  test("the same policy on both sides: every pass MATCH, exit 0, the JSON shape, knobs restored", async () => {
    const r = await run(quickMixes());
    expect(r.exitCode).toBe(0);
    const doc = r.doc!;
    expect(Object.keys(doc)).toEqual(["kernel", "match", "mixes"]);
    expect(doc.match).toBe(true);
    expect(doc.mixes.map((m) => m.name)).toEqual(["static-identical", "chains-4-churn"]);
    expect(doc.mixes[1]!.passes.length).toBe(6); // 2 settling passes + 4 phases
    for (const m of doc.mixes) {
      expect(Object.keys(m)).toEqual(["name", "match", "passes"]);
      for (const p of m.passes) {
        expect(Object.keys(p)).toEqual(["kernel", "ours", "match"]);
        expect(Object.keys(p.kernel)).toEqual([...COUNTERS]);
        expect(p.kernel).toEqual(p.ours); // pages_skipped relative to the start (777 subtracted)
      }
    }
    expect(doc.mixes[1]!.passes[1]!.kernel).toMatchObject({ pages_shared: 733, pages_sharing: 2181, stable_node_chains: 21 });
    expect(r.lines.filter((l) => / pass \d+ /.test(l)).every((l) => l.endsWith("MATCH"))).toBe(true);
    expect(knobsNow()).toEqual(startKnobs());
  });

  test("one counter off in one pass: that pass DIFF with the counter named, exit 1", async () => {
    ksmd.perturb = (pass, c) => {
      if (pass === 4) c.pages_unshared! += 1;
    };
    const r = await run([chainsChurnMix(3)]);
    expect(r.exitCode).toBe(1);
    expect(r.doc!.match).toBe(false);
    expect(r.doc!.mixes[0]!.passes.map((p) => p.match)).toEqual([true, true, true, false, true]);
    expect(r.lines.find((l) => l.includes(" pass 4 "))).toEndWith("DIFF  (unshared 1536 vs 1535)");
    expect(knobsNow()).toEqual(startKnobs());
  });

  test("KSM in use at the start (run 1, or pages shared): exit 2 with the reason, nothing written", async () => {
    writeFileSync(join(root, "run"), "1\n");
    const r1 = await run(quickMixes());
    expect(r1.exitCode).toBe(2);
    expect(r1.reason).toContain("run is 1");
    writeFileSync(join(root, "run"), "0\n");
    writeFileSync(join(root, "pages_shared"), "5\n");
    const r2 = await run(quickMixes());
    expect(r2.exitCode).toBe(2);
    expect(r2.reason).toContain("pages_shared 5");
    expect(knobsNow()).toEqual(startKnobs());
    expect(ksmd.passes).toBe(0);
  });

  test("somebody changes a knob between passes: exit 2, our knobs restored", async () => {
    ksmd.perturb = (pass) => {
      if (pass === 2) writeFileSync(join(root, "pages_to_scan"), "5000\n");
    };
    const r = await run([chainsChurnMix(2)]);
    expect(r.exitCode).toBe(2);
    expect(r.reason).toContain("pages_to_scan changed to 5000");
    expect(knobsNow()).toEqual(startKnobs());
  });

  test("the simulator side throws in the second mix: knobs restored, the error propagates", async () => {
    const bad: Mix = { ...chainsChurnMix(1), name: "bad", knobs: { ...chainsChurnMix(1).knobs, maxPageSharing: 1 } };
    await expect(run([chainsChurnMix(1), bad])).rejects.toThrow(/maxPageSharing/);
    expect(ksmd.passes).toBe(3);
    expect(knobsNow()).toEqual(startKnobs());
  });

  test("no KSM directory: exit 2", async () => {
    const r = await validateKernel({ mixes: quickMixes(), sysfs: { root: join(root, "missing"), procStat: null, handleSignals: false } });
    expect(r.exitCode).toBe(2);
    expect(r.reason).toContain("no KSM");
  });
});

describe("KSM knob journal: a run killed outright (SIGKILL) is undone by the next claim", () => {
  test("claim writes the recorded knobs to the journal, restore deletes it; a dead process's journal is restored first", async () => {
    const journal = join(root, "journal.json");
    const a = new KsmSysfs({ root, procStat: null, handleSignals: false, journalPath: journal });
    a.claim();
    expect(JSON.parse(readFileSync(journal, "utf8")).saved).toEqual(startKnobs());
    a.set("pages_to_scan", 2500);
    a.set("run", 1);
    a.restore();
    expect(existsSync(journal)).toBe(false);
    expect(knobsNow()).toEqual(startKnobs());
    // a process that claimed, changed knobs and was killed: its pid is gone, its journal stays
    const dead = Bun.spawnSync(["true"]).pid;
    writeFileSync(journal, JSON.stringify({ pid: dead, root, saved: startKnobs() }));
    for (const [k, v] of [["run", "1"], ["pages_to_scan", "2500"], ["sleep_millisecs", "1001"], ["smart_scan", "0"]]) writeFileSync(join(root, k!), v + "\n");
    const b = new KsmSysfs({ root, procStat: null, handleSignals: false, journalPath: journal });
    b.claim(); // restores the dead run's knobs, then finds the host idle
    expect(knobsNow()).toEqual(startKnobs());
    b.restore();
    expect(existsSync(journal)).toBe(false);
    // a live process's journal is left alone: its run is still going, so claim refuses
    writeFileSync(journal, JSON.stringify({ pid: process.pid, root, saved: startKnobs() }));
    writeFileSync(join(root, "run"), "1\n");
    expect(() => new KsmSysfs({ root, procStat: null, handleSignals: false, journalPath: journal }).claim()).toThrow(KsmUnavailableError);
    expect(readFileSync(join(root, "run"), "utf8").trim()).toBe("1");
  });
});
