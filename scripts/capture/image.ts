/**
 * The guest images of a capture, built from Debian packages and cached in .scratch/capture/,
 * each under a name that carries the hash of its recipe (so an image is rebuilt only when its
 * recipe changes, and an old one is never mistaken for a new one):
 *   kernel-<package>_<version>/      the stock kernel: `linux-image-amd64`'s dependency as apt
 *                                    resolves it today (apt-cache depends), fetched with
 *                                    `apt-get download` and unpacked with `dpkg-deb -x`, never
 *                                    installed; depmod run inside it;
 *   tiny-<hash>.cpio.gz              busybox-static + TINY_INIT (the test guest, no disk);
 *   root-initrd-<hash>.cpio.gz       busybox-static, the disk/ext4 modules in modprobe's load order,
 *                                    rootInit() (mounts /dev/vda, switch_root to /capture/init);
 *   rootfs-<hash>/                   mmdebstrap --variant=apt of bookworm with the workloads'
 *                                    packages (gcc, make, nginx-light, wrk, sqlite3, ...);
 *   disk-<hash>.ext4                 that tree plus /capture (guest-scripts.ts), Lua's source
 *                                    (apt-get source lua5.4, through a private sources list that
 *                                    leaves /etc/apt alone) and 500 static files for nginx,
 *                                    made with `mke2fs -d`; guests attach it with snapshot=on.
 * The archives are written by cpio.ts, so they are reproducible byte for byte.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "zx";
import { cpioNewc, type CpioEntry } from "./cpio.ts";
import { DISK_FILES, rootInit, TINY_INIT } from "./guest-scripts.ts";

export const SCRATCH = join(import.meta.dir, "../../.scratch/capture");
const BUSYBOX = "/bin/busybox";
/** Modules the rich guests load from the initramfs (virtio, ext4 are modules in Debian's kernel). */
export const ROOT_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];
export const ROOTFS_PACKAGES = ["gcc", "make", "libc6-dev", "nginx-light", "wrk", "sqlite3", "busybox", "procps", "iproute2", "kmod", "gzip", "mawk", "mount"];
export const MIRROR_LINES = [
  "deb http://deb.debian.org/debian bookworm main",
  "deb http://deb.debian.org/debian bookworm-updates main",
  "deb http://deb.debian.org/debian-security bookworm-security main",
];

export class CaptureSetupError extends Error {
  override name = "CaptureSetupError";
}

const hashOf = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
};

export interface Kernel {
  package: string;
  version: string;
  /** uname -r of the guest kernel (the package name without "linux-image-"). */
  release: string;
  dir: string;
  vmlinuz: string;
}

/** Which kernel `linux-image-amd64` means today (apt's lists, no network). */
export async function resolveKernel(): Promise<{ package: string; version: string }> {
  const dep = await $`apt-cache depends linux-image-amd64`.quiet().nothrow();
  const pkg = /Depends:\s*(linux-image-\S+)/.exec(dep.stdout)?.[1];
  if (dep.exitCode !== 0 || !pkg) throw new CaptureSetupError("apt cannot resolve linux-image-amd64: run `apt-get update` (Debian's main archive must be in the sources)");
  const pol = await $`apt-cache policy ${pkg}`.quiet();
  const version = /Candidate:\s*(\S+)/.exec(pol.stdout)?.[1];
  if (!version || version === "(none)") throw new CaptureSetupError(`apt has no candidate version of ${pkg}: run \`apt-get update\``);
  return { package: pkg, version };
}

/** A cached kernel, or null (for the test, which never downloads). */
export function cachedKernel(): Kernel | null {
  if (!existsSync(SCRATCH)) return null;
  const dirs = readdirSync(SCRATCH).filter((d) => d.startsWith("kernel-") && existsSync(join(SCRATCH, d, "ready"))).sort();
  const d = dirs.at(-1);
  return d ? kernelIn(join(SCRATCH, d)) : null;
}

function kernelIn(dir: string): Kernel {
  const info = JSON.parse(readFileSync(join(dir, "ready"), "utf8")) as { package: string; version: string; release: string };
  return { ...info, dir, vmlinuz: join(dir, "root/boot", `vmlinuz-${info.release}`) };
}

export async function ensureKernel(log: (s: string) => void): Promise<Kernel> {
  const { package: pkg, version } = await resolveKernel();
  const dir = join(SCRATCH, `kernel-${pkg}_${version.replace(/[^A-Za-z0-9.+~-]/g, "_")}`);
  if (existsSync(join(dir, "ready"))) return kernelIn(dir);
  log(`kernel: fetching ${pkg} ${version} (apt-get download, dpkg-deb -x)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "deb"), { recursive: true });
  const dl = await $({ cwd: join(dir, "deb") })`apt-get download ${`${pkg}=${version}`}`.quiet().nothrow();
  if (dl.exitCode !== 0) throw new CaptureSetupError(`apt-get download ${pkg}=${version} failed: ${dl.stderr.trim()}`);
  const deb = readdirSync(join(dir, "deb")).find((f) => f.endsWith(".deb"))!;
  await $`dpkg-deb -x ${join(dir, "deb", deb)} ${join(dir, "root")}`.quiet();
  const release = pkg.replace(/^linux-image-/, "");
  const dm = await $`depmod -b ${join(dir, "root")} ${release}`.quiet().nothrow();
  if (dm.exitCode !== 0) throw new CaptureSetupError(`depmod failed (apt-get install kmod): ${dm.stderr.trim()}`);
  rmSync(join(dir, "deb"), { recursive: true, force: true });
  writeFileSync(join(dir, "ready"), JSON.stringify({ package: pkg, version, release }));
  return kernelIn(dir);
}

function busybox(): Uint8Array {
  if (!existsSync(BUSYBOX)) throw new CaptureSetupError(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const b = readFileSync(BUSYBOX);
  if (b.includes(Buffer.from("/lib64/ld-linux"))) throw new CaptureSetupError(`${BUSYBOX} is dynamically linked: apt-get install busybox-static`);
  return b;
}

const baseEntries = (bb: Uint8Array, init: string): CpioEntry[] => [
  ...["bin", "dev", "proc", "sys", "tmp", "newroot", "lib", "lib/modules"].map((path): CpioEntry => ({ kind: "dir", path })),
  { kind: "chardev", path: "dev/console", major: 5, minor: 1 },
  { kind: "file", path: "bin/busybox", data: bb, mode: 0o755 },
  { kind: "symlink", path: "bin/sh", target: "busybox" },
  { kind: "file", path: "init", data: Buffer.from(init), mode: 0o755 },
];

function writeOnce(path: string, make: () => Uint8Array): string {
  if (existsSync(path)) return path;
  mkdirSync(SCRATCH, { recursive: true });
  writeFileSync(`${path}.tmp`, make());
  renameSync(`${path}.tmp`, path);
  return path;
}

/** The test guest's initramfs (busybox only). */
export function ensureTinyInitrd(): string {
  const bb = busybox();
  const path = join(SCRATCH, `tiny-${hashOf(bb, TINY_INIT)}.cpio.gz`);
  return writeOnce(path, () => Bun.gzipSync(new Uint8Array(cpioNewc(baseEntries(bb, TINY_INIT))), { level: 9 }));
}

/** The rich guests' initramfs: busybox + the disk modules, in the order modprobe would load them. */
export async function ensureRootInitrd(k: Kernel): Promise<string> {
  const bb = busybox();
  const deps = await $`modprobe -a -d ${join(k.dir, "root")} -S ${k.release} --show-depends ${ROOT_MODULES}`.quiet().nothrow();
  if (deps.exitCode !== 0) throw new CaptureSetupError(`modprobe --show-depends failed (apt-get install kmod): ${deps.stderr.trim()}`);
  // crc32c-intel needs SSE4.2, which TCG's CPU lacks; crc32c_generic serves ext4 instead.
  const files = [...new Set(deps.stdout.split("\n").map((l) => /^insmod (\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && !x.endsWith("/crc32c-intel.ko")))];
  const names = files.map((f) => f.split("/").at(-1)!);
  const init = rootInit(names);
  const path = join(SCRATCH, `root-initrd-${hashOf(bb, init, k.package, k.version)}.cpio.gz`);
  return writeOnce(path, () => {
    const e = baseEntries(bb, init);
    for (const f of files) e.push({ kind: "file", path: `lib/modules/${f.split("/").at(-1)}`, data: readFileSync(f) });
    return Bun.gzipSync(new Uint8Array(cpioNewc(e)), { level: 9 });
  });
}

/** The Debian root tree (mmdebstrap), keyed by its package list and mirror lines. */
async function ensureRootfsTree(log: (s: string) => void): Promise<string> {
  const dir = join(SCRATCH, `rootfs-${hashOf(ROOTFS_PACKAGES.join(","), MIRROR_LINES.join("\n"))}`);
  if (existsSync(join(dir, ".capture-ready"))) return dir;
  const which = await $`which mmdebstrap`.quiet().nothrow();
  if (which.exitCode !== 0) throw new CaptureSetupError("mmdebstrap is missing: apt-get install mmdebstrap");
  log(`rootfs: mmdebstrap bookworm with ${ROOTFS_PACKAGES.join(" ")} (about a minute)`);
  rmSync(dir, { recursive: true, force: true });
  const r = await $`mmdebstrap --quiet --variant=apt --mode=root --include=${ROOTFS_PACKAGES.join(",")} --dpkgopt=${"path-exclude=/usr/share/man/*"} --dpkgopt=${"path-exclude=/usr/share/doc/*"} --dpkgopt=${"path-exclude=/usr/share/locale/*"} bookworm ${dir} ${MIRROR_LINES}`.quiet().nothrow();
  if (r.exitCode !== 0) throw new CaptureSetupError(`mmdebstrap failed: ${r.stderr.trim().split("\n").slice(-5).join(" / ")}`);
  writeFileSync(join(dir, ".capture-ready"), "");
  return dir;
}

/** Lua's Debian source (apt-get source --download-only), unpacked; returns the tree. */
async function ensureLuaSource(log: (s: string) => void): Promise<string> {
  const dir = join(SCRATCH, "lua-source");
  const done = join(dir, "ready");
  if (existsSync(done)) return readFileSync(done, "utf8");
  log("source: apt-get source --download-only lua5.4 (private deb-src list)");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "lists/partial"), { recursive: true });
  mkdirSync(join(dir, "cache/archives/partial"), { recursive: true });
  writeFileSync(join(dir, "sources.list"), MIRROR_LINES.map((l) => l.replace(/^deb /, "deb-src ")).join("\n") + "\n");
  const o = [`-o`, `Dir::Etc::SourceList=${join(dir, "sources.list")}`, `-o`, `Dir::Etc::SourceParts=-`, `-o`, `Dir::State::Lists=${join(dir, "lists")}`, `-o`, `Dir::Cache=${join(dir, "cache")}`];
  const up = await $`apt-get ${o} update`.quiet().nothrow();
  if (up.exitCode !== 0) throw new CaptureSetupError(`apt-get update of the deb-src list failed: ${up.stderr.trim()}`);
  const src = await $({ cwd: dir })`apt-get ${o} source --download-only lua5.4`.quiet().nothrow();
  if (src.exitCode !== 0) throw new CaptureSetupError(`apt-get source lua5.4 failed: ${src.stderr.trim()}`);
  const orig = readdirSync(dir).find((f) => /^lua5\.4_.*\.orig\.tar\.\w+$/.test(f));
  if (!orig) throw new CaptureSetupError("apt-get source lua5.4 gave no .orig tarball");
  mkdirSync(join(dir, "src"));
  await $`tar -xf ${join(dir, orig)} -C ${join(dir, "src")}`.quiet();
  const tree = join(dir, "src", readdirSync(join(dir, "src"))[0]!);
  writeFileSync(done, tree);
  return tree;
}

/** 500 files of 1-32 KB for nginx: real text (the C headers of the image), chosen and cut deterministically. */
function wwwFiles(rootfs: string): Buffer[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else if (f.isFile() && f.name.endsWith(".h")) found.push(p);
    }
  };
  walk(join(rootfs, "usr/include"));
  const big = found.filter((p) => statSync(p).size >= 1024);
  if (big.length < 50) throw new CaptureSetupError(`only ${big.length} headers in ${rootfs}/usr/include`);
  return Array.from({ length: 500 }, (_, i) => {
    const b = readFileSync(big[(i * 7919) % big.length]!);
    const want = 1024 + ((i * 2654435761) % 31744);
    return Buffer.concat(Array(Math.ceil(want / b.length)).fill(b)).subarray(0, want);
  });
}

export interface DiskImage {
  path: string;
  versions: Record<string, string>;
}

export async function ensureDisk(log: (s: string) => void): Promise<DiskImage> {
  const tree = await ensureRootfsTree(log);
  const lua = await ensureLuaSource(log);
  const recipe = hashOf(tree, lua, ...DISK_FILES.flatMap(([p, t, m]) => [p, t, String(m)]), "disk-v1");
  const path = join(SCRATCH, `disk-${recipe}.ext4`);
  const versionsPath = `${path}.versions.json`;
  if (existsSync(path) && existsSync(versionsPath)) return { path, versions: JSON.parse(readFileSync(versionsPath, "utf8")) };
  log(`disk: mke2fs -d (rootfs + /capture + Lua ${lua.split("/").at(-1)})`);
  const cap = join(tree, "capture");
  rmSync(cap, { recursive: true, force: true });
  mkdirSync(join(cap, "www"), { recursive: true });
  for (const [p, text, mode] of DISK_FILES) writeFileSync(join(cap, p), text, { mode });
  wwwFiles(tree).forEach((b, i) => writeFileSync(join(cap, "www", `f${i + 1}.txt`), b));
  rmSync(join(tree, "opt/lua"), { recursive: true, force: true });
  await $`cp -a ${lua} ${join(tree, "opt/lua")}`.quiet();
  const q = await $`dpkg-query --admindir=${join(tree, "var/lib/dpkg")} -W -f=${"${Package} ${Version}\\n"}`.quiet();
  const versions: Record<string, string> = {};
  for (const l of q.stdout.trim().split("\n")) {
    const [p, v] = l.split(" ");
    if (p && v && /^(gcc-12|make|libc6|nginx-light|nginx-common|wrk|sqlite3|libsqlite3-0|gzip|busybox|mawk)$/.test(p)) versions[p] = v;
  }
  versions.lua = lua.split("/").at(-1)!;
  const tmp = `${path}.tmp`;
  const mk = await $`mke2fs -q -t ext4 -L capture -E root_owner=0:0 -d ${tree} ${tmp} 1200M`.quiet().nothrow();
  if (mk.exitCode !== 0) throw new CaptureSetupError(`mke2fs -d failed (apt-get install e2fsprogs): ${mk.stderr.trim()}`);
  renameSync(tmp, path);
  writeFileSync(versionsPath, JSON.stringify(versions, null, 1));
  return { path, versions };
}
