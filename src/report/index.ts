/**
 * vmdedup's report API: results documents (schema and validator), charts rendered with chart.js
 * on @napi-rs/canvas (PNG, SVG, PDF), the charts and summary of a results document, and the
 * paper figures. Loading this loads the native canvas; the core is src/index.ts.
 */
export { renderPng, renderSvg, renderPdf, POLICY_COLORS, type ChartSpec, type Series, type PolicyName } from "./render.ts";
export { validateResults, ResultsSchemaError } from "./results-validate.ts";
export { RESULTS_SCHEMA, type ResultsDocument, type MacroRun, type MacroResults, type MicroResults, type CalibrationInfo } from "./results-schema.ts";
export { chartsFromResults, type NamedChart } from "./charts-from-results.ts";
export { summaryMarkdown } from "./summary-md.ts";
export { writeReport, type ReportFiles } from "./write-report.ts";
export { generateFigures, FIGURE_IDS, type GenerateOptions } from "./figures/generate.ts";
export { writeFigures, readRecords, renderPanel } from "./figures/write-figures.ts";
export type { FigureRecord, FigurePanel, FigureTable } from "./figures/figure.ts";
