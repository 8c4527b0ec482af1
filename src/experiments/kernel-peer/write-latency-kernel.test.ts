/**
 * The real write-latency measurement (write-latency-kernel.ts) on this host's KSM: runs where
 * the process is root and KSM exists and is idle (run 0, nothing merged), else prints why it
 * skipped. There: stores to merged pages are slower than to unmerged ones (each takes a CoW
 * fault), nearly every pair merged, the fit is a valid write-latency file, and every KSM knob
 * is back as found. Everywhere: a host whose KSM is in use is refused with nothing written.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fitWriteLatency, loadWriteLatency } from "../../sim/index.ts";
import { KNOBS, KsmUnavailableError, KSM_SYSFS_ROOT } from "./ksm-sysfs.ts";
import { measureKernelWriteLatency } from "./write-latency-kernel.ts";

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync(join(KSM_SYSFS_ROOT, "run"))) return `no ${KSM_SYSFS_ROOT} (kernel without KSM)`;
  const read = (f: string) => readFileSync(join(KSM_SYSFS_ROOT, f), "utf8").trim();
  if (read("run") !== "0") return `KSM in use by others (run ${read("run")})`;
  for (const c of ["pages_shared", "pages_sharing", "pages_unshared"]) if (read(c) !== "0") return `KSM in use by others (${c} ${read(c)})`;
  return null;
}
const why = unavailable();

describe("write latency on the host's KSM (ksm_tests -C method)", () => {
  test.if(why === null)("merged stores take the CoW fault: slower than unmerged; knobs restored as found", async () => {
    const found = Object.fromEntries(KNOBS.filter((k) => existsSync(join(KSM_SYSFS_ROOT, k))).map((k) => [k, readFileSync(join(KSM_SYSFS_ROOT, k), "utf8").trim()]));
    let k;
    try {
      k = await measureKernelWriteLatency({ pairs: 2000, rounds: 1 });
    } catch (e) {
      if (!(e instanceof KsmUnavailableError)) throw e;
      console.log(`write-latency-kernel: skipped: KSM became busy (${e.message})`);
      return;
    }
    const left = Object.fromEntries(Object.keys(found).map((n) => [n, readFileSync(join(KSM_SYSFS_ROOT, n), "utf8").trim()]));
    expect(left).toEqual(found);
    expect(k.knobsLeft).toEqual(k.knobsFound);
    expect(k.unmergedNs.length).toBe(2000);
    expect(k.mergedNs.length).toBe(2000);
    expect(k.mergedShare).toBeGreaterThanOrEqual(0.99);
    const doc = fitWriteLatency(k.unmergedNs, k.mergedNs, { description: "test", host: k.host, date: "2026-12-01", timerOverheadNs: k.timerOverheadNs }, 0);
    const m = doc.measured as { unmerged: { p50Ns: number }; merged: { p50Ns: number } };
    expect(m.merged.p50Ns).toBeGreaterThan(m.unmerged.p50Ns);
    const dir = mkdtempSync(join(tmpdir(), "wl-"));
    try {
      writeFileSync(join(dir, "wl.json"), JSON.stringify(doc));
      expect(loadWriteLatency(join(dir, "wl.json")).privateWriteNs.value).toBe(doc.privateWriteNs.value);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`write-latency-kernel: unmerged p50 ${m.unmerged.p50Ns} ns, merged p50 ${m.merged.p50Ns} ns`);
  }, 120_000);

  if (why !== null) test.skip(`real measurement skipped: ${why}`, () => {
    console.log(`write-latency-kernel: skipped: ${why}`);
  });

  test("a KSM in use by others is refused; nothing is written", async () => {
    const root = mkdtempSync(join(tmpdir(), "fake-ksm-"));
    try {
      const files: Record<string, string> = { run: "1", pages_to_scan: "100", sleep_millisecs: "20", pages_shared: "0", pages_sharing: "0", pages_unshared: "0", use_zero_pages: "0" };
      for (const [f, v] of Object.entries(files)) writeFileSync(join(root, f), v + "\n");
      await expect(measureKernelWriteLatency({ pairs: 16, rounds: 1, sysfs: { root, procStat: null, handleSignals: false } })).rejects.toThrow(/in use by others: run is 1/);
      for (const [f, v] of Object.entries(files)) expect(readFileSync(join(root, f), "utf8")).toBe(v + "\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
