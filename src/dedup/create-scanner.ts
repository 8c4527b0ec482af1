import { InvalidArgumentError, type Hypervisor } from "../hypervisor/index.ts";
import { EsxScanner } from "./esx/esx-scanner.ts";
import { KsmScanner } from "./ksm/ksm-scanner.ts";
import { NoneScanner } from "./none.ts";
import { claimScanner, validateKnobs } from "./scanner-base.ts";
import { POLICIES, type ResolvedScannerOptions, type Scanner, type ScannerOptions } from "./types.ts";
import { VmdedupScanner } from "./vmdedup/vmdedup-scanner.ts";

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
  return validateKnobs({
    policy: opts.policy,
    pagesToScan: opts.pagesToScan ?? 100,
    sleepMillisecs: opts.sleepMillisecs ?? 20,
    maxPageSharing: opts.maxPageSharing ?? 256,
    smartScan: opts.smartScan ?? true,
    useZeroPages: opts.useZeroPages ?? opts.policy !== "ksm",
    stableNodeChainsPruneMillisecs: opts.stableNodeChainsPruneMillisecs ?? 2000,
    mergeAny,
    workers,
    seed,
    fingerprintOverride: opts.fingerprintOverride,
  });
}

/** Creates the one scanner of `hv` for a policy (see ScannerOptions for knobs and defaults). */
export function createScanner(hv: Hypervisor, opts: ScannerOptions): Scanner {
  const o = resolveScannerOptions(opts);
  claimScanner(hv);
  switch (o.policy) {
    case "ksm":
      return new KsmScanner(hv, o);
    case "vmdedup":
      return new VmdedupScanner(hv, o);
    case "esx":
      return new EsxScanner(hv, o);
    case "none":
      return new NoneScanner(hv, o);
  }
}
