// Translation of a ChartSpec into a chart.js configuration: axes, log-axis
// ticks, legend, white background. Nothing here draws; see render.ts.

import { BasicPlatform, Chart, type ChartConfiguration, type LegendItem, type Plugin, type Scale, type ScriptableScaleContext, type Tick } from "chart.js";
import { resolveSize, seriesStyles, type ChartKind, type ChartSpec, type Point } from "./chart-spec.ts";
import { BUNDLED_FONT_FAMILY } from "./fonts.ts";

const TEXT_COLOR = "#222222";
const GRID_COLOR = "#DDDDDD";
/** Grid lines of log axes at unlabelled ticks (2..9 x 10^k). */
const MINOR_GRID_COLOR = "#F0F0F0";
const BACKGROUND_COLOR = "#FFFFFF";
/** Number format of tick labels; fixed so the machine's locale cannot change output. */
const LOCALE = "en-US";

/**
 * Fills the whole chart white before anything else is drawn (chart.js has
 * just cleared the canvas to transparent), so PNGs are opaque.
 */
export const whiteBackgroundPlugin: Plugin = {
  id: "vmdedupWhiteBackground",
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = BACKGROUND_COLOR;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Width of a digit in DejaVu Sans, in em; a generous estimate for any tick label character. */
const LABEL_CHAR_WIDTH_EM = 0.64;

/**
 * Ticks of a logarithmic axis from `min` to `max`, replacing chart.js's own
 * (which crowd labels such as 2.0 2.1 2.2 together): a grid line at every
 * 1..9 x 10^k, and labels at the powers of ten when at least two are in
 * range, else at 1, 2, 5 x 10^k, else at every tick. Labels are thinned to
 * every 2nd, 3rd, ... one until they fit `axisLengthPx` without overlapping.
 * Labelled ticks are marked `major` and carry their text in `label`.
 */
export function logAxisTicks(min: number, max: number, axisLengthPx: number, fontSizePx: number, horizontal: boolean): Tick[] {
  if (!(min > 0 && max >= min)) return [];
  const ticks: { value: number; mantissa: number }[] = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (let mantissa = 1; mantissa <= 9; mantissa++) {
      const value = Number((mantissa * 10 ** exponent).toPrecision(12));
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) ticks.push({ value, mantissa });
    }
  }
  let labelled = ticks.filter((t) => t.mantissa === 1);
  if (labelled.length < 2) labelled = ticks.filter((t) => t.mantissa === 1 || t.mantissa === 2 || t.mantissa === 5);
  if (labelled.length < 3) labelled = ticks;

  // Plain numbers ("0.01", "1,000,000") while all labels are in [0.001, 1e6], else "1e9" notation.
  const plain = labelled.every((t) => t.value >= 1e-3 && t.value <= 1e6);
  const format = (v: number) =>
    plain ? v.toLocaleString(LOCALE, { maximumSignificantDigits: 3 }) : v.toExponential(0).replace("e+", "e");

  // Each label needs its own extent plus a gap of one font size along the axis.
  const widestLabel = Math.max(...labelled.map((t) => format(t.value).length)) * LABEL_CHAR_WIDTH_EM * fontSizePx;
  const labelExtent = (horizontal ? widestLabel : fontSizePx) + fontSizePx;
  // Thin by position on the (logarithmic) axis, not by index: ticks crowd towards each decade's end.
  const span = Math.log10(max) - Math.log10(min) || 1;
  const at = (v: number) => ((Math.log10(v) - Math.log10(min)) / span) * axisLengthPx;
  const labels = new Map<number, string>();
  let lastPx = -Infinity;
  for (const t of labelled) {
    const px = at(t.value);
    if (px - lastPx < labelExtent) continue;
    labels.set(t.value, format(t.value));
    lastPx = px;
  }

  return ticks.map((t) => {
    const label = labels.get(t.value);
    return label === undefined ? { value: t.value, major: false, label: "" } : { value: t.value, major: true, label };
  });
}

/** Tick label callback for log axes: the text logAxisTicks chose ("" between labels). */
function logTickLabel(_value: number | string, index: number, ticks: Tick[]): string {
  const label = ticks[index]?.label;
  return typeof label === "string" ? label : "";
}

/**
 * Legend entries of a line chart: chart.js takes a point-style marker's dash
 * from the points (never dashed), so copy each line's dash onto its entry.
 */
function lineLegendLabels(chart: Chart): LegendItem[] {
  const items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
  for (const item of items) {
    const dataset = item.datasetIndex === undefined ? undefined : chart.data.datasets[item.datasetIndex];
    if (dataset !== undefined && "borderDash" in dataset && Array.isArray(dataset.borderDash)) {
      item.lineDash = dataset.borderDash.filter((length): length is number => typeof length === "number");
    }
  }
  return items;
}

/**
 * A y value 5% of the data's span above its highest value, so that top points
 * and bars do not touch the frame (chart.js's `grace` would also pad below).
 */
function yWithHeadroom(spec: ChartSpec): number | undefined {
  let highest = -Infinity;
  let lowest = spec.kind === "bar" ? 0 : Infinity; // bars start at zero
  for (const series of spec.series) {
    for (const { y } of series.points) {
      if (!Number.isFinite(y)) continue;
      highest = Math.max(highest, y);
      lowest = Math.min(lowest, y);
    }
  }
  if (highest === -Infinity) return undefined;
  if (spec.yMin !== undefined) lowest = spec.yMin;
  return highest + 0.05 * (highest - lowest);
}

function validate(spec: ChartSpec): void {
  if (spec.series.length === 0) throw new Error("chart has no series");
  if (spec.kind === "bar") {
    const categories = spec.categories;
    if (categories === undefined || categories.length === 0) throw new Error("bar chart needs categories");
    for (const s of spec.series) {
      if (s.points.length !== categories.length) {
        throw new Error(`bar series "${s.label}" has ${s.points.length} values for ${categories.length} categories`);
      }
    }
    if (spec.xLog) throw new Error("bar chart cannot have a logarithmic x axis");
  }
}

type AnyChartConfiguration = ChartConfiguration<ChartKind, (number | Point)[], string>;

/** The chart.js datasets of `spec`'s series, styled (colour, dash, markers) for its kind. */
function toDatasets(spec: ChartSpec, styles: readonly { color: string; dashed: boolean }[], lineWidth: number, dash: number[], pointRadius: number) {
  return spec.series.map((s, i) => {
    const { color, dashed } = styles[i]!;
    const common = { label: s.label, borderColor: color, backgroundColor: color, borderWidth: lineWidth };
    if (spec.kind === "bar") {
      return { ...common, data: s.points.map((p) => p.y), borderWidth: 0 };
    }
    if (spec.kind === "scatter") {
      const r = pointRadius * (s.markerScale ?? 1);
      const marker = s.markers ?? ("circle" as const);
      // hollow: outline only; the legend box is drawn the same way
      const fill = s.hollow ? { backgroundColor: "rgba(0,0,0,0)", pointBorderWidth: lineWidth * 1.5, borderWidth: lineWidth * 1.5 } : {};
      return { ...common, ...fill, data: s.points, pointRadius: r, pointHoverRadius: r, pointStyle: marker, showLine: false };
    }
    // Markers only where they help: not on dense lines, staircases or two-point reference lines.
    const showMarkers = s.points.length > 2 && s.points.length <= 40 && !s.step;
    return {
      ...common,
      data: s.points,
      borderDash: dashed ? dash : [],
      stepped: s.step ?? false,
      pointRadius: showMarkers ? pointRadius : 0,
      pointStyle: "circle" as const,
      tension: 0,
      fill: false,
    };
  });

}

/** Title, legend (a line segment showing the dash for lines, a dot for scatter, a box for bars) and no tooltip. */
function pluginOptions(spec: ChartSpec, fontSizePx: number, pointRadius: number) {
  const legendLabels =
    spec.kind === "line"
      ? { usePointStyle: true, pointStyle: "line" as const, pointStyleWidth: fontSizePx * 3, generateLabels: lineLegendLabels }
      : spec.kind === "scatter"
        ? spec.series.some((s) => s.markers)
          ? { usePointStyle: true, boxHeight: pointRadius * 2 } // each entry shows its series' (first) marker
          : { usePointStyle: true, pointStyle: "circle" as const, boxHeight: pointRadius * 2 }
        : { boxWidth: fontSizePx * 2, boxHeight: fontSizePx };

  return {
    title: {
      display: spec.title !== undefined,
      text: spec.title ?? "",
      color: TEXT_COLOR,
      font: { size: Math.round(fontSizePx * 1.25), weight: "bold" },
      padding: { top: 0, bottom: fontSizePx },
    },
    legend: {
      display: spec.series.length > 1,
      position: "top",
      labels: { color: TEXT_COLOR, font: { size: fontSizePx }, padding: fontSizePx, ...legendLabels },
    },
    tooltip: { enabled: false },
  } as const;
}

/** chart.js configuration for `spec`, with `devicePixelRatio` set for the output. */
export function toChartConfiguration(spec: ChartSpec, devicePixelRatio: number): AnyChartConfiguration {
  validate(spec);
  const { fontSizePx } = resolveSize(spec);
  // Line widths follow the font size, so small paper figures get thin lines, not 1 px stretched by pixelRatio.
  const lineWidth = fontSizePx / 8;
  const gridLineWidth = fontSizePx / 16;
  const dash = [fontSizePx * 0.5, fontSizePx * 0.3];
  const pointRadius = fontSizePx / 5;

  const datasets = toDatasets(spec, seriesStyles(spec.series), lineWidth, dash, pointRadius);

  const axisTitle = (text: string) => ({ display: true, text, color: TEXT_COLOR, font: { size: fontSizePx } });
  const tickFont = { size: Math.round(fontSizePx * 0.875 * 10) / 10 };
  // Log axes: our own ticks and labels (logAxisTicks), spaced already, so chart.js must not
  // skip or rotate them; grid lines between labelled ticks are fainter.
  const logTicks = { callback: logTickLabel, autoSkip: false, maxRotation: 0 };
  const useLogAxisTicks = (scale: Scale) => {
    const horizontal = scale.isHorizontal();
    const axisLength = horizontal ? scale.maxWidth : scale.maxHeight;
    scale.ticks = logAxisTicks(scale.min, scale.max, axisLength, tickFont.size, horizontal);
  };
  const grid = { color: GRID_COLOR, lineWidth: gridLineWidth, tickLength: fontSizePx / 2 };
  const logGrid = {
    ...grid,
    color: (context: ScriptableScaleContext) => (context.tick?.major ? GRID_COLOR : MINOR_GRID_COLOR),
  };
  const xType = spec.kind === "bar" ? "category" : spec.xLog ? "logarithmic" : "linear";
  const yType = spec.yLog ? "logarithmic" : "linear";

  return {
    type: spec.kind,
    // Always chart.js's DOM-free platform, even where a test sets up window/document globals.
    platform: BasicPlatform,
    data: { labels: spec.kind === "bar" ? spec.categories : undefined, datasets },
    options: {
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      devicePixelRatio,
      locale: LOCALE,
      events: [],
      color: TEXT_COLOR,
      font: { family: BUNDLED_FONT_FAMILY, size: fontSizePx },
      layout: { padding: fontSizePx },
      scales: {
        x: {
          type: xType,
          min: spec.xMin,
          max: spec.xMax,
          title: axisTitle(spec.xLabel),
          ticks: { color: TEXT_COLOR, font: tickFont, ...(spec.xLog ? logTicks : spec.xStep !== undefined ? { stepSize: spec.xStep, autoSkip: false } : {}) },
          afterBuildTicks: spec.xLog ? useLogAxisTicks : undefined,
          grid: spec.xLog ? logGrid : grid,
        },
        y: {
          type: yType,
          min: spec.yMin,
          max: spec.yMax,
          beginAtZero: spec.kind === "bar" && !spec.yLog,
          suggestedMax: spec.yMax === undefined && !spec.yLog ? yWithHeadroom(spec) : undefined,
          title: axisTitle(spec.yLabel),
          ticks: { color: TEXT_COLOR, font: tickFont, ...(spec.yLog ? logTicks : {}) },
          afterBuildTicks: spec.yLog ? useLogAxisTicks : undefined,
          grid: spec.yLog ? logGrid : grid,
        },
      },
      plugins: pluginOptions(spec, fontSizePx, pointRadius),
    },
    plugins: [whiteBackgroundPlugin],
  } as AnyChartConfiguration;
}
