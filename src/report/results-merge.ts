/**
 * Joins the partial results documents of `bun run benchmarks --shard i/N` (one per shard) into
 * the document an unsharded run writes. Checks, each failure an InvalidArgumentError naming the
 * document: every shard 1..N exactly once; the same commit, options, calibration and list; every
 * list position held by exactly one shard. Then:
 *   - macro.runs and macro.skipped in list order (so the deterministic parts, everything but
 *     `measured`, are byte-identical to the unsharded document's);
 *   - micro, machine, the security matrix and density from shard 1 (where the wall-clock parts
 *     and the one-block security matrix and density search ran);
 *   - date: the earliest shard's; wallSec: the longest shard's (the shards run at once);
 *     dirty: any shard's tree was dirty;
 *   - no `shard` field. The result is validated like any results document.
 */
import { checkShardSet, inListOrder } from "../experiments/index.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import type { MacroRun, ResultsDocument } from "./results-schema.ts";
import { validateResults } from "./results-validate.ts";

type Skipped = ResultsDocument["macro"]["skipped"][number];

export function mergeResults(docs: readonly { name: string; doc: ResultsDocument }[]): ResultsDocument {
  checkShardSet(docs.map((d) => d.doc.shard), docs.map((d) => d.name));
  const first = docs[0]!;
  const same = (name: string, what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new InvalidArgumentError(`${name}: ${what} not the same as in ${first.name}: shards of different runs cannot be merged`);
  };
  for (const { name, doc } of docs.slice(1)) {
    same(name, "the commit is", doc.commit, first.doc.commit);
    same(name, "the options are", doc.options, first.doc.options);
    same(name, "the list length is", doc.shard!.listLength, first.doc.shard!.listLength);
    if (doc.calibration && first.doc.calibration) same(name, "the calibration is", doc.calibration, first.doc.calibration);
  }
  const held: { position: number; item: { run?: MacroRun; skipped?: Skipped }; from: string }[] = [];
  for (const { name, doc } of docs) {
    doc.macro.runs.forEach((run, i) => held.push({ position: doc.shard!.runPositions[i]!, item: { run }, from: name }));
    doc.macro.skipped.forEach((skipped, i) => held.push({ position: doc.shard!.skippedPositions[i]!, item: { skipped }, from: name }));
  }
  const all = inListOrder(held, first.doc.shard!.listLength, "macro run");
  const shard1 = docs.find((d) => d.doc.shard!.index === 1)!.doc;
  const merged: ResultsDocument = {
    schema: first.doc.schema,
    commit: first.doc.commit,
    dirty: docs.some((d) => d.doc.dirty),
    date: docs.map((d) => d.doc.date).sort()[0]!,
    wallSec: Math.max(...docs.map((d) => d.doc.wallSec)),
    machine: shard1.machine,
    options: first.doc.options,
    calibration: docs.find((d) => d.doc.calibration)?.doc.calibration ?? null,
    micro: shard1.micro,
    macro: { runs: all.flatMap((x) => (x.run ? [x.run] : [])), skipped: all.flatMap((x) => (x.skipped ? [x.skipped] : [])) },
    ...(shard1.security ? { security: shard1.security } : {}),
    ...(shard1.density ? { density: shard1.density } : {}),
  };
  return validateResults(merged);
}
