import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mergeResults } from "./results-merge.ts";
import type { ResultsDocument } from "./results-schema.ts";
import { validateResults } from "./results-validate.ts";

const full = validateResults(JSON.parse(readFileSync(join(import.meta.dir, "fixtures/results-small.json"), "utf8")));
const EMPTY_MICRO: ResultsDocument["micro"] = { benchmarks: [], ratios: [], skipped: [], machineRatio: null };

/** `doc` cut as shard i of n would hold it: runs at positions p mod n = i - 1 (one skipped run appended at the list's end). */
function shardOf(doc: ResultsDocument, index: number, count: number, skipped = false): ResultsDocument {
  const length = doc.macro.runs.length + (skipped ? 1 : 0);
  const mine = (p: number) => p % count === index - 1;
  const runPositions = doc.macro.runs.map((_, p) => p).filter(mine);
  const skippedPositions = skipped && mine(length - 1) ? [length - 1] : [];
  return {
    ...doc, date: `2026-01-0${index}T00:00:00.000Z`, wallSec: 10 * index, micro: index === 1 ? doc.micro : EMPTY_MICRO,
    macro: { runs: runPositions.map((p) => doc.macro.runs[p]!), skipped: skippedPositions.map(() => ({ id: "x/none/w0", reason: "no such workload" })) },
    shard: { index, count, listLength: length, runPositions, skippedPositions, wallClock: index === 1 },
  };
}

describe("merge-results (results documents)", () => {
  test("the shards of a document merge back into it: runs in list order, micro and machine from shard 1, the earliest date, the longest wall time", () => {
    for (const count of [1, 2, 3]) {
      const shards = Array.from({ length: count }, (_, i) => shardOf(full, i + 1, count)).reverse();
      const merged = mergeResults(shards.map((doc, k) => ({ name: `s${k}.json`, doc })));
      expect(JSON.stringify(merged)).toBe(JSON.stringify({ ...full, date: "2026-01-01T00:00:00.000Z", wallSec: 10 * count }));
    }
    const withSkip = mergeResults([1, 2].map((i) => ({ name: `s${i}`, doc: shardOf(full, i, 2, true) })));
    expect(withSkip.macro.skipped).toEqual([{ id: "x/none/w0", reason: "no such workload" }]);
    expect("shard" in withSkip).toBe(false);
  });

  test("a missing, duplicated or foreign shard is an error naming it", () => {
    const a = shardOf(full, 1, 3);
    const b = shardOf(full, 2, 3);
    const c = shardOf(full, 3, 3);
    const named = (...docs: ResultsDocument[]) => docs.map((doc, k) => ({ name: `doc${k}.json`, doc }));
    expect(() => mergeResults(named(a, c))).toThrow("shard 2/3 missing");
    expect(() => mergeResults(named(a, b, b, c))).toThrow("shard 2/3 given twice: doc1.json and doc2.json");
    expect(() => mergeResults(named(a, { ...b, commit: "other" }, c))).toThrow("doc1.json: the commit is not the same as in doc0.json");
    expect(() => mergeResults(named(a, { ...b, options: { ...b.options, seed: 2 } }, c))).toThrow("doc1.json: the options are not the same as in doc0.json");
    expect(() => mergeResults(named(a, full, c))).toThrow('doc1.json is not a shard document (no "shard" field)');
    const lost = { ...c, macro: { ...c.macro, runs: c.macro.runs.slice(1) }, shard: { ...c.shard!, runPositions: c.shard!.runPositions.slice(1) } };
    expect(() => mergeResults(named(a, b, lost))).toThrow("macro run at position 2 of 11 is in no shard document");
  });

  test("the validator checks a shard field: positions per run, within the list, wall-clock in shard 1 only", () => {
    const s = shardOf(full, 2, 2);
    expect(() => validateResults(s)).not.toThrow();
    expect(() => validateResults({ ...s, shard: { ...s.shard!, runPositions: s.shard!.runPositions.slice(1) } })).toThrow("results.shard.runPositions: must have one position per macro run");
    expect(() => validateResults({ ...s, shard: { ...s.shard!, wallClock: true } })).toThrow("results.shard.wallClock: must be true in shard 1 only");
    expect(() => validateResults({ ...s, shard: { ...s.shard!, index: 3 } })).toThrow("results.shard.index: must be at most count (2), got 3");
    expect(() => validateResults({ ...s, shard: { ...s.shard!, runPositions: [1, 99, 5, 7, 9] } })).toThrow("position 99 is outside the list of 11");
    const run = full.macro.runs[0]!;
    const bad = { ...full, macro: { ...full.macro, runs: [{ ...run, measured: { ...run.measured, concurrentJobs: 0 } }] } };
    expect(() => validateResults(bad)).toThrow("results.macro.runs[0].measured.concurrentJobs: must be from 1 to Infinity, got 0");
  });
});
