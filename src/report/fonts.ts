// The one font every chart is drawn with: DejaVu Sans, shipped as TTF files
// inside the npm package "dejavu-fonts-ttf". It is registered with Skia under
// a family name of our own (BUNDLED_FONT_FAMILY), so that no font installed on
// the machine can ever match it, and charts look the same on every machine.

import { createRequire } from "node:module";
import { GlobalFonts } from "@napi-rs/canvas";

/** Family name under which the bundled DejaVu Sans files are registered. */
export const BUNDLED_FONT_FAMILY = "VMDedupDejaVuSans";

/** Font files registered under BUNDLED_FONT_FAMILY: regular (400) and bold (700, used by titles). */
const BUNDLED_FONT_FILES = [
  "dejavu-fonts-ttf/ttf/DejaVuSans.ttf",
  "dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf",
] as const;

let registered = false;

/** Absolute paths of the bundled font files, resolved from node_modules. */
export function bundledFontPaths(): string[] {
  const require = createRequire(import.meta.url);
  return BUNDLED_FONT_FILES.map((file) => require.resolve(file));
}

/**
 * Registers the bundled font files with Skia (once per process).
 * Throws if a file is missing or cannot be parsed: drawing with a system
 * fallback font instead would silently make output machine-dependent.
 */
export function registerBundledFont(): void {
  if (registered) return;
  for (const path of bundledFontPaths()) {
    const key = GlobalFonts.registerFromPath(path, BUNDLED_FONT_FAMILY);
    if (key === null) {
      throw new Error(`could not register font file ${path} as ${BUNDLED_FONT_FAMILY}`);
    }
  }
  registered = true;
}
