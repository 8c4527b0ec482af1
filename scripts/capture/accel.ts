/**
 * Which accelerator the guests run under, and how much slower than the host TCG makes them.
 *
 * KVM or TCG: /dev/kvm on this machine class comes from kvm_pvm (a nested page-table hypervisor)
 * that hangs a stock Debian kernel silently (real-guests.md, Problems 1). So: when the kvm_pvm
 * module is loaded, TCG without trying; when /dev/kvm is not usable, TCG; otherwise a probe boot of
 * the busybox guest under KVM must print READY within PROBE_MS, else TCG. The reason is recorded.
 *
 * Slowdown: the fixed CPU job of guest-scripts.ts (gzip -6 of `seq 1 1000000`, Debian's gzip in
 * both) timed by each guest's clock before READY, over the same job on the host (best of 5). The
 * guests run it at the same time, as they boot together, so it includes their sharing of the host
 * CPUs, as the capture does.
 */
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALIB_SEQ } from "./guest-scripts.ts";
import { QemuGuest } from "./qemu.ts";

export const PROBE_MS = 30000;

export interface AccelChoice {
  accel: "kvm" | "tcg";
  reason: string;
}

export async function chooseAccel(want: "auto" | "tcg" | "kvm", kernel: string, tinyInitrd: string, log: (s: string) => void): Promise<AccelChoice> {
  if (want === "tcg") return { accel: "tcg", reason: "--accel tcg" };
  if (want === "kvm") return { accel: "kvm", reason: "--accel kvm" };
  if (existsSync("/sys/module/kvm_pvm")) return { accel: "tcg", reason: "/dev/kvm is kvm_pvm (module loaded), which hangs a stock kernel" };
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { accel: "tcg", reason: "/dev/kvm is missing or not accessible" };
  }
  log(`accelerator: probe boot under KVM (READY within ${PROBE_MS / 1000} s)`);
  const run = mkdtempSync(join(tmpdir(), "vmdedup-kvm-probe-"));
  const g = new QemuGuest({ name: "probe", runDir: run, kernel, initrd: tinyInitrd, append: "console=ttyS0 panic=-1 quiet", memMiB: 128, accel: "kvm" });
  try {
    await g.start();
    const ok = await g.waitFor(/READY wl=tiny/, PROBE_MS);
    return ok ? { accel: "kvm", reason: "probe boot under KVM reached READY" } : { accel: "tcg", reason: `probe boot under KVM printed no READY within ${PROBE_MS / 1000} s` };
  } catch (e) {
    return { accel: "tcg", reason: `KVM probe failed: ${(e as Error).message}` };
  } finally {
    await g.kill();
    rmSync(run, { recursive: true, force: true });
  }
}

/** Host seconds for the calibration job (best of `trials`). */
export function hostCalibSec(trials = 5): number {
  const dir = mkdtempSync(join(tmpdir(), "vmdedup-calib-"));
  try {
    const f = join(dir, "calib");
    writeFileSync(f, Array.from({ length: CALIB_SEQ }, (_, i) => i + 1).join("\n") + "\n");
    let best = Infinity;
    for (let t = 0; t < trials; t++) {
      const t0 = performance.now();
      const r = Bun.spawnSync(["gzip", "-6", "-c", f], { stdout: "ignore" });
      if (r.exitCode !== 0) throw new Error("gzip failed on the host");
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
