/**
 * A partition worker (issue 13, part 3), shared by the engines of its thread (partition-crew.ts):
 * one message per partitioned batch,
 *   { engine, seq, layout?: PartitionLayout, timeoutMs }
 * (the layout only when a shared buffer of that engine changed; seq 0: only a layout, sent by
 * engine.started() so the executor is built before the first batch), runs this thread's share of the batch
 * (PartitionExec.run: phase H sub-chunks, then whole partitions; see hash/partition-exec.ts), or
 * nothing when the owner closed that batch already (it finished without this worker). It posts "ready" once
 * at start, after its warm-up; { engine, close } drops that engine's executor (partition-warmup.ts: the batch code compiled before the first real batch). The handler is installed synchronously at module start (Bun drops earlier messages).
 */
import { PartitionExec } from "../hash/partition-exec.ts";
import type { PartitionLayout } from "../hash/partition-layout.ts";
import { warmUpPartitions } from "./partition-warmup.ts";

declare const self: Worker;

/** One executor per engine this worker serves (partition-crew.ts: the workers are shared). */
const execs = new Map<number, PartitionExec>();

self.onmessage = (e: MessageEvent<{ engine: number; seq: number; layout?: PartitionLayout; timeoutMs: number; close?: boolean }>) => {
  const m = e.data;
  if (m.close) {
    execs.delete(m.engine);
    return;
  }
  if (m.layout) execs.set(m.engine, new PartitionExec(m.layout, execs.get(m.engine)));
  if (m.seq > 0) execs.get(m.engine)?.run(m.seq, m.timeoutMs); // seq 0: a layout sent ahead of the first batch
};

await warmUpPartitions();
self.postMessage("ready");
