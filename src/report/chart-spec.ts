// What a chart is, as plain data (ChartSpec), and the choices every chart
// shares whatever draws it: sizes and paper figure sizes, policy colours.

import type { Policy } from "../dedup/index.ts";

// ---------------------------------------------------------------------------
// Input types

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  label: string;
  /**
   * line / scatter: (x, y) pairs, x ascending for lines.
   * bar: one point per category, in category order; only y is used.
   */
  points: Point[];
  /** Draw the line dashed. Defaults to true for the "oracle" policy. */
  dashed?: boolean;
  /** CSS colour. Defaults to the policy colour, else the fallback palette. */
  color?: string;
  /**
   * Draw the line as a staircase. "after": a point's value holds until the next point (a CDF, a
   * value that starts at its point); "before": a point's value is drawn over the interval that
   * ends at it (a sample summarising the interval since the previous one, e.g. its worst state).
   */
  step?: "after" | "before";
  /**
   * Policy this series shows, for its colour and dash. When absent, a label
   * that equals a policy name (case-insensitive), e.g. "KSM", counts as one.
   */
  policy?: PolicyName;
  /** scatter: the marker of each point (default every point a circle). */
  markers?: MarkerStyle[];
  /** scatter: marker size as a multiple of the default (e.g. to draw coincident points of several series as concentric rings). */
  markerScale?: number;
  /** scatter: markers drawn as outlines (points of other series stay visible beneath). */
  hollow?: boolean;
  /** A legend key only (no points): e.g. what each marker means, in `color`. */
  legendOnly?: boolean;
}

/** Marker shapes (chart.js point styles). */
export type MarkerStyle = "circle" | "rect" | "triangle" | "rectRot" | "crossRot" | "star" | "cross";

export type ChartKind = "line" | "scatter" | "bar";

export interface ChartSpec {
  kind: ChartKind;
  title?: string;
  /** Axis titles, shown always; units are the caller's to include, e.g. "Memory saved (MiB)". */
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Logarithmic x axis (line and scatter only). */
  xLog?: boolean;
  /** Logarithmic y axis. */
  yLog?: boolean;
  xMin?: number;
  xMax?: number;
  /** Linear x axis: the tick step (ticks at xMin + k * xStep); default chart.js's choice. */
  xStep?: number;
  yMin?: number;
  yMax?: number;
  /** Bar charts: the category names along x. Required for kind "bar". */
  categories?: string[];
  /**
   * Layout size in CSS pixels (default 1200 x 800). The PNG is
   * widthPx * pixelRatio wide; the SVG is widthPx wide; a PDF page is widthPx
   * points wide (1 layout px = 1 pt). SVG and PDF sizes are rounded to whole
   * units (Skia's PDF pages are whole points).
   */
  widthPx?: number;
  heightPx?: number;
  /** Output pixels per layout pixel in PNGs (default 1). Vector outputs ignore it. */
  pixelRatio?: number;
  /** Base font size in layout pixels (default 16); the title is 1.25x this. */
  fontSizePx?: number;
}

// ---------------------------------------------------------------------------
// Sizes

export const DEFAULT_WIDTH_PX = 1200;
export const DEFAULT_HEIGHT_PX = 800;
export const DEFAULT_FONT_SIZE_PX = 16;

/** Paper column widths, in inches (two-column conference layout). */
export const SINGLE_COLUMN_WIDTH_IN = 3.3;
export const DOUBLE_COLUMN_WIDTH_IN = 7;
export const POINTS_PER_INCH = 72;
/** Usual resolution of raster figures for print. */
export const PRINT_DPI = 300;

/** Width in output pixels of a figure `widthIn` inches wide at `dpi`. */
export function inchesToPixels(widthIn: number, dpi: number): number {
  return Math.round(widthIn * dpi);
}

/** Pixel widths of the two paper column widths at PRINT_DPI (990 and 2100). */
export const SINGLE_COLUMN_WIDTH_PX_AT_PRINT_DPI = inchesToPixels(SINGLE_COLUMN_WIDTH_IN, PRINT_DPI);
export const DOUBLE_COLUMN_WIDTH_PX_AT_PRINT_DPI = inchesToPixels(DOUBLE_COLUMN_WIDTH_IN, PRINT_DPI);

export interface FigureSize {
  widthPx: number;
  heightPx: number;
  pixelRatio: number;
  fontSizePx: number;
}

/**
 * Size fields for a ChartSpec drawn as a paper figure `widthIn` inches wide:
 * the layout is in points (so a PDF page is widthIn inches wide, rounded to a
 * whole point, and text is `fontSizePt` points tall in print), and PNGs come
 * out at `dpi` (3.3 in at 300 dpi: 990 px wide).
 * Spread it into a spec: `{ ...paperFigureSize(SINGLE_COLUMN_WIDTH_IN), kind: ... }`.
 */
export function paperFigureSize(widthIn: number, dpi = PRINT_DPI, heightToWidth = 0.65, fontSizePt = 8): FigureSize {
  return {
    widthPx: widthIn * POINTS_PER_INCH,
    heightPx: widthIn * heightToWidth * POINTS_PER_INCH,
    pixelRatio: dpi / POINTS_PER_INCH,
    fontSizePx: fontSizePt,
  };
}

export interface ResolvedSize {
  widthPx: number;
  heightPx: number;
  pixelRatio: number;
  fontSizePx: number;
}

export function resolveSize(spec: ChartSpec): ResolvedSize {
  const size = {
    widthPx: spec.widthPx ?? DEFAULT_WIDTH_PX,
    heightPx: spec.heightPx ?? DEFAULT_HEIGHT_PX,
    pixelRatio: spec.pixelRatio ?? 1,
    fontSizePx: spec.fontSizePx ?? DEFAULT_FONT_SIZE_PX,
  };
  for (const [name, value] of Object.entries(size)) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`chart ${name} must be a positive number, got ${value}`);
  }
  return size;
}

/** Size of the PNG for `spec`, in pixels, as chart.js computes it. */
export function pngSize(spec: ChartSpec): { width: number; height: number } {
  const { widthPx, heightPx, pixelRatio } = resolveSize(spec);
  // chart.js rounds the device size to one decimal, then floors it.
  const deviceSize = (layout: number) => Math.floor(Math.round(layout * pixelRatio * 10) / 10);
  return { width: deviceSize(widthPx), height: deviceSize(heightPx) };
}

// ---------------------------------------------------------------------------
// Colours

/** A policy (POLICIES, src/dedup/types.ts) or the oracle line every savings chart draws beside them. */
export type PolicyName = Policy | "oracle";

/** One colour per de-duplication policy, the same in every chart (Okabe–Ito hues). */
export const POLICY_COLORS: Readonly<Record<PolicyName, string>> = {
  vmdedup: "#0072B2", // blue
  ksm: "#D55E00", // vermillion
  esx: "#009E73", // bluish green
  none: "#000000", // black
  oracle: "#8C8C8C", // grey, drawn dashed
};

/** Policies drawn dashed unless the series says otherwise. */
export const DASHED_POLICIES: ReadonlySet<PolicyName> = new Set<PolicyName>(["oracle"]);

/** Colours for series that are not policies, in order (Okabe–Ito, colour-blind safe; yellow left out as unreadable on white). */
export const FALLBACK_COLORS: readonly string[] = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#000000", // black
];

function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICY_COLORS, name);
}

export function seriesPolicy(series: Series): PolicyName | undefined {
  if (series.policy !== undefined) return series.policy;
  const label = series.label.trim().toLowerCase();
  return isPolicyName(label) ? label : undefined;
}

interface SeriesStyle {
  color: string;
  dashed: boolean;
}

/** Colour and dash of each series: explicit values first, then policy, then the fallback palette in order. */
export function seriesStyles(series: readonly Series[]): SeriesStyle[] {
  let nextFallback = 0;
  return series.map((s) => {
    const policy = seriesPolicy(s);
    let color = s.color;
    if (color === undefined && policy !== undefined) color = POLICY_COLORS[policy];
    if (color === undefined) {
      color = FALLBACK_COLORS[nextFallback % FALLBACK_COLORS.length]!;
      nextFallback++;
    }
    const dashed = s.dashed ?? (policy !== undefined && DASHED_POLICIES.has(policy));
    return { color, dashed };
  });
}
