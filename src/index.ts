/**
 * vmdedup's core public API: the hypervisor, the de-duplication policies, real guest memory (dump
 * readers, traces, analysis), the simulation and the
 * experiments (runs with baselines, run records, suites). Rendering, results documents and
 * figures are in src/report/index.ts, so code that only simulates never loads chart.js or the
 * native canvas.
 */
export * from "./hypervisor/index.ts";
export * from "./dedup/index.ts";
export * from "./trace/index.ts";
export * from "./sim/index.ts";
export * from "./experiments/index.ts";
