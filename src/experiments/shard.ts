/**
 * Shards: one suite split over N machines (or N CI jobs) by `--shard i/N`.
 *
 * Every sharded command has one fixed list of simulations, the order an unsharded run makes
 * them in; shard i of N owns the positions p with p mod N = i - 1 (every N-th simulation,
 * starting at the i-th), so the shards partition the list and each is decided by i and N alone.
 * Wall-clock parts (micro-benchmarks, the worker sweep, figure 6) belong to shard 1 only: they
 * must run alone on one machine, and one machine's numbers are comparable among themselves.
 * A shard writes a partial document saying which shard it is and which positions it holds;
 * merging checks that each shard 1..N is there exactly once and every position is held once.
 */
import { InvalidArgumentError } from "../hypervisor/index.ts";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parses "i/N" (1 <= i <= N <= 1024); throws InvalidArgumentError with the reason. */
export function parseShard(s: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  if (!m) throw new InvalidArgumentError(`--shard must be i/N (e.g. 1/4), got "${s}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1024) throw new InvalidArgumentError(`--shard ${s}: N must be from 1 to 1024`);
  if (index < 1 || index > count) throw new InvalidArgumentError(`--shard ${s}: i must be from 1 to N (${count})`);
  return { index, count };
}

/** Whether list position `position` (0-based) belongs to `shard` (every position does when unsharded). */
export const inShard = (position: number, shard: Shard | undefined): boolean => !shard || position % shard.count === shard.index - 1;

/** Whether `shard` runs the wall-clock parts (shard 1, or an unsharded run). */
export const runsWallClock = (shard: Shard | undefined): boolean => !shard || shard.index === 1;

export const shardLabel = (s: Shard): string => `${s.index}/${s.count}`;

/**
 * Checks that `shards` (one per partial document, named by `names`) are 1..N of one N, each
 * exactly once; throws InvalidArgumentError naming the missing or duplicated shard.
 */
export function checkShardSet(shards: readonly (Shard | null | undefined)[], names: readonly string[]): number {
  if (shards.length === 0) throw new InvalidArgumentError("no documents to merge");
  const unsharded = shards.findIndex((s) => !s);
  if (unsharded >= 0) throw new InvalidArgumentError(`${names[unsharded]} is not a shard document (no "shard" field)`);
  const count = shards[0]!.count;
  const other = shards.findIndex((s) => s!.count !== count);
  if (other >= 0) throw new InvalidArgumentError(`${names[other]} is shard ${shardLabel(shards[other]!)}, but ${names[0]} is of ${count} shards`);
  const seen = new Map<number, string>();
  shards.forEach((s, k) => {
    const was = seen.get(s!.index);
    if (was !== undefined) throw new InvalidArgumentError(`shard ${s!.index}/${count} given twice: ${was} and ${names[k]}`);
    seen.set(s!.index, names[k]!);
  });
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new InvalidArgumentError(`shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} missing`);
  return count;
}

/**
 * Puts items held at list positions back in list order; throws InvalidArgumentError when a
 * position is held twice or one of 0..length-1 is held by no shard.
 */
export function inListOrder<T>(held: readonly { position: number; item: T; from: string }[], length: number, what: string): T[] {
  const at = new Map<number, { item: T; from: string }>();
  for (const h of held) {
    if (!Number.isInteger(h.position) || h.position < 0 || h.position >= length) throw new InvalidArgumentError(`${h.from}: ${what} position ${h.position} is outside the list of ${length}`);
    const was = at.get(h.position);
    if (was) throw new InvalidArgumentError(`${what} at position ${h.position} is held twice: by ${was.from} and ${h.from}`);
    at.set(h.position, { item: h.item, from: h.from });
  }
  const out: T[] = [];
  for (let p = 0; p < length; p++) {
    const x = at.get(p);
    if (!x) throw new InvalidArgumentError(`${what} at position ${p} of ${length} is in no shard document`);
    out.push(x.item);
  }
  return out;
}
