import { InvalidArgumentError, type Hypervisor } from "../hypervisor/index.ts";
import { EsxHashAhead, EsxScanner } from "./esx/esx-scanner.ts";
import { ShuffledOrder } from "./esx/shuffled-order.ts";
import type { FrameHasher } from "./fingerprint.ts";
import { FrameComparer } from "./frame-comparer.ts";
import { HashSlots } from "./hash/hash-slots.ts";
import { KsmHashAhead, KsmScanner } from "./ksm/ksm-scanner.ts";
import { RmapItems } from "./ksm/rmap-items.ts";
import { Mitigation, resolveMitigation } from "./mitigation.ts";
import { StableTree } from "./ksm/stable-tree.ts";
import { NoneScanner } from "./none.ts";
import { createFrameHasher } from "./pool/index.ts";
import { Registration } from "./registration.ts";
import { claimScanner, emptyWork, validateKnobs, type ScannerParts } from "./scanner-base.ts";
import { POLICIES, type ResolvedScannerOptions, type Scanner, type ScannerOptions } from "./types.ts";
import { AscendingOrder, NonZeroFrames, type HashAheadFilter, type VisitOrder } from "./visit-order.ts";
import { VmdedupHashAhead, VmdedupScanner } from "./vmdedup/vmdedup-scanner.ts";

/** Largest worker count accepted; more than the cores is allowed (with a warning), absurd is not. */
export const MAX_WORKERS = 64;

export function resolveScannerOptions(opts: ScannerOptions): ResolvedScannerOptions {
  if (!opts || !POLICIES.includes(opts.policy))
    throw new InvalidArgumentError(`policy must be one of ${POLICIES.join(", ")}, got ${String(opts?.policy)}`);
  const workers = opts.workers ?? 0;
  if (typeof workers !== "number" || !Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS)
    throw new InvalidArgumentError(`workers must be an integer from 0 to ${MAX_WORKERS}, got ${String(workers)}`);
  const seed = opts.seed ?? 1;
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${String(seed)}`);
  const mergeAny = opts.mergeAny ?? true;
  if (typeof mergeAny !== "boolean") throw new InvalidArgumentError(`mergeAny must be a boolean`);
  const mitigation = resolveMitigation(opts.mitigation);
  if (mitigation.kind === "zero-only" && opts.useZeroPages === false)
    throw new InvalidArgumentError(`mitigation zero-only merges zero pages only: it needs useZeroPages (leave it unset)`);
  return validateKnobs({
    policy: opts.policy,
    pagesToScan: opts.pagesToScan ?? 100,
    sleepMillisecs: opts.sleepMillisecs ?? 20,
    maxPageSharing: opts.maxPageSharing ?? 256,
    smartScan: opts.smartScan ?? true,
    useZeroPages: mitigation.kind === "zero-only" || (opts.useZeroPages ?? opts.policy !== "ksm"),
    stableNodeChainsPruneMillisecs: opts.stableNodeChainsPruneMillisecs ?? 2000,
    mergeAny,
    workers,
    seed,
    fingerprintOverride: opts.fingerprintOverride,
    mitigation,
  });
}

/** Creates the one scanner of `hv` for a policy (see ScannerOptions for knobs and defaults). */
export function createScanner(hv: Hypervisor, opts: ScannerOptions): Scanner {
  const o = resolveScannerOptions(opts);
  claimScanner(hv);
  return composeScanner(hv, o);
}

/** Makes the hasher of a scanner from its visit order and hash-ahead filter. */
export type HasherFactory = (order: VisitOrder, filter: HashAheadFilter) => FrameHasher;

/**
 * @internal Builds the parts in dependency order, each complete before the next: work counters
 * and the comparer that counts into them, registration, visit order, the policy's own state and
 * its hash-ahead filter, the hasher (a worker pool peeks the order through the filter), then the
 * scanner, which only stores them. Tests pass `makeHasher` to record hashing (hv not claimed).
 */
export function composeScanner(hv: Hypervisor, o: ResolvedScannerOptions, makeHasher?: HasherFactory): Scanner {
  const work = emptyWork();
  const mitigation = new Mitigation(hv, o.mitigation, o.seed);
  const comparer = new FrameComparer(hv.memory, work, mitigation);
  const registration = new Registration();
  const order: VisitOrder = o.policy === "esx" ? new ShuffledOrder(hv, registration, o.seed) : new AscendingOrder(hv, registration);
  const parts = (hashAhead: HashAheadFilter): ScannerParts => ({
    hv, options: o, work, comparer, registration, order, hashAhead, mitigation,
    hasher: makeHasher ? makeHasher(order, hashAhead) : createFrameHasher(hv.memory, o, order, hashAhead),
  });
  switch (o.policy) {
    case "ksm": {
      const items = new RmapItems();
      const stable = new StableTree(hv, items, comparer, work);
      stable.maxPageSharing = o.maxPageSharing;
      stable.pruneMillisecs = o.stableNodeChainsPruneMillisecs;
      return new KsmScanner(parts(new KsmHashAhead(hv, stable)), items, stable);
    }
    case "vmdedup": {
      const slots = new HashSlots();
      return new VmdedupScanner(parts(new VmdedupHashAhead(hv, slots)), slots);
    }
    case "esx": {
      const slots = new HashSlots();
      return new EsxScanner(parts(new EsxHashAhead(hv, slots)), slots, order as ShuffledOrder);
    }
    case "none":
      return new NoneScanner(parts(new NonZeroFrames(hv)));
  }
}
