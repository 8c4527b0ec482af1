/**
 * A writer of the "newc" cpio archive the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
 * "070701" + 13 eight-digit hex fields (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
 * devminor, rdevmajor, rdevminor, namesize incl. NUL, check 0), the name and NUL padded to a
 * multiple of 4, the data padded to a multiple of 4; the archive ends with "TRAILER!!!".
 * Written here rather than by cpio(1) so that the image needs no host tool and is byte-for-byte
 * reproducible (mtime 0, entries in the order given). Directories must come before their files.
 */

export type CpioEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Uint8Array; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "chardev"; path: string; major: number; minor: number; mode?: number };

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, size: number, rdev: [number, number], nameSize: number): string {
  return "070701" + [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], nameSize, 0].map(hex8).join("");
}

/** The archive's bytes (uncompressed). */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const add = (path: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0]) => {
    const name = Buffer.from(path.replace(/^\/+/, "") + "\0", "utf8");
    const h = Buffer.from(header(ino++, mode, data.length, rdev, name.length), "latin1");
    parts.push(h, name, Buffer.alloc(pad4(h.length + name.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    if (e.kind === "dir") add(e.path, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0));
    else if (e.kind === "file") add(e.path, 0o100000 | (e.mode ?? 0o644), e.data);
    else if (e.kind === "symlink") add(e.path, 0o120000 | 0o777, Buffer.from(e.target, "utf8"));
    else add(e.path, 0o020000 | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]);
  }
  add("TRAILER!!!", 0, new Uint8Array(0));
  return Buffer.concat(parts);
}
