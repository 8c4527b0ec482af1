/** The experiments layer: runs with baselines, run records, suites and the runs behind the figures. */
export { UnavailableError } from "./errors.ts";
export { catalogOf, specInMode, type WorkloadCatalog } from "./catalog.ts";
export {
  runOnce, runWithBaseline, withBaseline, baselineRequest, throughputLossPct, recordOf, runId,
  type RunRequest, type RunRecord, type RunProgress, type BaselinedRun, type GuestMode,
} from "./run.ts";
export { RunCache, requestKey, type RunCacheHooks } from "./run-cache.ts";
export { runMacroSuite, type MacroPlan, type MacroOutcome, type MacroRun, type MacroGroup, type CalibrationInfo, type Progress } from "./macro-suite.ts";
