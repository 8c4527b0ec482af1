export { createScanner, resolveScannerOptions, MAX_WORKERS } from "./create-scanner.ts";
export { maxSharing, type MaxSharing } from "./oracle.ts";
export { POLICIES, type Policy, type Scanner, type ScannerOptions, type ScannerKnobs, type ScannerStats, type ScannerWork, type RunMode } from "./types.ts";
export { PageHasher, type FrameHasher, ZERO_PAGE_HASH } from "./fingerprint.ts";
export { FrameComparer } from "./frame-comparer.ts";
export {
  Mitigation, MITIGATIONS, auditMitigation, checkSaltCoverage, resolveMitigation,
  type MitigationKind, type MitigationOptions, type ResolvedMitigation,
} from "./mitigation.ts";
