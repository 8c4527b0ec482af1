/** The experiments layer: runs with baselines, run records, suites and the runs behind the figures. */
export { UnavailableError } from "./errors.ts";
export { catalogOf, specInMode, type WorkloadCatalog } from "./catalog.ts";
export {
  runOnce, runWithBaseline, withBaseline, baselineRequest, throughputLossPct, recordOf, runId, DEDUP_POLICIES,
  type RunRequest, type RunRecord, type RunProgress, type BaselinedRun,
} from "./run.ts";
export { RunCache, requestKey, type RunCacheHooks } from "./run-cache.ts";
export { runMacroSuite, type MacroPlan, type MacroOutcome, type MacroRun, type MacroGroup, type CalibrationInfo, type Progress } from "./macro-suite.ts";
export { FULL, QUICK, type FigureConfig } from "./figures/config.ts";
export { collectFigureData, guestCountsFor, checkFigureSaltGroups, type FigureData, type CollectOptions } from "./figures/collect.ts";
export { collectMatrix, documentMatrix, freshMatrix, type MatrixSource, type MatrixView } from "./figures/matrix.ts";
export { measureMergeCost, MAX_PASSES, type MergeCost } from "./figures/merge-cost.ts";
export { measureWorkers, median, GUESTS as WORKER_IMAGE_GUESTS, CONTENTS as WORKER_IMAGE_CONTENTS, type WorkerSample } from "./figures/worker-throughput.ts";
export { figureRun, macroToFigureRun, describeRun, mib, round, type FigureRun, type FigureRunRequest, type FigureMitigation } from "./figures/runs.ts";
export { runAttack, measureAttack, resolveAttack, hostRequest, chanceBound, attackHost, ATTACK_DEFAULTS, ATTACK_SCHEMA, runSecurityMatrix, type AttackRequest, type AttackMeasurement, type AttackResult, type HostRunner, type SecurityRow, type SecuritySection, type SecurityPlan } from "./attack/index.ts";
