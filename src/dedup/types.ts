import type { Guest } from "../hypervisor/index.ts";
import type { Mitigation, MitigationKind, MitigationOptions, ResolvedMitigation } from "./mitigation.ts";

export const POLICIES = ["vmdedup", "ksm", "esx", "none"] as const;
export type Policy = (typeof POLICIES)[number];

/** Options of createScanner; names and defaults follow /sys/kernel/mm/ksm/ (camelCased). */
export interface ScannerOptions {
  policy: Policy;
  pagesToScan?: number; // pages_to_scan, default 100
  sleepMillisecs?: number; // sleep_millisecs, default 20 (used by the simulated clock only)
  maxPageSharing?: number; // max_page_sharing, default 256, min 2
  smartScan?: boolean; // smart_scan, default true (v6.18)
  useZeroPages?: boolean; // use_zero_pages: default false for ksm, true for vmdedup and esx
  /** stable_node_chains_prune_millisecs, default 2000 (ksm only): how often a chain lookup checks every
   * dup and drops stale ones; measured on the simulated clock (sleepMillisecs per scan batch). */
  stableNodeChainsPruneMillisecs?: number;
  mergeAny?: boolean; // register every page of every guest, guests created later too (default true)
  workers?: number; // hashing worker threads; 0 = the calling thread
  seed?: number; // esx sampling order
  /** Side-channel mitigation (mitigation.ts), default "off" = merge any equal pages. */
  mitigation?: MitigationKind | MitigationOptions;
  /** Test hook: replaces the 64-bit page fingerprint (e.g. a constant, to prove collisions never merge). */
  fingerprintOverride?: (page: Uint8Array) => bigint;
}

export type ResolvedScannerOptions = Required<Omit<ScannerOptions, "fingerprintOverride" | "mitigation">> &
  Pick<ScannerOptions, "fingerprintOverride"> & { mitigation: ResolvedMitigation };

export interface ScannerKnobs {
  maxPageSharing?: number;
  useZeroPages?: boolean;
  smartScan?: boolean;
  pagesToScan?: number;
  sleepMillisecs?: number;
  stableNodeChainsPruneMillisecs?: number;
}

/**
 * A snapshot of the scanner's counters (scanner.stats()), with the meaning of Linux's
 * /sys/kernel/mm/ksm/* (Documentation/admin-guide/mm/ksm.rst). KSM counts lazily where the kernel
 * does (a page that left its KSM frame counts until its rmap item is next visited); the hash
 * policies read the hypervisor's state at the call.
 */
export interface ScannerStats {
  /** pages_shared: frames this scanner merged pages into that still hold merged pages. */
  pagesShared: number;
  /** pages_sharing: the mappings of those frames beyond each frame's first (the pages saved). */
  pagesSharing: number;
  /** pages_unshared: pages tracked as merge candidates (KSM: in the unstable tree; hash: indexed). */
  pagesUnshared: number;
  /** pages_volatile: pages tracked but seen changing too often to be candidates. */
  pagesVolatile: number;
  /** full_scans: passes completed since creation or the last run=2. */
  fullScans: number;
  /** pages_scanned: pages visited (skipped ones excluded), since creation. */
  pagesScanned: number;
  /** pages_skipped: pages passed over by smart scan, since creation. */
  pagesSkipped: number;
  /** stable_node_chains: contents split over several frames by max_page_sharing. */
  stableNodeChains: number;
  /** stable_node_dups: the frames in those chains. */
  stableNodeDups: number;
  /** ksm_zero_pages: pages this scanner mapped to the zero frame that still map it (KSM: all zero-mapped pages). */
  zeroPages: number;
  /** general_profit: (pagesSharing + zeroPages) x 4096 minus the scanner's metadata bytes. */
  generalProfit: number;
}

/**
 * Work the scanner did, for the simulation's cost model (deterministic counts, not times; the
 * cost model charges their deltas per batch, so each must keep counting exactly this). All count
 * from the scanner's creation and are never reset.
 */
export interface ScannerWork {
  /** Full-page hashes computed: +1 per hasher.hashFrame call (worker-pool hits included). */
  pagesHashed: number;
  /** Page-vs-page byte compares: +1 per FrameComparer.compare/equal call. */
  compares: number;
  /** Bytes those compares read: 2 x (index of the first differing byte + 1), or 2 x 4096 when equal. */
  compareBytes: number;
  /** Page-vs-zero tests: +1 per FrameComparer.isZero call. */
  zeroChecks: number;
  /** Successful merges: +1 per shareByHandle / mapZeroByHandle a policy makes. */
  merges: number;
  /** Index probes (hash policies: +1 per lookup and per bucket it visits) or tree nodes visited (KSM). */
  lookups: number;
}

export type RunMode = 0 | 1 | 2;

export interface Scanner {
  readonly policy: Policy;
  readonly options: Readonly<ResolvedScannerOptions>;
  /** The mitigation the scanner was built with (the guest side reads its considered pages). */
  readonly mitigation: Mitigation;
  register(g: Guest, start?: number, count?: number): void;
  unregister(g: Guest, start?: number, count?: number): void;
  setRun(run: RunMode): void;
  readonly run: RunMode;
  set(knobs: ScannerKnobs): void;
  scan(pages?: number): Promise<number>;
  fullScans(n?: number): Promise<void>;
  stats(): ScannerStats;
  work(): ScannerWork;
  /** Checks the policy's own structures from scratch (trees, index, rmap lists, chains, hints,
   * counts); throws AuditError naming the first broken invariant. Changes nothing. */
  audit(): void;
  close(): Promise<void>;
}
