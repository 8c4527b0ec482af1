/** The experiments layer: runs with baselines, run records, suites and the runs behind the figures. */
export { UnavailableError } from "./errors.ts";
export { catalogOf, specInMode, type WorkloadCatalog } from "./catalog.ts";
export {
  runOnce, runWithBaseline, withBaseline, baselineRequest, throughputLossPct, recordOf, runId, requestLabel, DEDUP_POLICIES,
  type RunRequest, type RunRecord, type RunProgress, type BaselinedRun, type RunMeasured,
} from "./run.ts";
export { RunCache, requestKey, type RunCacheHooks } from "./run-cache.ts";
export { hasHost, uncommittedRequest, withUncommitted } from "./overcommit.ts";
export { densitySection, densityGridRequests, densityFromOutputs, traceDensityRequests, traceDensityFromOutputs, type DensityGrid, type DensitySection, type DensityWorkloadRow, type TraceDensityGrid, type TraceDensitySection } from "./density-section.ts";
export { runDensity, densityPoint, type DensityPlan, type DensityPoint, type DensityPolicy, type DensityResult, type RunFn } from "./density.ts";
export {
  runMacroSuite, macroList, sweepTarget, shardMakes,
  type MacroPlan, type MacroOutcome, type MacroRun, type MacroGroup, type MacroListEntry, type MacroExecution, type CalibrationInfo, type Progress,
} from "./macro-suite.ts";
export { JobPool, JobError, withJobPool, defaultJobs, type Job, type PooledRunResult, type PooledMeasured } from "./job-pool.ts";
export { parseShard, inShard, runsWallClock, shardLabel, checkShardSet, inListOrder, type Shard } from "./shard.ts";
export { FULL, QUICK, type FigureConfig } from "./figures/config.ts";
export {
  collectFigureData, assembleFigureData, figureJobs, runFigureJobs, measureFigure6, measureFigure9, guestCountsFor, checkFigureSaltGroups,
  type FigureData, type CollectOptions, type FigureJob, type FigureJobOutput, type Fig6Data, type Fig9Data,
} from "./figures/collect.ts";
export { FIGURE_DATA_SCHEMA, validateFigureData, mergeFigureData, outputsOf, figureShardDocument, type FigureDataDocument } from "./figures/data-doc.ts";
export { collectMatrix, documentMatrix, freshMatrix, type MatrixSource, type MatrixView } from "./figures/matrix.ts";
export { measureMergeCost, MAX_PASSES, type MergeCost, type MergeCostArgs } from "./figures/merge-cost.ts";
export { measureWorkers, median, GUESTS as WORKER_IMAGE_GUESTS, CONTENTS as WORKER_IMAGE_CONTENTS, type WorkerSample } from "./figures/worker-throughput.ts";
export { figureRun, macroToFigureRun, describeRun, mib, round, type FigureRun, type FigureRunRequest, type FigureMitigation } from "./figures/runs.ts";
export { runAttack, measureAttack, resolveAttack, hostRequest, chanceBound, attackHost, ATTACK_DEFAULTS, ATTACK_SCHEMA, runSecurityMatrix, type AttackRequest, type AttackMeasurement, type AttackResult, type HostRunner, type SecurityRow, type SecuritySection, type SecurityPlan } from "./attack/index.ts";
