#!/usr/bin/env bun
/**
 * `bun run capture`: real guest memory over time, as a .vmtrace (workloads/traces/FORMAT.md).
 *
 *   1. images (image.ts, cached by recipe hash): the stock Debian kernel, a busybox initramfs that
 *      mounts the disk, a bookworm disk image with the workloads (guest-scripts.ts);
 *   2. the accelerator (accel.ts): KVM only if it can boot a stock kernel here, else TCG; under TCG
 *      the slowdown is measured (the same gzip job in each guest and on the host);
 *   3. the live peer (ksm-peer.ts), where root and /sys/kernel/mm/ksm exist and --no-ksm is not
 *      given: KSM claimed (refused when in use by others) and its knobs set, run=1 from t = 0;
 *   4. N identical guests booted at once (one disk image, snapshot=on), each running the workload
 *      from READY; t = 0 when the last is READY;
 *   5. every --every seconds, all guests dumped in parallel (qemu.ts: stop, pagemap, pmemsave into
 *      a pipe hashed as it streams, cont); KSM counters sampled every second and at each round;
 *   6. QEMU killed, KSM and ksmd's nice restored (also on SIGINT/SIGTERM/exit), the trace written
 *      (through a temporary file: an interrupted capture leaves no trace file).
 * Times in the trace are host seconds from t = 0 (see FORMAT.md, "Captured traces", on scaling
 * churn by meta.tcgSlowdown).
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { join } from "node:path";
import { $ } from "zx";
import { KsmUnavailableError } from "../../src/experiments/kernel-peer/ksm-sysfs.ts";
import { DigestTable, newHeader, TraceInputError, TraceWriter, type GuestImage, type TraceMeta } from "../../src/trace/index.ts";
import { checkOutputPath } from "../../src/trace/pipeline.ts";
import { chooseAccel, hostCalibSec, type AccelChoice } from "./accel.ts";
import { CaptureUsageError, HELP, parseCaptureArgs, type CaptureOptions } from "./args.ts";
import { CaptureSetupError, ensureDisk, ensureKernel, ensureRootInitrd, ensureTinyInitrd, SCRATCH, type DiskImage, type Kernel } from "./image.ts";
import { KsmPeer } from "./ksm-peer.ts";
import { BackingReader } from "./pagemap.ts";
import { QemuGuest, type DumpResult } from "./qemu.ts";

const WORKLOAD_TEXT: Record<CaptureOptions["workload"], string> = {
  build: "build: gcc -O2 builds Lua 5.4.4 (Debian source, make posix) in a loop, in tmpfs",
  web: "web: nginx-light serves 500 static files (1-32 KB); wrk -t1 -c4 in 5 s runs over loopback",
  database: "database: sqlite3 (WAL, on the ext4 disk) with pgbench's TPC-B tables at scale 1 and batches of 100 TPC-B transactions; ids seeded per guest",
};

const t00 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1).padStart(6)} s] ${s}`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function peerFor(o: CaptureOptions): Promise<{ peer: KsmPeer | null; note: string }> {
  if (!o.ksm) return { peer: null, note: "--no-ksm" };
  if (process.getuid?.() !== 0) return { peer: null, note: "not root" };
  if (!existsSync("/sys/kernel/mm/ksm/run")) return { peer: null, note: "no /sys/kernel/mm/ksm (CONFIG_KSM off)" };
  const peer = new KsmPeer({ pagesToScan: o.ksmPagesToScan, sleepMs: o.ksmSleepMs, smartScan: o.ksmSmartScan, ksmdNice: o.ksmdNice });
  peer.claim(); // KsmUnavailableError (in use by others) ends the capture: main() reports it
  return { peer, note: `KSM pages_to_scan ${peer.knobs.pages_to_scan}, sleep_millisecs ${peer.knobs.sleep_millisecs}, smart_scan ${peer.knobs.smart_scan}, ksmd nice ${peer.ksmdNice}` };
}

async function bootAll(o: CaptureOptions, guests: QemuGuest[]): Promise<number[]> {
  await Promise.all(guests.map((g) => g.start()));
  const calib = await Promise.all(
    guests.map(async (g) => {
      const m = await g.waitFor(/CALIB ns=(\d+)[\s\S]*READY wl=/, 400000);
      if (!m) throw new CaptureSetupError(`${g.spec.name} did not print READY (console: ${g.log}): ${g.console().trim().split("\n").slice(-3).join(" / ")}`);
      log(`${g.spec.name} READY (${o.workload}), calibration job ${(Number(m[1]) / 1e9).toFixed(2)} s of guest time`);
      return Number(m[1]) / 1e9;
    }),
  );
  return calib;
}

async function captureRounds(o: CaptureOptions, guests: QemuGuest[], peer: KsmPeer | null, t0: number): Promise<DumpResult[][]> {
  const snapshots = Math.floor(o.durationSec / o.everySec + 1e-9) + 1;
  const sizes = new DigestTable(1 << 16);
  const backing = new BackingReader();
  const pids = guests.map((g) => g.pid);
  let peerError: Error | null = null;
  const tick = peer
    ? setInterval(() => {
        try {
          peer.sample(pids);
        } catch (e) {
          peerError ??= e as Error;
        }
      }, 1000)
    : null;
  const rounds: DumpResult[][] = [];
  try {
    for (let j = 0; j < snapshots; j++) {
      const due = t0 + j * o.everySec * 1000;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      else if (j > 0) log(`round ${j} starts ${(-wait / 1000).toFixed(2)} s late`);
      if (peerError) throw peerError;
      const ks = peer?.sample(pids);
      const res = await Promise.all(guests.map((g) => g.dumpInto(sizes, backing, t0)));
      rounds.push(res);
      const prev = rounds[j - 1];
      const changed = prev ? res.reduce((s, r, g) => s + changedPages(prev[g]!.image, r.image), 0) : 0;
      const pages = res.reduce((s, r) => s + r.image.pageCount, 0);
      const unpop = res.reduce((s, r) => s + r.unpopulated, 0);
      const conflicts = res.reduce((s, r) => s + r.backingConflicts, 0);
      log(
        `round ${j + 1}/${snapshots} at ${res[0]!.stoppedAtSec.toFixed(1)} s: pause ${res.map((r) => r.pauseSec.toFixed(2)).join("/")} s, unpopulated ${((100 * unpop) / pages).toFixed(1)}%` +
          (prev ? `, changed ${((100 * changed) / pages).toFixed(2)}%` : "") +
          (conflicts ? `, ${conflicts} content pages outside host RAM (VGA/ROM window)` : "") +
          (ks ? `; KSM shared ${ks.pages_shared} sharing ${ks.pages_sharing}, ksmd ${peer!.ksmdCpuSec().toFixed(1)} s CPU` : ""),
      );
    }
  } finally {
    if (tick) clearInterval(tick);
    backing.close();
  }
  if (!backing.exact) log("note: page frame numbers unreadable (not root): pages mapped to the shared zero page count as populated");
  return rounds;
}

function changedPages(a: GuestImage, b: GuestImage): number {
  let n = 0;
  const aw = a.digestWords, bw = b.digestWords;
  for (let i = 0; i < a.pageCount; i++) {
    if (a.state[i] !== b.state[i]) n++;
    else if (aw[i * 4] !== bw[i * 4] || aw[i * 4 + 1] !== bw[i * 4 + 1] || aw[i * 4 + 2] !== bw[i * 4 + 2] || aw[i * 4 + 3] !== bw[i * 4 + 3]) n++;
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Captured {
  kernel: Kernel;
  disk: DiskImage;
  accel: AccelChoice;
  peer: KsmPeer | null;
  ksmdCpuSec: number;
  guests: QemuGuest[];
  rounds: DumpResult[][];
  calib: number[];
  hostCalib: number;
}

/** The trace header (times, pauses, metadata) and the snapshots, written through a temporary file. */
async function writeCapturedTrace(o: CaptureOptions, argv: string[], c: Captured): Promise<void> {
  const { kernel, disk, accel, peer, ksmdCpuSec, guests, rounds, calib, hostCalib } = c;
  const pauses = rounds.flat().map((r) => r.pauseSec);
  const slowdown = median(calib) / hostCalib;
  log(`calibration: host ${hostCalib.toFixed(3)} s, guests ${calib.map((c) => c.toFixed(2)).join("/")} s: slowdown ${slowdown.toFixed(1)}x`);
  const qemuVersion = (await $`qemu-system-x86_64 --version`.quiet()).stdout.split("\n")[0]!.trim();
  const uname = (await $`uname -srm`.quiet()).stdout.trim();
  const meta: TraceMeta = {
    source: `bun run capture ${argv.join(" ")}; guest userland Debian bookworm: ${Object.entries(disk.versions).map(([p, v]) => `${p} ${v}`).join(", ")}`,
    guestKernel: `${kernel.release} (${kernel.package} ${kernel.version})`,
    workload: WORKLOAD_TEXT[o.workload],
    intervalSec: o.everySec,
    captureHost: `${uname}, ${cpus().length} CPUs, ${hostname()}; accelerator choice: ${accel.reason}`,
    qemuVersion,
    accelerator: accel.accel,
    ...(accel.accel === "tcg" ? { tcgSlowdown: r3(slowdown) } : {}),
    pauseSecPerDump: r3(pauses.reduce((a, b) => a + b, 0) / pauses.length),
    ...(peer ? { ksmdNice: peer.ksmdNice, ksmdCpuSec: r3(ksmdCpuSec), hostKsm: peer.samples, hostKsmKnobs: peer.knobs } : {}),
  };
  const header = newHeader(
    guests.map((g, gi) => ({ name: g.spec.name, pageCount: g.pages, extents: [[0, g.pages]], timesSec: rounds.map((r) => r3(r[gi]!.stoppedAtSec)), pauseSec: rounds.map((r) => r3(r[gi]!.pauseSec)) })),
    rounds.length,
    meta,
  );
  const w = new TraceWriter(o.out, header);
  try {
    for (const r of rounds) w.addSnapshot(r.map((x) => x.image));
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
  const sorted = [...pauses].sort((a, b) => a - b);
  log(`wrote ${o.out}: ${o.guests} guests x ${rounds.length} snapshots; pause per dump median ${median(pauses).toFixed(2)} s (max ${sorted.at(-1)!.toFixed(2)}); wall ${((performance.now() - t00) / 1000).toFixed(0)} s`);
}

/** Tools, images, accelerator, host calibration, and the live peer's claim (in that order). */
async function prepare(o: CaptureOptions) {
  if ((await $`which qemu-system-x86_64`.quiet().nothrow()).exitCode !== 0) throw new CaptureSetupError("qemu-system-x86_64 is missing: apt-get install qemu-system-x86");
  checkOutputPath(o.out);
  const kernel = await ensureKernel(log);
  const tiny = ensureTinyInitrd();
  const initrd = await ensureRootInitrd(kernel);
  const disk = await ensureDisk(log);
  log(`images: kernel ${kernel.package} ${kernel.version}, disk ${disk.path.split("/").at(-1)}`);
  const accel = await chooseAccel(o.accel, kernel.vmlinuz, tiny, log);
  log(`accelerator: ${accel.accel} (${accel.reason})`);
  const hostCalib = hostCalibSec();
  const { peer, note } = await peerFor(o);
  log(peer ? `live peer: ${note}` : `live peer: none (${note})`);
  return { kernel, initrd, disk, accel, hostCalib, peer };
}

async function capture(o: CaptureOptions, argv: string[]): Promise<void> {
  const { kernel, initrd, disk, accel, hostCalib, peer } = await prepare(o);

  const runDir = join(SCRATCH, `run-${o.workload}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const guests = Array.from({ length: o.guests }, (_, g) =>
    new QemuGuest({ name: `${o.workload}-${g}`, runDir, kernel: kernel.vmlinuz, initrd, disk: disk.path, memMiB: o.memMiB, accel: accel.accel, append: `console=ttyS0 panic=-1 quiet capture.wl=${o.workload} capture.g=${g}` }),
  );
  const killAll = (code?: number) => {
    guests.forEach((g) => g.killNow());
    if (code === 130) console.error("capture: interrupted: QEMU killed, KSM knobs and ksmd's nice restored, no trace written");
  };
  process.once("exit", killAll);
  const onSignal = () => process.exit(130); // exit handlers kill QEMU and restore KSM
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let rounds: DumpResult[][], calib: number[], ksmdCpuSec = 0;
  try {
    log(`booting ${o.guests} guests (${o.memMiB} MiB each, ${accel.accel})`);
    calib = await bootAll(o, guests);
    const t0 = performance.now();
    peer?.start(t0);
    rounds = await captureRounds(o, guests, peer, t0);
    ksmdCpuSec = peer?.ksmdCpuSec() ?? 0;
    for (const g of guests) log(`${g.spec.name}: ${[...g.console().matchAll(/^WORK \S+ (\d+)/gm)].at(-1)?.[1] ?? "0"} workload units done (console ${g.log})`);
  } finally {
    await Promise.all(guests.map((g) => g.kill()));
    peer?.restore();
    process.off("exit", killAll);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  await writeCapturedTrace(o, argv, { kernel, disk, accel, peer, ksmdCpuSec, guests, rounds, calib, hostCalib });
}

async function main(argv: string[]): Promise<number> {
  let o: CaptureOptions;
  try {
    o = parseCaptureArgs(argv);
  } catch (e) {
    if (!(e instanceof CaptureUsageError)) throw e;
    if (e.message === "") {
      console.log(HELP);
      return 0;
    }
    console.error(`capture: ${e.message}\n(bun run capture --help for the flags)`);
    return 2;
  }
  try {
    await capture(o, argv);
    return 0;
  } catch (e) {
    if (e instanceof TraceInputError) {
      console.error(`capture: --out: ${e.message}`);
      return 2;
    }
    if (e instanceof CaptureSetupError || e instanceof KsmUnavailableError || (e as Error).name?.endsWith("Error")) {
      const hint = e instanceof KsmUnavailableError ? " (or capture without the live peer: --no-ksm)" : "";
      console.error(`capture: ${(e as Error).message}${hint}`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
