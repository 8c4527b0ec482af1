// Chart rendering for reports and paper figures: PNG, SVG and PDF.
//
// How it works
//   A caller describes a chart as plain data (ChartSpec: kind, axis titles,
//   series of points; see chart-spec.ts). toChartConfiguration (chart-config.ts)
//   turns it into a chart.js v4 configuration, and chart.js draws it, server side, onto a
//   2D context of @napi-rs/canvas (Skia):
//     - PNG: a raster Canvas, encoded with canvas.encodeSync("png");
//     - SVG: an SVG Canvas whose text is converted to outlines
//       (SvgExportFlag.ConvertTextToPaths), read with getContent();
//     - PDF: the drawing context of a page of a Skia PDFDocument, one page
//       per chart, text embedded as a subset of the bundled font.
//   chart.js runs on its BasicPlatform (no DOM): no events, no
//   resize observers; `responsive: false` and `animation: false` make one
//   synchronous draw at the size we give, then the chart is destroyed.
//
// Why the output is deterministic (same spec -> same bytes)
//   - Text uses only the bundled DejaVu Sans files (fonts.ts), registered
//     under a family name no system font has, never a system font.
//   - Size and devicePixelRatio come from the spec, never from the machine;
//     tick labels are formatted in a fixed locale (en-US).
//   - No animation, no clock: chart.js draws the final frame once.
//   - PNG encoding writes no timestamp; the SVG has no metadata, and its
//     element ids, which Skia numbers per process, are renumbered; the PDF
//     metadata is fixed (title, creator, producer) and Skia writes no creation
//     date unless asked to, so the document has no clock in it either.
//   - A white background is painted before anything else, so PNGs are
//     opaque and do not depend on how a viewer shows transparency.

import { Canvas, PDFDocument, SvgExportFlag, createCanvas, type SKRSContext2D } from "@napi-rs/canvas";
import { Chart, registerables, type ChartItem } from "chart.js";
import { toChartConfiguration } from "./chart-config.ts";
import { pngSize, resolveSize, type ChartSpec } from "./chart-spec.ts";
import { BUNDLED_FONT_FAMILY, registerBundledFont } from "./fonts.ts";

export * from "./chart-spec.ts";
export { logAxisTicks } from "./chart-config.ts";
export { BUNDLED_FONT_FAMILY } from "./fonts.ts";

let chartJsReady = false;

/** Registers chart.js components and the bundled font, and sets chart.js defaults (once per process). */
function prepareChartJs(): void {
  if (chartJsReady) return;
  registerBundledFont();
  Chart.register(...registerables);
  Chart.defaults.font.family = BUNDLED_FONT_FAMILY;
  Chart.defaults.animation = false;
  chartJsReady = true;
}

/**
 * The canvas chart.js believes it draws on. chart.js reads the chart's layout
 * size from `context.canvas.width/height` and, with a devicePixelRatio, then
 * writes the device size back there and scales the context. Layout sizes may
 * be fractional (3.3 in = 237.6 pt) while real canvases are whole pixels, so
 * chart.js gets this stand-in (with the layout size) as the context's canvas,
 * and the real canvas is made at the final device size beforehand.
 */
interface DrawingSurface {
  width: number;
  height: number;
  getContext(contextId: "2d"): DrawingContext;
}

/** A 2D context of a raster or SVG canvas, or of a PDF page. */
type DrawingContext = SKRSContext2D | ReturnType<PDFDocument["beginPage"]>;

function surfaceFor(context: DrawingContext, widthPx: number, heightPx: number): DrawingSurface {
  const surface: DrawingSurface = { width: widthPx, height: heightPx, getContext: () => context };
  Object.defineProperty(context, "canvas", { value: surface, configurable: true });
  return surface;
}

/**
 * Draws `spec` with chart.js onto `context`, laid out at the spec's size and
 * scaled by `devicePixelRatio`, calls `takeOutput` while the drawing is
 * there, then releases the chart (chart.js clears the canvas when it does).
 */
function drawChart(spec: ChartSpec, context: DrawingContext, devicePixelRatio: number, takeOutput: () => void): DrawingSurface {
  prepareChartJs();
  const { widthPx, heightPx } = resolveSize(spec);
  const surface = surfaceFor(context, widthPx, heightPx);
  const config = toChartConfiguration(spec, devicePixelRatio);
  // chart.js's types expect a DOM canvas; any object with getContext("2d") works on its BasicPlatform.
  const chart = new Chart(surface as unknown as ChartItem, config);
  try {
    takeOutput();
  } finally {
    chart.destroy();
  }
  return surface;
}

/** Renders `spec` as a PNG of pngSize(spec) pixels (default 1200 x 800). */
export function renderPng(spec: ChartSpec): Buffer {
  const { pixelRatio } = resolveSize(spec);
  const { width, height } = pngSize(spec);
  const canvas = new Canvas(width, height);
  let png: Buffer | undefined;
  const surface = drawChart(spec, canvas.getContext("2d"), pixelRatio, () => {
    png = canvas.encodeSync("png");
  });
  // chart.js wrote the device size it drew at onto the surface; it must be the canvas's.
  if (surface.width !== width || surface.height !== height) {
    throw new Error(`chart.js drew at ${surface.width}x${surface.height} on a ${width}x${height} canvas`);
  }
  return png!;
}

/**
 * Renders `spec` as a standalone SVG document of its layout size (rounded to
 * whole pixels), text drawn as outlines, so that viewing it needs no font.
 */
export function renderSvg(spec: ChartSpec): string {
  const { widthPx, heightPx } = resolveSize(spec);
  const canvas = createCanvas(Math.round(widthPx), Math.round(heightPx), SvgExportFlag.ConvertTextToPaths);
  let svg: string | undefined;
  drawChart(spec, canvas.getContext("2d"), 1, () => {
    svg = canvas.getContent().toString("utf8");
  });
  return renumberSvgIds(svg!);
}

/**
 * Skia numbers the SVG elements it gives ids (clip paths: "cl_1b") from a
 * counter that lives as long as the process, so the same chart drawn twice
 * gets other ids. Renames every id in order of first declaration ("cl_1",
 * "cl_2", ...) and every reference to it, so the document depends on the
 * chart alone.
 */
export function renumberSvgIds(svg: string): string {
  const renamed = new Map<string, string>();
  for (const [, id] of svg.matchAll(/ id="([^"]+)"/g)) {
    if (id !== undefined && !renamed.has(id)) {
      const prefix = id.replace(/_?[0-9a-f]+$/, "");
      renamed.set(id, `${prefix}_${renamed.size + 1}`);
    }
  }
  // Declarations (id="x") and references (url(#x), href="#x").
  return svg.replace(/(id="|#)([^")\s]+)(?=[")])/g, (match: string, lead: string, id: string) => {
    const newId = renamed.get(id);
    return newId === undefined ? match : lead + newId;
  });
}

export interface PdfOptions {
  /** Document title stored in the PDF's metadata. */
  title?: string;
}

/**
 * Renders each spec on its own page of one vector PDF. A page is widthPx x
 * heightPx points, rounded by Skia to whole points (1 layout px = 1 pt; see
 * paperFigureSize for print sizes). Text is embedded DejaVu Sans, not outlines.
 */
export function renderPdf(specs: readonly ChartSpec[], opts: PdfOptions = {}): Buffer {
  if (specs.length === 0) throw new Error("renderPdf needs at least one chart");
  prepareChartJs();
  // Every field is fixed: nothing from the clock or the machine goes into the document.
  const document = new PDFDocument({
    ...(opts.title !== undefined ? { title: opts.title } : {}),
    creator: "vmdedup",
    producer: "vmdedup report (Skia/PDF via @napi-rs/canvas)",
  });
  for (const spec of specs) {
    const { widthPx, heightPx } = resolveSize(spec);
    const page = document.beginPage(widthPx, heightPx);
    drawChart(spec, page, 1, () => {
      // Finish the page before chart.js clears its canvas on release: once a
      // page has ended, Skia's page canvas draws nowhere, so the clear is lost.
      document.endPage();
    });
  }
  return document.close();
}
