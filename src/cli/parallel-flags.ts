/**
 * The flags every suite shares for running simulations side by side and on several machines:
 * `--jobs N` (simulations at once in this process's job pool; default: the cores this process
 * may use) and `--shard i/N` (this machine's part of the suite's fixed list). Bad values throw
 * UsageError (exit 2). Also the progress printer of a suite whose runs finish in any order.
 */
import { defaultJobs, parseShard, type Shard } from "../experiments/index.ts";
import { UsageError } from "./args.ts";

export const PARALLEL_FLAGS = { jobs: { type: "string" }, shard: { type: "string" } } as const;

export const JOBS_HELP = `  --jobs <n>          simulations side by side, each in its own worker (default: the cores, ${defaultJobs()} here;
                      1: one after another in this process, the order of old). Results do not depend on it`;
export const SHARD_HELP = `  --shard <i/N>       make only shard i of N: every N-th simulation of the fixed list (wall-clock parts in shard 1);
                      writes a partial document; join all N with \`bun run merge-results\``;

/** `--jobs`: an integer from 1 to 1024; undefined gives the default. */
export function parseJobs(s: string | undefined): number {
  if (s === undefined) return defaultJobs();
  if (!/^\d+$/.test(s.trim()) || Number(s) < 1 || Number(s) > 1024) throw new UsageError(`--jobs must be an integer from 1 to 1024, got "${s}"`);
  return Number(s);
}

/** `--shard i/N`; undefined when not given. */
export function parseShardFlag(s: string | undefined): Shard | undefined {
  if (s === undefined) return undefined;
  try {
    return parseShard(s);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * A suite's progress: on a terminal one line redrawn in place (the latest of any running job),
 * finished runs kept as lines; elsewhere only finished runs, as plain lines; nothing when quiet.
 */
export function jobProgress(stream: NodeJS.WriteStream, quiet: boolean): (line: string, done: boolean) => void {
  if (quiet) return () => {};
  if (stream.isTTY) return (line, done) => stream.write(`\r\x1b[2K${line.slice(0, (stream.columns || 100) - 1)}${done ? "\n" : ""}`);
  return (line, done) => done && stream.write(`${line}\n`);
}

/** --jobs and --shard of a script, parsed together; a bad value goes to `usage` (which exits 2). */
export function parseParallelFlags(values: { jobs?: string; shard?: string }, usage: (msg: string) => never): { jobs: number; shard: Shard | undefined } {
  try {
    return { jobs: parseJobs(values.jobs), shard: parseShardFlag(values.shard) };
  } catch (e) {
    return usage((e as Error).message);
  }
}
