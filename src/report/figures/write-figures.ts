/**
 * Writes figure records into a folder: for each panel <file>.pdf (renderPdf: vector, fixed
 * metadata), <file>.svg and <file>.png; for each figure fig<N>.json (the record, so the README
 * can be rebuilt without re-running it); then README.md from every fig<N>.json in the folder.
 * Panel files a figure no longer has are removed when that figure is rewritten.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderPdf, renderPng, renderSvg } from "../render.ts";
import { FIGURE_RECORD_SCHEMA, type FigurePanel, type FigureRecord } from "./figure.ts";
import { figuresReadme } from "./readme.ts";

export interface RenderedPanel {
  pdf: Buffer;
  svg: string;
  png: Buffer;
}

export function renderPanel(record: FigureRecord, panel: FigurePanel): RenderedPanel {
  return {
    pdf: renderPdf([panel.spec], { title: `Figure ${record.id}: ${record.title} (${panel.file})` }),
    svg: renderSvg(panel.spec),
    png: renderPng(panel.spec),
  };
}

const recordFile = (id: number) => `fig${id}.json`;

/** Figure records saved in `dir`, by id. */
export function readRecords(dir: string): FigureRecord[] {
  if (!existsSync(dir)) return [];
  const out: FigureRecord[] = [];
  for (const f of readdirSync(dir)) {
    if (!/^fig\d+\.json$/.test(f)) continue;
    const r = JSON.parse(readFileSync(join(dir, f), "utf8")) as FigureRecord;
    if (r.schema === FIGURE_RECORD_SCHEMA) out.push(r);
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Writes `records` (their images and JSON) and rebuilds README.md; returns the paths written. */
export function writeFigures(records: FigureRecord[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const r of records) {
    // drop panels of an earlier version of this figure that this one does not have
    const previous = readRecords(dir).find((x) => x.id === r.id);
    const keep = new Set(r.panels.map((p) => p.file));
    for (const p of previous?.panels ?? []) {
      if (keep.has(p.file)) continue;
      for (const ext of ["pdf", "svg", "png"]) rmSync(join(dir, `${p.file}.${ext}`), { force: true });
    }
    for (const p of r.panels) {
      const out = renderPanel(r, p);
      for (const [ext, data] of [["pdf", out.pdf], ["svg", out.svg], ["png", out.png]] as const) {
        const path = join(dir, `${p.file}.${ext}`);
        writeFileSync(path, data);
        written.push(path);
      }
    }
    const json = join(dir, recordFile(r.id));
    writeFileSync(json, JSON.stringify(r, null, 1) + "\n");
    written.push(json);
  }
  const readme = join(dir, "README.md");
  writeFileSync(readme, figuresReadme(readRecords(dir)));
  written.push(readme);
  return written;
}
