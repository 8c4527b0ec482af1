import { describe, expect, test } from "bun:test";
import { GlobalFonts, createCanvas, loadImage } from "@napi-rs/canvas";
import {
  BUNDLED_FONT_FAMILY,
  DEFAULT_HEIGHT_PX,
  DEFAULT_WIDTH_PX,
  DOUBLE_COLUMN_WIDTH_PX_AT_PRINT_DPI,
  FALLBACK_COLORS,
  POLICY_COLORS,
  SINGLE_COLUMN_WIDTH_IN,
  SINGLE_COLUMN_WIDTH_PX_AT_PRINT_DPI,
  logAxisTicks,
  paperFigureSize,
  pngSize,
  renderPdf,
  renderPng,
  renderSvg,
  renumberSvgIds,
  seriesStyles,
  type ChartSpec,
} from "./render.ts";

const lineSpec: ChartSpec = {
  kind: "line",
  title: "Memory saved over time",
  xLabel: "Time (s)",
  yLabel: "Memory saved (MiB)",
  series: [
    { label: "vmdedup", points: Array.from({ length: 20 }, (_, i) => ({ x: i * 5, y: 100 * (1 - Math.exp(-i / 5)) })) },
    { label: "oracle", points: [{ x: 0, y: 110 }, { x: 95, y: 110 }] },
  ],
};

const barSpec: ChartSpec = {
  kind: "bar",
  title: "Pages shared per workload",
  xLabel: "Workload",
  yLabel: "Pages shared (thousands)",
  categories: ["web", "db", "idle linux"],
  series: [
    { label: "ksm", points: [2, 4, 8].map((y, x) => ({ x, y })) },
    { label: "esx", points: [2.5, 4, 8.5].map((y, x) => ({ x, y })) },
  ],
  widthPx: 800,
  heightPx: 500,
};

const scatterLogSpec: ChartSpec = {
  kind: "scatter",
  xLabel: "Guest memory (pages)",
  yLabel: "Scan time (ms)",
  xLog: true,
  series: [
    { label: "vmdedup", points: [1e2, 1e3, 1e4, 1e5, 1e6].map((x) => ({ x, y: Math.log10(x) * 3 })) },
    { label: "ksm", points: [1e2, 3e3, 2e4, 1e5, 1e6].map((x) => ({ x, y: Math.sqrt(x) / 10 })) },
  ],
  widthPx: 640,
  heightPx: 480,
  pixelRatio: 2,
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, which follows the signature. */
function pngHeaderSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Decodes a PNG and returns its RGBA pixels. */
async function decodePng(png: Buffer): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, rgba: ctx.getImageData(0, 0, image.width, image.height).data };
}

function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function countPixels(rgba: Uint8ClampedArray, rgb: [number, number, number]): number {
  let count = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] === rgb[0] && rgba[i + 1] === rgb[1] && rgba[i + 2] === rgb[2]) count++;
  }
  return count;
}

describe("renderPng", () => {
  const cases: [string, ChartSpec, number, number][] = [
    ["line", lineSpec, DEFAULT_WIDTH_PX, DEFAULT_HEIGHT_PX],
    ["bar", barSpec, 800, 500],
    ["scatter, log x, pixel ratio 2", scatterLogSpec, 1280, 960],
  ];

  for (const [name, spec, width, height] of cases) {
    test(`${name}: decodes at ${width}x${height}, opaque white background, series drawn`, async () => {
      const png = renderPng(spec);
      expect(pngHeaderSize(png)).toEqual({ width, height });
      expect(pngSize(spec)).toEqual({ width, height });

      const image = await decodePng(png);
      expect(image.width).toBe(width);
      expect(image.height).toBe(height);
      // Every pixel is opaque; the corners are white background.
      let transparentPixels = 0;
      for (let i = 3; i < image.rgba.length; i += 4) if (image.rgba[i] !== 255) transparentPixels++;
      expect(transparentPixels).toBe(0);
      for (const [x, y] of [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]] as const) {
        const i = (y * width + x) * 4;
        expect([...image.rgba.subarray(i, i + 3)]).toEqual([255, 255, 255]);
      }
      // Each series' colour appears (bars are filled; lines and dots have solid cores).
      for (const style of seriesStyles(spec.series)) {
        expect(countPixels(image.rgba, hexToRgb(style.color))).toBeGreaterThan(50);
      }
    });

    test(`${name}: byte-identical across renders`, () => {
      const first = renderPng(spec);
      renderPng(lineSpec === spec ? barSpec : lineSpec); // another chart in between must not leak state
      const second = renderPng(spec);
      expect(second.equals(first)).toBe(true);
    });
  }

  test("paper single column at 300 dpi is 990 px wide", () => {
    const spec: ChartSpec = { ...lineSpec, ...paperFigureSize(SINGLE_COLUMN_WIDTH_IN), title: undefined };
    expect(SINGLE_COLUMN_WIDTH_PX_AT_PRINT_DPI).toBe(990);
    expect(DOUBLE_COLUMN_WIDTH_PX_AT_PRINT_DPI).toBe(2100);
    expect(pngHeaderSize(renderPng(spec))).toEqual({ width: 990, height: 643 });
  });

  test("a bar series with a value count unlike the categories is refused", () => {
    const spec: ChartSpec = { ...barSpec, series: [{ label: "ksm", points: [{ x: 0, y: 1 }] }] };
    expect(() => renderPng(spec)).toThrow("has 1 values for 3 categories");
  });
});

describe("renderSvg", () => {
  for (const [name, spec] of [["line", lineSpec], ["bar", barSpec], ["scatter", scatterLogSpec]] as const) {
    test(`${name}: an SVG document with text as outlines, identical across renders`, () => {
      const svg = renderSvg(spec);
      expect(svg.startsWith('<?xml version="1.0" encoding="utf-8" ?>\n<svg ')).toBe(true);
      const width = spec.widthPx ?? DEFAULT_WIDTH_PX;
      const height = spec.heightPx ?? DEFAULT_HEIGHT_PX;
      expect(svg).toContain(`width="${width}" height="${height}"`);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      // Nothing that a viewer would resolve against its own fonts.
      expect(svg).not.toContain("<text");
      expect(svg).not.toContain("font-family");
      expect(svg).not.toContain("@font-face");
      expect(svg.toLowerCase()).toContain(seriesStyles(spec.series)[0]!.color.toLowerCase());
      renderSvg(spec === lineSpec ? barSpec : lineSpec); // another chart in between must not leak state
      expect(renderSvg(spec)).toBe(svg);
    });
  }

  test("renumberSvgIds renames ids and their references in order of declaration", () => {
    const svg = '<clipPath id="cl_1b"/><g clip-path="url(#cl_1b)"/><clipPath id="cl_7"/><use href="#cl_7"/><path stroke="#DDD"/>';
    expect(renumberSvgIds(svg)).toBe(
      '<clipPath id="cl_1"/><g clip-path="url(#cl_1)"/><clipPath id="cl_2"/><use href="#cl_2"/><path stroke="#DDD"/>',
    );
  });
});

describe("renderPdf", () => {
  test("a 3-page vector PDF, byte-identical across renders, with no dates", () => {
    const pdf = renderPdf([lineSpec, barSpec, scatterLogSpec], { title: "vmdedup test charts" });
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(pdf.subarray(-6).toString("latin1").trim()).toBe("%%EOF");
    const text = pdf.toString("latin1");
    expect(text).toContain("/Count 3");
    expect(text).toContain("/MediaBox [0 0 1200 800]");
    expect(text).toContain("/MediaBox [0 0 800 500]");
    expect(text).toContain("/Title (vmdedup test charts)");
    expect(text).not.toContain("/CreationDate");
    expect(text).not.toContain("/ModDate");
    // Text is embedded vector glyphs from the bundled font, not an image.
    expect(text).toContain("+DejaVuSans");
    expect(text).not.toContain("/Subtype /Image");

    const again = renderPdf([lineSpec, barSpec, scatterLogSpec], { title: "vmdedup test charts" });
    expect(again.equals(pdf)).toBe(true);
  });

  test("no charts is an error", () => {
    expect(() => renderPdf([])).toThrow("at least one chart");
  });
});

describe("fonts and colours", () => {
  test("the bundled font is registered under its own family name", () => {
    renderPng(lineSpec);
    expect(GlobalFonts.has(BUNDLED_FONT_FAMILY)).toBe(true);
    const family = GlobalFonts.families.find((f) => f.family === BUNDLED_FONT_FAMILY);
    expect(family?.styles.map((s) => s.weight).sort()).toEqual([400, 700]);
  });

  test("policies get their colours, oracle is dashed, others take the fallback palette in order", () => {
    const styles = seriesStyles([
      { label: "KSM", points: [] },
      { label: "oracle", points: [] },
      { label: "zero pages", points: [] },
      { label: "vmdedup (2 MiB pages)", policy: "vmdedup", points: [] },
      { label: "merge rate", points: [], color: "#123456", dashed: true },
      { label: "scan rate", points: [] },
    ]);
    expect(styles).toEqual([
      { color: POLICY_COLORS.ksm, dashed: false },
      { color: POLICY_COLORS.oracle, dashed: true },
      { color: FALLBACK_COLORS[0]!, dashed: false },
      { color: POLICY_COLORS.vmdedup, dashed: false },
      { color: "#123456", dashed: true },
      { color: FALLBACK_COLORS[1]!, dashed: false },
    ]);
  });
});

describe("logAxisTicks", () => {
  const labels = (ticks: { label?: unknown; major?: boolean }[]) => ticks.filter((t) => t.major).map((t) => t.label);

  test("labels powers of ten over several decades, with grid ticks between", () => {
    const ticks = logAxisTicks(100, 1e6, 1000, 14, true);
    expect(labels(ticks)).toEqual(["100", "1,000", "10,000", "100,000", "1,000,000"]);
    expect(ticks.length).toBe(4 * 9 + 1);
  });

  test("thins labels that would overlap on a short axis", () => {
    expect(labels(logAxisTicks(1, 1e6, 200, 8, true))).toEqual(["1", "100", "10,000", "1,000,000"]);
  });

  test("thins by position, so ticks crowding at a decade's end do not overlap", () => {
    // 0.03..0.09: no decade inside, every tick is a candidate; on a log axis 0.08 and 0.09 sit close
    const ticks = logAxisTicks(0.03, 0.09, 150, 14, true);
    expect(labels(ticks)).toEqual(["0.03", "0.05", "0.08"]);
  });

  test("labels 1-2-5 within a decade and uses e-notation beyond a million", () => {
    expect(labels(logAxisTicks(2, 60, 1000, 14, true))).toEqual(["2", "5", "10", "20", "50"]);
    expect(labels(logAxisTicks(1e6, 1e9, 1000, 14, true))).toEqual(["1e6", "1e7", "1e8", "1e9"]);
  });
});
