/** The simulation layer: workload specs, the driver, the cost model, run results. */
export { WorkloadSpecError, ResultSchemaError } from "./errors.ts";
export {
  resolveSpec, REGION_FILLS, type StormSpec, type WorkloadSpec, type FamilySpec, type RegionSpec, type PhaseSpec, type ActivitySpec, type ProducesSpec,
  type ResolvedWorkload, type SpecOverrides, type TraceRef,
} from "./spec.ts";
export {
  traceWorkloadSpec, loadReplayTrace, synthesizePage, randomBytesOfClass, traceFile, REPLAY_CPU_PER_WRITE, REPO_ROOT,
  type ReplayTrace, type ReplayGuest,
} from "./trace-replay.ts";
export { TraceReplayRunner } from "./replay-runner.ts";
export { replayDuration } from "./sim-options.ts";
export { runSimulation, Simulation, defaultDuration, steadyPhaseStart, SIM_DEFAULTS, type SimOptions } from "./driver.ts";
export { resolveSimOptions, type SimConfig } from "./sim-options.ts";
export { Sampler, type SamplerConfig } from "./sampler.ts";
export { SERIES_COLUMNS, ORACLE_COLUMNS, checkColumns, emptyTable, type ColumnDecl, type ColumnUnit, type SeriesRow, type OracleRow } from "./series.ts";
export { loadCalibration, checkCalibration, CostModel, allocateCpu, niceWeight, COST_KEYS, DEFAULT_CALIBRATION_PATH, type Calibration, type CostConstant, type CostKey } from "./cost-model.ts";
export { calibrate } from "./calibrate.ts";
export { validateRunResult, RESULT_SCHEMA, type RunResult, type RunOptions, type RunSummary, type TimeSeries, type OracleSeries, type TimeToMerge, type Measured, type MitigationCost } from "./result.ts";
export { loadWorkloadFile, isWorkloadPath } from "./workloads.ts";
export { parseSize, parseDuration, formatSize, formatDuration } from "./units.ts";
export { SAVINGS_DEFINITIONS } from "./metrics.ts";
export { loadWriteLatency, WriteLatencyModel, DEFAULT_WRITE_LATENCY_PATH, WRITE_LATENCY_KEYS, type WriteLatencyCalibration } from "./write-latency.ts";
export { fitWriteLatency, latencyQuantiles, SPIKE_SIGMAS, SPIKE_MIN_NS, type LatencyQuantiles, type LatencyMethod } from "./write-latency-fit.ts";
export { Rng } from "./rng.ts";
export { HostMemoryExhaustedError } from "./reclaim.ts";
export { VerifyError } from "./verify.ts";
export { HOST_SERIES_COLUMNS } from "./series.ts";
export { HOST_DEFAULTS, HOST_STATE_NAMES, minFreeBytes, swapReadSec, type HostRequest } from "./host-memory.ts";
