/**
 * A partition worker (issue 13, part 3): one message per partitioned batch,
 *   { seq, layout?: PartitionLayout, timeoutMs }
 * (the layout only when a shared buffer changed), runs this thread's share of the batch
 * (PartitionExec.run: phase H sub-chunks, then whole partitions; see hash/partition-exec.ts), or
 * nothing when the owner closed that batch already (it finished without this worker). It posts "ready" once
 * at start. The handler is installed synchronously at module start (Bun drops earlier messages).
 */
import { PartitionExec } from "../hash/partition-exec.ts";
import type { PartitionLayout } from "../hash/partition-layout.ts";

declare const self: Worker;

let exec: PartitionExec | null = null;

self.onmessage = (e: MessageEvent<{ seq: number; layout?: PartitionLayout; timeoutMs: number }>) => {
  const m = e.data;
  if (m.layout) exec = new PartitionExec(m.layout);
  exec?.run(m.seq, m.timeoutMs);
};

self.postMessage("ready");
