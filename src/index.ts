/** vmdedup public API: everything other code and outside tests may use. */
export * from "./hypervisor/index.ts";
export * from "./dedup/index.ts";
export * from "./sim/index.ts";
export { CANNED_WORKLOADS, getWorkload, listWorkloads, workloadNames } from "../workloads/index.ts";
export { renderPng, renderSvg, renderPdf, POLICY_COLORS, type ChartSpec, type Series } from "./report/render.ts";
export { validateResults } from "./report/results-validate.ts";
