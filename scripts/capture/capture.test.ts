/**
 * Capture against a real QEMU: boots one busybox guest (128 MiB, TCG) where qemu-system-x86_64 and a
 * cached Debian kernel (.scratch/capture/kernel-*, made by `bun run capture`) exist, and checks a
 * streamed dump page by page against a raw pmemsave of the same paused memory, the pagemap
 * marking, and a two-snapshot trace written from it. Elsewhere it prints why it skipped.
 * Pure parts (cpio layout, the stream sink, the flags) are tested without QEMU.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PAGE_SIZE } from "../../src/hypervisor/index.ts";
import { checkHeader, DigestTable, digestPage, GuestImage, isZeroPage, newHeader, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO, StreamImageBuilder, TraceReader, TraceWriter } from "../../src/trace/index.ts";
import { parseCaptureArgs, CaptureUsageError } from "./args.ts";
import { cpioNewc } from "./cpio.ts";
import { cachedKernel, ensureTinyInitrd } from "./image.ts";
import { BackingReader } from "./pagemap.ts";
import { QemuGuest } from "./qemu.ts";

describe("cpio newc", () => {
  test("headers, padding and trailer as the kernel reads them", () => {
    const b = cpioNewc([{ kind: "dir", path: "bin" }, { kind: "file", path: "/bin/x", data: Buffer.from("abcde"), mode: 0o755 }]);
    const s = b.toString("latin1");
    expect(s.slice(0, 6)).toBe("070701");
    expect(s.slice(14, 22)).toBe("000041ed"); // mode of the directory
    // entry 1: 110-byte header + "bin\0" (4) = 114, padded to 116
    expect(s.slice(116, 122)).toBe("070701");
    expect(s.slice(116 + 14, 116 + 22)).toBe("000081ed");
    expect(s.slice(116 + 54, 116 + 62)).toBe("00000005"); // file size
    expect(s.indexOf("bin/x\0")).toBe(116 + 110);
    // name "bin/x\0" (6) after 110 -> 116, padded to 116 + 116 = 232; data 5 bytes padded to 8
    expect(s.slice(232, 237)).toBe("abcde");
    expect(s.slice(240, 246)).toBe("070701");
    expect(s.indexOf("TRAILER!!!")).toBe(240 + 110);
    expect(b.length % 4).toBe(0);
  });
});

describe("StreamImageBuilder", () => {
  test("chunks split anywhere give the digests of whole pages; unbacked zero pages become unpopulated", () => {
    const pages = 5;
    const mem = Buffer.alloc(pages * PAGE_SIZE);
    mem.fill(7, 0, PAGE_SIZE); // page 0 content, page 1 zero, page 2 content, 3 and 4 zero
    mem.write("hello", 2 * PAGE_SIZE + 100);
    const b = new StreamImageBuilder(pages, new DigestTable(16));
    for (const [from, to] of [[0, 1], [1, 5000], [5000, 8192], [8192, 12289], [12289, mem.length]] as const) b.push(mem.subarray(from, to));
    const img = b.finish();
    const d = new Uint8Array(16);
    for (const i of [0, 2]) {
      digestPage(mem, i * PAGE_SIZE, d, 0);
      expect(Buffer.from(img.digests.subarray(i * 16, i * 16 + 16)).equals(Buffer.from(d))).toBe(true);
      expect(img.state[i]).toBe(PAGE_CONTENT);
    }
    expect([...img.state]).toEqual([PAGE_CONTENT, PAGE_ZERO, PAGE_CONTENT, PAGE_ZERO, PAGE_ZERO]);
    expect(b.markUnpopulated(Uint8Array.from([0, 1, 1, 0, 1]))).toBe(1);
    expect(b.backingConflicts).toBe(1);
    expect([...img.state]).toEqual([PAGE_CONTENT, PAGE_ZERO, PAGE_CONTENT, PAGE_UNPOPULATED, PAGE_ZERO]);
    expect(img.sizeClass[3]).toBe(0);
  });

  test("a short or long stream is an error", () => {
    const b = new StreamImageBuilder(2, null);
    b.push(Buffer.alloc(PAGE_SIZE + 10));
    expect(() => b.finish()).toThrow(/ended after 4106 bytes, expected 8192/);
    expect(() => b.push(Buffer.alloc(2 * PAGE_SIZE))).toThrow(/longer than/);
  });
});

describe("meta.hostKsmKnobs (the capture's addition to format version 1)", () => {
  const base = () => JSON.parse(JSON.stringify(newHeader([{ name: "g", pageCount: 1, extents: [[0, 1]], timesSec: [0] }], 1, {})));
  test("validated and kept in canonical order; optional, so older headers stay valid", () => {
    const h = base();
    h.meta = { hostKsmKnobs: { smart_scan: 1, pages_to_scan: 1000 }, hostKsm: [{ timeSec: 1, pages_sharing: 5 }], accelerator: "tcg" };
    const c = checkHeader(h);
    expect(typeof c).toBe("object");
    expect(JSON.stringify((c as { meta: unknown }).meta)).toBe('{"accelerator":"tcg","hostKsm":[{"timeSec":1,"pages_sharing":5}],"hostKsmKnobs":{"pages_to_scan":1000,"smart_scan":1}}');
    expect(typeof checkHeader(base())).toBe("object");
  });
  test("an unknown knob or a non-integer value is rejected", () => {
    const h = base();
    h.meta = { hostKsmKnobs: { run: 1 } };
    expect(checkHeader(h)).toBe('meta: hostKsmKnobs: no knob "run"');
    h.meta = { hostKsmKnobs: { pages_to_scan: 1.5 } };
    expect(checkHeader(h)).toBe("meta: hostKsmKnobs.pages_to_scan: an integer >= 0");
  });
});

describe("flags", () => {
  test("defaults and bad values", () => {
    const o = parseCaptureArgs(["--workload", "web"]);
    expect(o).toMatchObject({ workload: "web", guests: 3, memMiB: 256, everySec: 5, durationSec: 60, ksm: true });
    expect(parseCaptureArgs(["--workload", "build", "--mem", "1GiB", "--every", "2.5", "--ksmd-nice=-5"])).toMatchObject({ memMiB: 1024, everySec: 2.5, ksmdNice: -5 });
    for (const bad of [["--workload", "idle"], [], ["--workload", "web", "--guests", "0"], ["--workload", "web", "--mem", "100k"], ["--workload", "web", "--every", "0"], ["--workload", "web", "--ksmd-nice", "30"], ["--workload", "web", "--frob"]])
      expect(() => parseCaptureArgs(bad)).toThrow(CaptureUsageError);
  });
});

function qemuSkipReason(): string | null {
  if (Bun.spawnSync(["which", "qemu-system-x86_64"]).exitCode !== 0) return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
  if (!cachedKernel()) return "no cached guest kernel in .scratch/capture (run `bun run capture` once)";
  try {
    ensureTinyInitrd();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

describe("a real QEMU guest", () => {
  const why = qemuSkipReason();
  if (why) {
    console.log(`skipped: capture against QEMU: ${why}`);
    test.skip("boots and dumps a busybox guest", () => {});
    return;
  }
  test("boots, streams a dump equal to a raw pmemsave, marks unbacked pages, writes a trace", async () => {
    const run = mkdtempSync(join(tmpdir(), "vmdedup-capture-test-"));
    const k = cachedKernel()!;
    const g = new QemuGuest({ name: "t0", runDir: run, kernel: k.vmlinuz, initrd: ensureTinyInitrd(), append: "console=ttyS0 panic=-1 quiet", memMiB: 128, accel: "tcg" });
    const backing = new BackingReader();
    try {
      await g.start();
      expect(await g.waitFor(/WORK tiny 1\b/, 40000)).not.toBeNull();
      const t0 = performance.now();
      const sizes = new DigestTable(1 << 12);
      const d0 = await g.dumpInto(sizes, backing, t0);
      await Bun.sleep(1000);
      // second dump with the guest held: the raw file must hold exactly the streamed pages
      const d1 = await g.dumpInto(sizes, backing, t0);
      await g.stop();
      const raw = join(run, "t0.raw");
      await g.pmemsaveFile(raw);
      const d2 = await g.dumpInto(sizes, backing, t0); // stops (already stopped), dumps, continues
      const bytes = readFileSync(raw);
      expect(bytes.length).toBe(g.pages * PAGE_SIZE);
      const d = new Uint8Array(16);
      let content = 0, zero = 0, unpop = 0;
      for (let i = 0; i < g.pages; i++) {
        const s = d2.image.state[i];
        if (isZeroPage(bytes, i * PAGE_SIZE)) {
          expect(s === PAGE_ZERO || s === PAGE_UNPOPULATED).toBe(true);
          if (s === PAGE_ZERO) zero++;
          else unpop++;
        } else {
          expect(s).toBe(PAGE_CONTENT);
          digestPage(bytes, i * PAGE_SIZE, d, 0);
          expect(Buffer.compare(Buffer.from(d), Buffer.from(d2.image.digests.subarray(i * 16, i * 16 + 16)))).toBe(0);
          content++;
        }
      }
      expect(content).toBeGreaterThan(2000); // a booted kernel and busybox
      if (backing.exact) expect(unpop).toBeGreaterThan(1000); // most of a 128 MiB busybox guest is never touched
      expect(d0.pauseSec).toBeGreaterThan(0);
      expect(d1.stoppedAtSec).toBeGreaterThan(d0.stoppedAtSec + 0.9);
      // a trace of the two running snapshots reads back with the same pages
      const out = join(run, "t.vmtrace");
      const header = newHeader([{ name: "t0", pageCount: g.pages, extents: [[0, g.pages]], timesSec: [d0.stoppedAtSec, d1.stoppedAtSec], pauseSec: [d0.pauseSec, d1.pauseSec] }], 2, { accelerator: "tcg" });
      const w = new TraceWriter(out, header);
      w.addSnapshot([d0.image]);
      w.addSnapshot([d1.image]);
      w.finish();
      const r = new TraceReader(out);
      const seen: GuestImage[] = [];
      for (const j of r.snapshots()) {
        const want = j === 0 ? d0.image : d1.image;
        expect(Buffer.from(r.images[0]!.state).equals(Buffer.from(want.state))).toBe(true);
        expect(Buffer.from(r.images[0]!.digests).equals(Buffer.from(want.digests))).toBe(true);
        seen.push(r.images[0]!);
      }
      expect(seen.length).toBe(2);
      expect(r.changed[0]).toBeGreaterThan(0); // the guest's loop wrote pages between the dumps
    } finally {
      backing.close();
      await g.kill();
      rmSync(run, { recursive: true, force: true });
    }
  }, 60000);
});
