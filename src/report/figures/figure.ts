/**
 * What a paper figure is once made (FigureRecord): its panels as ChartSpecs (each written as
 * PDF, SVG and PNG), the numbers behind it as a table, and how it was made (command, seed,
 * setup). Records are plain JSON: each is saved beside its images as fig<N>.json, and the
 * README of the figures folder is rebuilt from every record present, so `--only 3` refreshes
 * figure 3 and keeps the others' entries.
 *
 * Also here: the figure sizes (one paper column, 3.3 in, or the full width, 7 in; 8 pt text; PNG
 * at 300 dpi) and the colours of workloads. The runs a figure reads (FigureRun) and how they are
 * made live in src/experiments/figures/.
 */
import { DOUBLE_COLUMN_WIDTH_IN, SINGLE_COLUMN_WIDTH_IN, paperFigureSize, type ChartSpec, type FigureSize } from "../chart-spec.ts";
export { DEDUP_POLICIES, describeRun, mib, round, type FigureRun } from "../../experiments/index.ts";

export const FIGURE_RECORD_SCHEMA = "vmdedup-figure/1";

export interface FigurePanel {
  /** File name without extension, e.g. "fig4a-cow-breaks". */
  file: string;
  /** What the panel shows, one line (README). */
  caption: string;
  spec: ChartSpec;
}

export interface FigureTable {
  columns: string[];
  rows: (string | number | null)[][];
}

export interface FigureRecord {
  schema: typeof FIGURE_RECORD_SCHEMA;
  id: number;
  title: string;
  /** What the figure shows and how to read it (README). */
  caption: string;
  /** The command that produced this record, e.g. "bun run figures --seed 1". */
  command: string;
  /** The command that re-makes this figure alone. */
  reproduce: string;
  seed: number;
  /** Where the runs came from: "fresh simulation runs" or "results document <file> (...)". */
  source: string;
  /** Guest sizes, durations, scan rates: enough to re-run one point with `bun run vmdedup run`. */
  setup: string;
  /** false: the numbers are wall-clock measurements and differ run to run and machine to machine. */
  deterministic: boolean;
  panels: FigurePanel[];
  /** Deterministic numbers behind the figure (simulated clock). */
  table: FigureTable | null;
  /** Wall-clock numbers behind the figure (machine-dependent). */
  measured: FigureTable | null;
}

/** Everything a figure's collect step needs. */
export interface FigureContext {
  seed: number;
  /** The invocation, for the record ("bun run figures --seed 1 ..."). */
  command: string;
  /** Extra flags that re-make one figure the same way ("--quick", "--from x.json"). */
  reproduceFlags: string;
  /** Progress lines (a no-op in CI and tests). */
  progress: (line: string) => void;
}

/** One paper column: 3.3 in wide, 8 pt text, PNG at 300 dpi (990 px wide). */
export const COLUMN: FigureSize = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.75, 8);
/** One paper column with room for a legend of 3 rows. */
export const COLUMN_TALL: FigureSize = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.9, 8);
/** Full text width of a two-column paper: 7 in wide (2100 px at 300 dpi). */
export const WIDE: FigureSize = paperFigureSize(DOUBLE_COLUMN_WIDTH_IN, 300, 0.34, 8);

/**
 * Colours of workloads where a figure draws one line per workload (figure 1). Okabe–Ito and Tol
 * hues that no policy uses (POLICY_COLORS has blue, vermillion, bluish green, black, grey), so a
 * workload line is never mistaken for a policy.
 */
export const WORKLOAD_COLORS: Readonly<Record<string, string>> = {
  idle: "#999933", // olive
  "kernel-build": "#E69F00", // orange
  "web-server": "#CC79A7", // reddish purple
  database: "#56B4E9", // sky blue
  mixed: "#882255", // wine
};
