/**
 * Writes the charts and the markdown summary of a results document: <chartsDir>/<name>.png and
 * .svg for every chart of chartsFromResults, and <summaryFile>. Charts of a previous document
 * that this one does not have are removed, so the directory always matches the summary.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { chartsFromResults, type NamedChart } from "./charts-from-results.ts";
import { renderPng, renderSvg } from "./render.ts";
import type { ResultsDocument } from "./results-schema.ts";
import { summaryMarkdown } from "./summary-md.ts";

export interface ReportFiles {
  charts: NamedChart[];
  files: string[];
}

export function writeReport(doc: ResultsDocument, sourceFile: string, chartsDir: string, summaryFile: string): ReportFiles {
  const charts = chartsFromResults(doc);
  mkdirSync(chartsDir, { recursive: true });
  const keep = new Set(charts.flatMap((c) => [`${c.name}.png`, `${c.name}.svg`]));
  for (const f of readdirSync(chartsDir)) if (/\.(png|svg)$/.test(f) && !keep.has(f)) rmSync(join(chartsDir, f));
  const files: string[] = [];
  for (const c of charts) {
    const png = join(chartsDir, `${c.name}.png`);
    const svg = join(chartsDir, `${c.name}.svg`);
    writeFileSync(png, renderPng(c.spec));
    writeFileSync(svg, renderSvg(c.spec));
    files.push(png, svg);
  }
  const rel = relative(dirname(summaryFile), chartsDir) || ".";
  writeFileSync(summaryFile, summaryMarkdown(doc, charts, rel, sourceFile));
  files.push(summaryFile);
  return { charts, files };
}
