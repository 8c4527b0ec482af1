/**
 * One QEMU guest of a capture: the process, its QMP connection and its dumps.
 *
 * QMP (qemu/qemu docs/interop/qmp-spec.rst): a JSON object per line over a Unix socket; the server
 * greets, `qmp_capabilities` leaves negotiation, then every command gets one reply
 * ({"return": ...} or {"error": {...}}) in order; asynchronous events ({"event": ...}) may come in
 * between and are skipped. One command in flight per guest (dumps of different guests run in
 * parallel, each on its own socket).
 *
 * A dump (dumpInto): `stop`; read the guest-RAM pagemap (pagemap.ts) while nothing moves;
 * `pmemsave` of guest-physical [0, mem) into a named pipe that this process reads as a stream and
 * hashes page by page (src/trace StreamImageBuilder: digests and size classes only, no bytes kept);
 * `cont`. The pause is measured from the reply to `stop` to the reply to `cont`.
 * The console goes to a file that waitFor() polls for the READY/CALIB/WORK lines of guest-scripts.ts.
 */
import { createReadStream, existsSync, readFileSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { $ } from "zx";
import { type DigestTable, type GuestImage, StreamImageBuilder } from "../../src/trace/index.ts";
import { BackingReader, findGuestRam, readPagemap, type RamMapping } from "./pagemap.ts";

export interface GuestSpec {
  name: string;
  runDir: string;
  kernel: string;
  initrd: string;
  append: string;
  memMiB: number;
  accel: "kvm" | "tcg";
  disk?: string;
}

type QmpReply = { return?: unknown; error?: { class: string; desc: string } };

export class QmpClient {
  private buf = "";
  private waiting: ((r: QmpReply) => void)[] = [];
  private greeted: Promise<void>;

  private constructor(private readonly sock: Socket) {
    let greet!: () => void;
    this.greeted = new Promise((r) => (greet = r));
    let first = true;
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as QmpReply & { QMP?: unknown; event?: string };
        if (first && msg.QMP) {
          first = false;
          greet();
        } else if (!msg.event) this.waiting.shift()?.(msg);
      }
    });
  }

  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const t0 = Date.now();
    for (;;) {
      const sock = await new Promise<Socket | null>((res) => {
        if (!existsSync(path)) return res(null);
        const s = createConnection(path);
        s.once("connect", () => res(s));
        s.once("error", () => res(null));
      });
      if (sock) {
        const c = new QmpClient(sock);
        await c.greeted;
        await c.run("qmp_capabilities");
        return c;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`no QMP socket at ${path} after ${timeoutMs} ms`);
      await Bun.sleep(50);
    }
  }

  run(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => (r.error ? reject(new Error(`QMP ${execute}: ${r.error.class}: ${r.error.desc}`)) : resolve(r.return)));
      this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + "\n");
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

export interface DumpResult {
  image: GuestImage;
  /** Seconds from the capture's start at which the guest stopped. */
  stoppedAtSec: number;
  pauseSec: number;
  unpopulated: number;
  backingConflicts: number;
}

export class QemuGuest {
  readonly log: string;
  readonly pages: number;
  private proc: ReturnType<typeof Bun.spawn> | null = null;
  private qmp: QmpClient | null = null;
  private ram: RamMapping | null = null;
  private readonly fifo: string;

  constructor(readonly spec: GuestSpec) {
    this.log = join(spec.runDir, `${spec.name}.log`);
    this.fifo = join(spec.runDir, `${spec.name}.fifo`);
    this.pages = (spec.memMiB << 20) / 4096;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  args(qmpSock: string): string[] {
    const s = this.spec;
    return [
      ...(s.accel === "kvm" ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg"]),
      "-m", String(s.memMiB), "-smp", "1", "-name", s.name, "-display", "none", "-no-reboot", "-nic", "none",
      "-kernel", s.kernel, "-initrd", s.initrd, "-append", s.append,
      ...(s.disk ? ["-drive", `file=${s.disk},if=virtio,format=raw,snapshot=on`] : []),
      "-serial", `file:${this.log}`, "-monitor", "none", "-qmp", `unix:${qmpSock},server=on,wait=off`,
    ];
  }

  async start(): Promise<void> {
    const sock = join(this.spec.runDir, `${this.spec.name}.qmp`);
    rmSync(sock, { force: true });
    rmSync(this.log, { force: true });
    const errFile = join(this.spec.runDir, `${this.spec.name}.stderr`);
    this.proc = Bun.spawn(["qemu-system-x86_64", ...this.args(sock)], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
    try {
      this.qmp = await QmpClient.connect(sock, 20000);
    } catch (e) {
      const err = existsSync(errFile) ? readFileSync(errFile, "utf8") : "";
      throw new Error(`${this.spec.name}: QEMU did not start${err ? `: ${err.trim()}` : ""} (${(e as Error).message})`);
    }
    await $`rm -f ${this.fifo} && mkfifo ${this.fifo}`.quiet();
  }

  /** The console text so far. */
  console(): string {
    return existsSync(this.log) ? readFileSync(this.log, "latin1") : "";
  }

  /** Waits until the console matches `re`; returns the match, or null after timeoutMs or when QEMU exited. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray | null> {
    const t0 = Date.now();
    for (;;) {
      const m = this.console().match(re);
      if (m) return m;
      if (Date.now() - t0 > timeoutMs || !this.proc || this.proc.exitCode !== null) return null;
      await Bun.sleep(200);
    }
  }

  /** Pauses the guest, hashes its RAM from a pmemsave stream, resumes it. */
  async dumpInto(sizeClasses: DigestTable | null, backing: BackingReader, t0Ms: number): Promise<DumpResult> {
    const qmp = this.qmp!;
    const builder = new StreamImageBuilder(this.pages, sizeClasses);
    await qmp.run("stop");
    const stoppedMs = performance.now();
    this.ram ??= findGuestRam(this.pid, this.pages * 4096);
    const entries = readPagemap(this.pid, this.ram, this.pages);
    const stream = createReadStream(this.fifo, { highWaterMark: 1 << 20 });
    const read = (async () => {
      for await (const chunk of stream) builder.push(chunk as Buffer);
    })();
    try {
      await qmp.run("pmemsave", { val: 0, size: this.pages * 4096, filename: this.fifo });
      await read;
    } finally {
      stream.destroy();
    }
    await qmp.run("cont");
    const pauseSec = (performance.now() - stoppedMs) / 1000;
    const image = builder.finish();
    const unpopulated = builder.markUnpopulated(backing.backingMap(entries, image));
    return { image, stoppedAtSec: (stoppedMs - t0Ms) / 1000, pauseSec, unpopulated, backingConflicts: builder.backingConflicts };
  }

  /** Dumps raw bytes to a regular file (the test compares them with the streamed digests). */
  async pmemsaveFile(path: string): Promise<void> {
    await this.qmp!.run("pmemsave", { val: 0, size: this.pages * 4096, filename: path });
  }

  async stop(): Promise<void> {
    await this.qmp!.run("stop");
  }

  async cont(): Promise<void> {
    await this.qmp!.run("cont");
  }

  /** Ends QEMU (SIGTERM, then SIGKILL after 3 s) and removes its socket and pipe. */
  async kill(): Promise<void> {
    this.qmp?.close();
    this.qmp = null;
    const p = this.proc;
    if (p && p.exitCode === null) {
      p.kill("SIGTERM");
      const done = await Promise.race([p.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!done) p.kill("SIGKILL");
      await p.exited;
    }
    rmSync(this.fifo, { force: true });
    rmSync(join(this.spec.runDir, `${this.spec.name}.qmp`), { force: true });
  }

  /** Synchronous last resort at process exit. */
  killNow(): void {
    try {
      if (this.proc && this.proc.exitCode === null) this.proc.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
