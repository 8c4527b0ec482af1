/**
 * The figures' data document (schema "vmdedup-figure-data/1"): what a shard of `bun run figures
 * --shard i/N` writes instead of figures, and what `bun run merge-results` makes of all N.
 *
 * It holds the finished jobs of the figures' fixed list (collect.ts: figureJobs) by position
 * and key, figure 6's wall-clock measurement and figure 9's security matrix (one block each,
 * shard 1 only), and what the list was made from
 * (seed, config, figures, the unsharded command recorded in each figure). A shard holds every
 * N-th position (shard.ts); the merged document holds them all and no `shard`. `bun run figures
 * --data <merged.json>` rebuilds the list from the document's seed, config and figures, checks
 * every key against it, and renders: the same files as an unsharded run.
 */
import type { FigureMitigation } from "./runs.ts";
import { InvalidArgumentError } from "../../hypervisor/index.ts";
import type { JobPool } from "../job-pool.ts";
import { checkShardSet, inListOrder, inShard, runsWallClock, type Shard } from "../shard.ts";
import { figureJobs, measureFigure6, measureFigure9, runFigureJobs, type CollectOptions, type Fig6Data, type Fig9Data, type FigureJob, type FigureJobOutput } from "./collect.ts";

export const FIGURE_DATA_SCHEMA = "vmdedup-figure-data/1";

export interface FigureDataDocument {
  schema: typeof FIGURE_DATA_SCHEMA;
  commit: string;
  seed: number;
  /** "full" or "quick" (FigureConfig.name). */
  config: string;
  /** The figures asked for. */
  only: number[];
  /** The unsharded command, as each figure records it. */
  command: string;
  /** The fresh runs' mitigation (--mitigation/--salt-groups; absent = off): part of every run's key, so --data renders with it. */
  mitigation?: FigureMitigation;
  listLength: number;
  /** Finished jobs: list position, key (collect.ts) and output. */
  jobs: { position: number; key: string; output: FigureJobOutput }[];
  /** Figure 6's samples when asked for and made here (shard 1, or the merged document). */
  fig6: Fig6Data | null;
  /** Figure 9's security matrix when asked for and made here (shard 1, or the merged document); absent in documents older than figure 9. */
  fig9?: Fig9Data | null;
  shard?: Shard;
}

type Obj = Record<string, unknown>;
const bad = (name: string, msg: string): never => {
  throw new InvalidArgumentError(`${name}: ${msg}`);
};

/** Checks the document's frame (not each job's output, which the simulator's own types describe). */
export function validateFigureData(doc: unknown, name: string): FigureDataDocument {
  const d = doc as Obj;
  if (typeof d !== "object" || d === null || d.schema !== FIGURE_DATA_SCHEMA) bad(name, `is not a ${FIGURE_DATA_SCHEMA} document`);
  for (const k of ["commit", "config", "command"]) if (typeof d[k] !== "string") bad(name, `${k} must be a string`);
  for (const k of ["seed", "listLength"]) if (!Number.isInteger(d[k])) bad(name, `${k} must be an integer`);
  if (!Array.isArray(d.only) || !d.only.every(Number.isInteger)) bad(name, "only must be a list of figure numbers");
  if (!Array.isArray(d.jobs)) bad(name, "jobs must be a list");
  for (const [i, j] of (d.jobs as Obj[]).entries()) {
    if (!Number.isInteger(j?.position) || typeof j?.key !== "string" || typeof j?.output !== "object" || j.output === null) bad(name, `jobs[${i}] must be { position, key, output }`);
  }
  if (d.fig6 !== null && (typeof d.fig6 !== "object" || !Array.isArray((d.fig6 as Obj).samples))) bad(name, "fig6 must be null or { samples, cpu, cores }");
  if (d.fig9 !== undefined && d.fig9 !== null && (typeof d.fig9 !== "object" || typeof (d.fig9 as Obj).source !== "string" || !Array.isArray(((d.fig9 as Obj).section as Obj)?.rows)))
    bad(name, "fig9 must be null or { section: { rows, ... }, source }");
  if (d.shard !== undefined) {
    const s = d.shard as Obj;
    if (!Number.isInteger(s?.index) || !Number.isInteger(s?.count) || (s.index as number) < 1 || (s.index as number) > (s.count as number)) bad(name, "shard must be { index, count } with 1 <= index <= count");
  }
  return d as unknown as FigureDataDocument;
}

/** The shards' documents as the one an unsharded run would make; throws InvalidArgumentError naming a missing, duplicated or mismatched shard. */
export function mergeFigureData(docs: readonly { name: string; doc: FigureDataDocument }[]): FigureDataDocument {
  checkShardSet(docs.map((d) => d.doc.shard), docs.map((d) => d.name));
  const first = docs[0]!;
  for (const { name, doc } of docs) {
    for (const k of ["commit", "seed", "config", "command", "listLength"] as const)
      if (doc[k] !== first.doc[k]) bad(name, `${k} ${JSON.stringify(doc[k])} differs from ${first.name}'s ${JSON.stringify(first.doc[k])}: shards of different runs`);
    if (JSON.stringify(doc.only) !== JSON.stringify(first.doc.only)) bad(name, `figures ${doc.only} differ from ${first.name}'s ${first.doc.only}`);
    if (JSON.stringify(doc.mitigation ?? {}) !== JSON.stringify(first.doc.mitigation ?? {})) bad(name, `mitigation ${JSON.stringify(doc.mitigation ?? {})} differs from ${first.name}'s ${JSON.stringify(first.doc.mitigation ?? {})}: shards of different runs`);
  }
  const held = docs.flatMap(({ name, doc }) => doc.jobs.map((j) => ({ position: j.position, item: j, from: name })));
  const jobs = inListOrder(held, first.doc.listLength, "figure job");
  const shard1 = docs.find((d) => d.doc.shard!.index === 1)!.doc;
  const { shard: _shard, ...rest } = first.doc;
  return { ...rest, jobs, fig6: shard1.fig6, fig9: shard1.fig9 ?? null };
}

/** The outputs of a complete document by key, each checked against the fixed list `list` (same keys, same positions). */
export function outputsOf(doc: FigureDataDocument, list: readonly FigureJob[], name: string): Map<string, FigureJobOutput> {
  if (doc.shard) bad(name, `is shard ${doc.shard.index}/${doc.shard.count} only: merge every shard first (bun run merge-results)`);
  if (doc.jobs.length !== list.length || doc.listLength !== list.length)
    bad(name, `holds ${doc.jobs.length} jobs, but the figures ${doc.only.join(",")} need ${list.length}: made by another version or configuration`);
  const out = new Map<string, FigureJobOutput>();
  doc.jobs.forEach((j, i) => {
    if (j.position !== i || j.key !== list[i]!.key) bad(name, `job ${i} (${list[i]!.job.id}) is not the one this version makes: made by another version or configuration`);
    out.set(j.key, j.output);
  });
  return out;
}

/** A shard's part of the figures' data: the jobs it owns (every N-th of the list), then figures 9 and 6 in shard 1 (alone, after them). */
export async function figureShardDocument(
  o: CollectOptions,
  x: { shard: Shard; pool: JobPool; commit: string; command: string },
): Promise<FigureDataDocument> {
  const list = figureJobs(o);
  const mine = list.map((j, position) => ({ ...j, position })).filter((j) => inShard(j.position, x.shard));
  const outputs = await runFigureJobs(mine, x.pool, o.progress);
  // figure 9: deterministic, one block: shard 1 only, like figure 6 (made before it, as collectFigureData does)
  const fig9 = o.only.has(9) && runsWallClock(x.shard) ? await measureFigure9(o, x.pool) : null;
  const fig6 = o.only.has(6) && runsWallClock(x.shard) ? await measureFigure6(o.cfg, o.progress) : null;
  return {
    schema: FIGURE_DATA_SCHEMA, commit: x.commit, seed: o.seed, config: o.cfg.name, only: [...o.only].sort((a, b) => a - b), command: x.command,
    ...(o.mitigation?.mitigation ? { mitigation: o.mitigation } : {}), listLength: list.length, jobs: mine.map((j) => ({ position: j.position, key: j.key, output: outputs.get(j.key)! })), fig6, fig9, shard: x.shard,
  };
}
