import type { Guest } from "../hypervisor/index.ts";

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
  /** Test hook: replaces the 64-bit page fingerprint (e.g. a constant, to prove collisions never merge). */
  fingerprintOverride?: (page: Uint8Array) => bigint;
}

export type ResolvedScannerOptions = Required<Omit<ScannerOptions, "fingerprintOverride">> &
  Pick<ScannerOptions, "fingerprintOverride">;

export interface ScannerKnobs {
  maxPageSharing?: number;
  useZeroPages?: boolean;
  smartScan?: boolean;
  pagesToScan?: number;
  sleepMillisecs?: number;
  stableNodeChainsPruneMillisecs?: number;
}

/** Counters with the meaning of Linux's /sys/kernel/mm/ksm/* (Documentation/admin-guide/mm/ksm.rst). */
export interface ScannerStats {
  pagesShared: number;
  pagesSharing: number;
  pagesUnshared: number;
  pagesVolatile: number;
  fullScans: number;
  pagesScanned: number;
  pagesSkipped: number;
  stableNodeChains: number;
  stableNodeDups: number;
  zeroPages: number;
  generalProfit: number;
}

/**
 * Work the scanner did, for the simulation's cost model (deterministic counts, not times).
 * pagesHashed: full-page hashes computed; compares: page-vs-page memcmps; compareBytes: bytes
 * those compares read up to the first difference (x2 pages); zeroChecks: page-vs-zero tests;
 * merges: successful hv.share/mapZero calls; lookups: index probes or tree nodes visited.
 */
export interface ScannerWork {
  pagesHashed: number;
  compares: number;
  compareBytes: number;
  zeroChecks: number;
  merges: number;
  lookups: number;
}

export type RunMode = 0 | 1 | 2;

export interface Scanner {
  readonly policy: Policy;
  readonly options: Readonly<ResolvedScannerOptions>;
  register(g: Guest, start?: number, count?: number): void;
  unregister(g: Guest, start?: number, count?: number): void;
  setRun(run: RunMode): void;
  readonly run: RunMode;
  set(knobs: ScannerKnobs): void;
  scan(pages?: number): Promise<number>;
  fullScans(n?: number): Promise<void>;
  stats(): ScannerStats;
  work(): ScannerWork;
  close(): Promise<void>;
}
