/**
 * Worker-pool benchmark (issue 4): a script, not a timed test.
 *
 *   bun src/dedup/pool/pool.bench.ts [--gib 1|4] [--rounds 5] [--raw-only] [--chunks 1024,4096,16384]
 *
 * Memory image ("the 1 GiB mix"): 262,144 pages per GiB in 4 guests; even pages hold one of
 * 2,048 contents (copies), odd pages are unique; every page is a full page of xorshift data.
 *
 * Measures, with workers 0, 1, 2 interleaved (the order rotates every round), each round on a
 * freshly built image:
 *   raw     the pool alone: hashFrame over every populated page in slot order (a full re-hash
 *           with no policy work), for each chunk size of --chunks (2 workers) and DEFAULT_CHUNK;
 *   merge   vmdedup, first merging pass (fullScans(1) of a fresh scanner, worker start included);
 *   rehash  vmdedup, the pass after every page's first byte was rewritten with the same value
 *           (every page changed: each is hashed again).
 * Prints pages/s per round, the median 2-worker/1-worker ratio with its min-max, and the
 * owner's dispatch time per chunk against the time the chunk takes to hash.
 */
import { buildMixImage } from "../mix-image.ts";
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../create-scanner.ts";
import { DEFAULT_CHUNK, WorkerPool, poolOf } from "./index.ts";
import type { HashAheadFilter, VisitOrder } from "../visit-order.ts";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const GIB = Number(arg("gib", "1"));
const ROUNDS = Number(arg("rounds", "5"));
const RAW_ONLY = args.includes("--raw-only");
const CHUNKS = arg("chunks", String(DEFAULT_CHUNK)).split(",").map(Number);
const PAGES = GIB * 262_144;
const GUESTS = 4;
const CONTENTS = 2048;

function build(extraFrames: number): { hv: Hypervisor; guests: Guest[] } {
  const hv = new Hypervisor({ frames: PAGES + extraFrames + 16 });
  const guests = buildMixImage(hv, { pages: PAGES, guests: GUESTS, contents: CONTENTS, name: "g" });
  return { hv, guests };
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
const fmt = (x: number): string => (x / 1e6).toFixed(2) + " M";

/** The pool alone over every populated slot, in ascending slot order. */
async function raw(hv: Hypervisor, workers: number, chunk: number): Promise<{ pps: number; dispatchUs: number; chunkUs: number }> {
  const sf = hv.pageTable.slotFrame;
  const total = hv.pageTable.slotCount;
  const order: VisitOrder = {
    ascending: true,
    inPass: true,
    begin() {},
    next: () => -1,
    abandon() {},
    peek(after, slots, frames, max, maxPositions, out) {
      let n = 0;
      let s = after < 0 ? 0 : after + 1;
      const end = Math.min(total, s + maxPositions);
      for (; s < end && n < max; s++) {
        if (sf[s]! < 0) continue;
        slots[n] = s;
        frames[n++] = sf[s]!;
      }
      if (out) {
        out.passEnd = s >= total;
        out.lastPosition = s - 1;
      }
      return n;
    },
  };
  const everyPage: HashAheadFilter = { wouldHash: () => true };
  const pool = new WorkerPool(hv.memory, order, everyPage, { workers: Math.max(workers, 1), chunk });
  // start the workers and let them come up (not timed: a scanner's pool is long-lived)
  pool.hashFrame(0, sf[0]!);
  await Bun.sleep(30);
  const t0 = Bun.nanoseconds();
  let x = 0;
  if (workers === 0) {
    for (let s = 0; s < total; s++) {
      const v = hv.memory.view(sf[s]!);
      x ^= Number(Bun.hash.xxHash3(v) & 0xffn);
    }
  } else for (let s = 0; s < total; s++) {
    pool.hashFrame(s, sf[s]!);
    x ^= pool.lo;
  }
  const ns = Bun.nanoseconds() - t0;
  const c = pool.counters;
  await pool.close();
  if (x === 0.5) console.log(x);
  const pps = total / (ns / 1e9);
  return { pps, dispatchUs: c.chunks ? c.dispatchNs / c.chunks / 1e3 : 0, chunkUs: (chunk / pps) * 1e6 };
}

async function policyPasses(workers: number): Promise<{ merge: number; rehash: number; mergeMs: number; dispatchUs: number; hits: number }> {
  const { hv, guests } = build(PAGES / 2);
  const s = createScanner(hv, { policy: "vmdedup", workers, pagesToScan: 4096 });
  let t0 = Bun.nanoseconds();
  await s.fullScans(1);
  const mergeNs = Bun.nanoseconds() - t0;
  for (const g of guests)
    for (let gfn = 0; gfn < g.pages; gfn++) {
      g.write(gfn, 0, g.read(gfn, 0, 1));
    }
  t0 = Bun.nanoseconds();
  await s.fullScans(1);
  const rehashNs = Bun.nanoseconds() - t0;
  const c = poolOf(s)?.counters;
  hv.audit();
  await s.close();
  return {
    merge: PAGES / (mergeNs / 1e9),
    rehash: PAGES / (rehashNs / 1e9),
    mergeMs: mergeNs / 1e6,
    dispatchUs: c && c.chunks ? c.dispatchNs / c.chunks / 1e3 : 0,
    hits: c ? c.hits / (c.hits + c.misses) : 0,
  };
}

function report(name: string, per: Record<number, number[]>): void {
  const ratios = per[2]!.map((v, i) => v / per[1]![i]!);
  console.log(
    `${name}: median pages/s w0 ${fmt(median(per[0]!))}, w1 ${fmt(median(per[1]!))}, w2 ${fmt(median(per[2]!))};` +
      ` w2/w1 median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
  );
}

console.log(`pool bench: ${GIB} GiB = ${PAGES} pages, ${ROUNDS} rounds, cores ${navigator.hardwareConcurrency}`);
{
  const { hv } = build(0);
  for (const chunk of CHUNKS) {
    const per: Record<number, number[]> = { 0: [], 1: [], 2: [] };
    const disp: number[] = [];
    const chunkUs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = [[0, 1, 2], [2, 1, 0], [1, 2, 0]][r % 3]!;
      const line: string[] = [];
      for (const w of order) {
        const m = await raw(hv, w, chunk);
        per[w]!.push(m.pps);
        if (w === 2) {
          disp.push(m.dispatchUs);
          chunkUs.push(m.chunkUs);
        }
        line.push(`w${w} ${fmt(m.pps)}`);
      }
      console.log(`  raw chunk ${chunk} round ${r + 1}: ${line.join(", ")} pages/s`);
    }
    report(`raw re-hash, chunk ${chunk}`, per);
    console.log(
      `  dispatch (peek + open) per chunk, 2 workers: median ${median(disp).toFixed(1)} us of a ${median(chunkUs).toFixed(0)} us chunk` +
        ` = ${((median(disp) / median(chunkUs)) * 100).toFixed(1)}%`,
    );
  }
}
if (!RAW_ONLY) {
  const merge: Record<number, number[]> = { 0: [], 1: [], 2: [] };
  const rehash: Record<number, number[]> = { 0: [], 1: [], 2: [] };
  const ms: Record<number, number[]> = { 0: [], 1: [], 2: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = [[0, 1, 2], [2, 1, 0], [1, 2, 0]][r % 3]!;
    const line: string[] = [];
    for (const w of order) {
      const m = await policyPasses(w);
      merge[w]!.push(m.merge);
      rehash[w]!.push(m.rehash);
      ms[w]!.push(m.mergeMs);
      line.push(`w${w} merge ${m.mergeMs.toFixed(0)} ms, rehash ${fmt(m.rehash)}/s, hits ${(m.hits * 100).toFixed(0)}%, dispatch ${m.dispatchUs.toFixed(0)} us`);
    }
    console.log(`  vmdedup round ${r + 1}: ${line.join("; ")}`);
    Bun.gc(true);
  }
  report("vmdedup first merging pass", merge);
  report("vmdedup re-hash pass", rehash);
  console.log(`vmdedup first merging pass wall: median w0 ${median(ms[0]!).toFixed(0)} ms, w1 ${median(ms[1]!).toFixed(0)} ms, w2 ${median(ms[2]!).toFixed(0)} ms`);
}
