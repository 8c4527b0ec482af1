/**
 * What a paper figure is once made (FigureRecord): its panels as ChartSpecs (each written as
 * PDF, SVG and PNG), the numbers behind it as a table, and how it was made (command, seed,
 * setup). Records are plain JSON: each is saved beside its images as fig<N>.json, and the
 * README of the figures folder is rebuilt from every record present, so `--only 3` refreshes
 * figure 3 and keeps the others' entries.
 *
 * Also here: the run shape every figure reads (FigureRun: a simulation run reduced to what the
 * figures need, from a fresh run or a results document's macro run), the figure sizes (one paper
 * column, 3.3 in, or the full width, 7 in; 8 pt text; PNG at 300 dpi), and small formatting helpers.
 */
import { DOUBLE_COLUMN_WIDTH_IN, SINGLE_COLUMN_WIDTH_IN, paperFigureSize, type ChartSpec, type FigureSize } from "../chart-spec.ts";
import type { OracleSeries, RunSummary, TimeSeries } from "../../sim/result.ts";

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

/** A simulation run as the figures read it (a fresh RunResult or a results document's MacroRun). */
export interface FigureRun {
  workload: string;
  policy: string;
  mode: "hvm" | "pv";
  guests: number;
  guestMemBytes: number;
  durationSec: number;
  pagesToScan: number | null;
  sleepMillisecs: number | null;
  seed: number;
  summary: RunSummary;
  series: TimeSeries;
  oracle: OracleSeries;
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

export const MiB = 2 ** 20;

/** One paper column: 3.3 in wide, 8 pt text, PNG at 300 dpi (990 px wide). */
export const COLUMN: FigureSize = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.75, 8);
/** One paper column with room for a legend of 3 rows. */
export const COLUMN_TALL: FigureSize = paperFigureSize(SINGLE_COLUMN_WIDTH_IN, 300, 0.9, 8);
/** Full text width of a two-column paper: 7 in wide (2100 px at 300 dpi). */
export const WIDE: FigureSize = paperFigureSize(DOUBLE_COLUMN_WIDTH_IN, 300, 0.34, 8);

/** Legend order of policies everywhere: the de-duplication policies, then none, then the oracle. */
export const POLICY_ORDER = ["vmdedup", "ksm", "esx", "none", "oracle"] as const;
export const DEDUP_POLICIES = ["vmdedup", "ksm", "esx"] as const;
/** Canned workloads in the order figures show them. */
export const WORKLOAD_ORDER = ["idle", "kernel-build", "web-server", "database", "mixed"] as const;

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

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const mib = (bytes: number): string => `${round(bytes / MiB, 1)} MiB`;

/** "60 s, 4 guests x 32 MiB, pagesToScan 100 / sleepMillisecs 20" for a run. */
export function describeRun(r: FigureRun): string {
  const rate = r.pagesToScan === null ? "scan rate: simulator default" : `pagesToScan ${r.pagesToScan} every ${r.sleepMillisecs} ms`;
  return `${r.guests} ${r.mode.toUpperCase()} guests x ${mib(r.guestMemBytes)}, ${r.durationSec} s simulated, ${rate}`;
}
