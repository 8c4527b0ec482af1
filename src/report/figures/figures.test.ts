import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pngSize } from "../chart-spec.ts";
import { validateResults } from "../results-validate.ts";
import { CANNED_WORKLOADS } from "../../../workloads/index.ts";
import { catalogOf, guestCountsFor, QUICK } from "../../experiments/index.ts";
import { COLUMN, WIDE, type FigureRecord } from "./figure.ts";
import { FIGURE_IDS, generateFigures } from "./generate.ts";
import { renderPanel, writeFigures, readRecords } from "./write-figures.ts";
import { cdfPoints } from "./fig7-time-to-merge.ts";
import { seriesGuests, writeTrace } from "../../sim/replay-fixtures.test-util.ts";
import { traceWorkloadSpec } from "../../sim/trace-replay.ts";

const round3 = (x: number) => Math.round(x * 1000) / 1000;

const COMMAND = "bun run figures --seed 3 --quick";
const catalog = catalogOf(CANNED_WORKLOADS);
let records: FigureRecord[] = [];
let dir = "";

/** Width and height from a PNG's IHDR chunk. */
function pngDims(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

beforeAll(async () => {
  ({ records } = await generateFigures({ seed: 3, quick: true, catalog, command: COMMAND }));
  dir = mkdtempSync(join(tmpdir(), "figures-test-"));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("paper figures (--quick)", () => {
  test("every figure is made, each with panels and the numbers behind it", () => {
    expect(records.map((r) => r.id)).toEqual([...FIGURE_IDS]);
    for (const r of records) {
      expect(r.panels.length).toBeGreaterThan(0);
      expect(r.seed).toBe(3);
      expect(r.command).toBe(COMMAND);
      expect(r.reproduce).toContain(`--only ${r.id}`);
      const table = r.deterministic ? r.table : r.measured;
      expect(table!.rows.length).toBeGreaterThan(0);
      for (const row of table!.rows) expect(row.length).toBe(table!.columns.length);
      for (const p of r.panels) for (const s of p.spec.series) expect(s.points.length > 0).toBe(!s.legendOnly); // legend keys hold no points
    }
    // figure 6 alone is wall-clock; its numbers sit in the measured table only
    expect(records.filter((r) => !r.deterministic).map((r) => r.id)).toEqual([6]);
    expect(records.find((r) => r.id === 6)!.table).toBeNull();
  });

  test("figure 8's trace rows: a second panel, each trace's bars its maxGuests (at most its guest count), host runs only", async () => {
    const trace = traceWorkloadSpec(writeTrace(join(mkdtempSync(join(tmpdir(), "fig8-trace-")), "d.vmtrace"), seriesGuests(3, 512, 5, 4, 0.1, 5), { workload: "test" }));
    const config = { ...QUICK, densityTraces: [trace.name, "trace-not-shipped"], densityTraceHostMemBytes: Math.round((0.2 * 3 * 512) / 1) * 4096 };
    const { records: r8, simulations } = await generateFigures({ seed: 3, quick: true, config, catalog, traces: [trace], command: COMMAND, only: [8] });
    const f8 = r8[0]!;
    expect(f8.panels.map((p) => p.file)).toEqual(["fig8-density", "fig8-density-traces"]);
    const spec = f8.panels[1]!.spec;
    const rows = f8.table!.rows.filter((r) => r[0] === trace.name);
    expect(rows.map((r) => r[2])).toEqual(spec.categories!);
    expect(rows.map((r) => parseInt(String(r[3]), 10))).toEqual(spec.series[0]!.points.map((p) => p.y));
    expect(rows.every((r) => parseInt(String(r[3]), 10) <= 3 && String(r[6]).split(" ").length <= 3)).toBe(true);
    // the host column: the traces' own host, not the canned rows'
    const cannedHost = f8.table!.rows.find((r) => r[0] === "web-server")![1];
    expect(new Set(rows.map((r) => r[1])).size).toBe(1);
    expect(rows[0]![1]).not.toBe(cannedHost);
    // the canned grid (host run + twin per count and policy) plus 3 counts x 4 policies of host runs for the trace
    expect(simulations).toBe(2 * QUICK.densityMaxGuests * 4 * QUICK.densityWorkloads.length + 3 * 4);
  }, 60_000);

  test("figure 8: none is the floor, every policy's bar is its maxGuests, and the table shows the loss at each count", () => {
    const f8 = records.find((r) => r.id === 8)!;
    const spec = f8.panels[0]!.spec;
    expect(spec.kind).toBe("bar");
    expect(spec.categories).toEqual(["none", "vmdedup", "ksm", "esx"]);
    const bars = spec.series.find((s) => s.label === "web-server")!.points.map((p) => p.y);
    const rows = f8.table!.rows.filter((r) => r[0] === "web-server");
    expect(rows.map((r) => r[2])).toEqual(spec.categories!);
    expect(rows.map((r) => parseInt(String(r[3]), 10))).toEqual(bars);
    expect(f8.panels.length).toBe(1); // --quick replays no traces
    // none is the floor: no de-duplication policy fits fewer guests (at this tiny size the re-fitted
    // web-server shares little: its shared static content is 5% of a 4 MiB guest)
    for (const y of bars.slice(1)) expect(y).toBeGreaterThanOrEqual(bars[0]!);
    // the loss at each count tried: every count up to maxGuests under the limit, the next one over it
    for (const r of rows) {
      const losses = String(r[6]).split(" ").map(Number);
      const n = parseInt(String(r[3]), 10);
      expect(losses.slice(0, n).every((l) => l < QUICK.densityMaxLossPct)).toBe(true);
      if (n < QUICK.densityMaxGuests) expect(losses[n]!).toBeGreaterThanOrEqual(QUICK.densityMaxLossPct);
    }
  });

  test("figure 1 has one point per workload and guest count; mixed starts at one guest per family", () => {
    const f1 = records[0]!;
    const series = f1.panels[0]!.spec.series;
    expect(series.find((s) => s.label === "web-server")!.points.map((p) => p.x)).toEqual(QUICK.guestCounts);
    expect(series.find((s) => s.label === "mixed")!.points.map((p) => p.x)).toEqual(guestCountsFor(catalog.get("mixed"), QUICK.guestCounts));
    expect(guestCountsFor(catalog.get("mixed"), [1, 2, 4, 8, 16])).toEqual([4, 8, 16]);
    // one guest shares with nobody: less saved than with more guests of the same workload
    const web = series.find((s) => s.label === "web-server")!.points;
    expect(web[0]!.y).toBeLessThan(web.at(-1)!.y);
  });

  test("figures 2 and 3 use policy colours: oracle dashed in both", () => {
    for (const id of [2, 3]) {
      const labels = records.find((r) => r.id === id)!.panels[0]!.spec.series.map((s) => s.label);
      expect(labels).toEqual(["vmdedup", "ksm", "esx", "oracle"]);
    }
  });

  test("figure 5: PV merges update guest page tables, HVM merges never do", () => {
    const rows = records.find((r) => r.id === 5)!.table!.rows;
    const hvm = rows.filter((r) => r[0] === "HVM");
    const pv = rows.filter((r) => r[0] === "PV");
    expect(hvm.length).toBe(3);
    for (const r of hvm) expect(r[3]).toBe(0);
    for (const r of pv) expect(r[3] as number).toBeGreaterThan(0);
    // same content either way: the same merges
    for (let i = 0; i < 3; i++) expect(pv[i]![2]).toBe(hvm[i]![2]);
  });

  test("figure 9: one point per mitigation in each policy's colour, at the rows' accuracy and savings; a marker key per mitigation", () => {
    const f9 = records.find((r) => r.id === 9)!;
    expect(f9.panels.map((p) => p.file)).toEqual(QUICK.securityWorkloads.map((w) => `fig9-security-${w}`));
    const series = f9.panels[0]!.spec.series;
    expect(series.map((s) => s.label)).toEqual(["vmdedup", "ksm", "esx", "off", "salted", "zero-only", "vusion", "fixed-latency"]);
    const rows = f9.table!.rows;
    for (const s of series.slice(0, 3)) {
      expect(s.markers).toEqual(["circle", "rect", "triangle", "rectRot", "crossRot"]);
      const mine = rows.filter((r) => r[1] === s.label);
      expect(s.points.map((p) => round3(p.x))).toEqual(mine.map((r) => r[3] as number));
      expect(s.points.map((p) => Math.round(p.y * 10) / 10)).toEqual(mine.map((r) => r[6] as number));
    }
    // off leaks, every mitigation leaves the attacker near chance; vusion keeps off's savings, zero-only loses most
    for (const s of series.slice(0, 3)) {
      expect(s.points[0]!.x).toBeGreaterThanOrEqual(0.95);
      for (const p of s.points.slice(1)) expect(Math.abs(p.x - 0.5)).toBeLessThan(0.25);
      expect(s.points[3]!.y).toBe(s.points[0]!.y);
      expect(s.points[2]!.y).toBeLessThan(s.points[0]!.y);
    }
  });

  test("figure 9 is deterministic for a seed (the same record again)", async () => {
    const again = (await generateFigures({ seed: 3, quick: true, catalog, command: COMMAND, only: [9] })).records[0]!;
    expect(again).toEqual(records.find((r) => r.id === 9)!);
    const a = renderPanel(again, again.panels[0]!);
    expect(a.png.equals(renderPanel(records.find((r) => r.id === 9)!, records.find((r) => r.id === 9)!.panels[0]!).png)).toBe(true);
  }, 30_000);

  test("each panel renders at a paper width (3.3 or 7 in at 300 dpi), byte-identical when rendered again", () => {
    expect(pngSize(COLUMN as never)).toEqual({ width: 990, height: 742 });
    expect(pngSize(WIDE as never)).toEqual({ width: 2100, height: 714 });
    for (const r of records) {
      for (const p of r.panels) {
        const a = renderPanel(r, p);
        const b = renderPanel(r, p);
        const dims = pngDims(a.png);
        expect(dims).toEqual(pngSize(p.spec));
        expect([990, 2100]).toContain(dims.width);
        expect(a.svg).toStartWith("<?xml");
        expect(a.pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
        expect(a.pdf.includes("CreationDate")).toBe(false);
        expect(a.png.equals(b.png)).toBe(true);
        expect(a.svg).toBe(b.svg);
        expect(a.pdf.equals(b.pdf)).toBe(true);
      }
    }
  }, 20_000);

  test("the same seed gives the same figures (all but the measured figure 6)", async () => {
    const again = (await generateFigures({ seed: 3, quick: true, catalog, command: COMMAND, only: [1, 2, 3, 4, 5, 7, 8] })).records;
    expect(again).toEqual(records.filter((r) => r.id !== 6 && r.id !== 9)); // figure 9: its own test above
    const other = (await generateFigures({ seed: 4, quick: true, catalog, command: COMMAND, only: [1] })).records[0]!;
    expect(other.table).not.toEqual(records[0]!.table);
  }, 30_000);

  test("writeFigures writes every panel in three formats and a README listing each figure with its command", () => {
    writeFigures(records, dir);
    const files = readdirSync(dir);
    for (const r of records) {
      expect(files).toContain(`fig${r.id}.json`);
      for (const p of r.panels) for (const ext of ["pdf", "svg", "png"]) expect(files).toContain(`${p.file}.${ext}`);
    }
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    for (const r of records) {
      expect(readme).toContain(`## Figure ${r.id}`);
      expect(readme).toContain(`\`${r.reproduce}\``);
      for (const p of r.panels) expect(readme).toContain(`(${p.file}.png)`);
    }
    expect(readme.match(new RegExp(`Command: \`${COMMAND}\` \\(seed 3\\)`, "g"))!.length).toBe(records.length);
    expect(readme).toContain("### Measured (wall-clock, machine-dependent)");
    // rewriting one figure keeps the others' entries
    const one = { ...records[0]!, command: "bun run figures --seed 3 --quick --only 1" };
    writeFigures([one], dir);
    const after = readFileSync(join(dir, "README.md"), "utf8");
    for (const r of records) expect(after).toContain(`## Figure ${r.id}`);
    expect(after).toContain("Command: `bun run figures --seed 3 --quick --only 1`");
    expect(readRecords(dir).map((r) => r.id)).toEqual([...FIGURE_IDS]);
  });

  test("--from: figures 2, 4 and 7 read a results document's matrix runs", async () => {
    const doc = validateResults(JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/results-small.json"), "utf8")));
    const { records: fromDoc, simulations } = await generateFigures({ seed: 1, quick: true, catalog, command: "x", only: [2, 4, 7], from: { doc, file: "fixture.json" } });
    expect(simulations).toBe(0);
    const matrix = doc.macro.runs.filter((r) => r.group === "matrix");
    const f4 = fromDoc.find((r) => r.id === 4)!;
    expect(f4.source).toContain("fixture.json");
    // the fixture's matrix holds idle and kernel-build (mixed only in its worker sweep)
    expect(f4.panels[0]!.spec.categories).toEqual([...new Set(matrix.map((r) => r.workload))]);
    expect(f4.panels[0]!.spec.categories).toEqual(["idle", "kernel-build"]);
    const kb = matrix.find((r) => r.workload === "kernel-build" && r.policy === "ksm")!;
    expect(f4.table!.rows.find((r) => r[0] === "kernel-build" && r[1] === "ksm")![3]).toBe(kb.summary.cowBreaks);
    const f7 = fromDoc.find((r) => r.id === 7)!;
    const ksm = f7.panels[0]!.spec.series.find((s) => s.label === "ksm")!;
    expect(ksm.points.at(-1)!.y).toBe(100);
  }, 10_000);

  test("cdfPoints accumulates the histogram up to the bucket holding the last merge", () => {
    const run = { summary: { timeToMerge: { bucketUpperMs: [20, 50, 100, null], counts: [1, 3, 0, 0] } } } as never;
    expect(cdfPoints(run)).toEqual([{ x: 0.02, y: 25 }, { x: 0.05, y: 100 }]);
  });
});
