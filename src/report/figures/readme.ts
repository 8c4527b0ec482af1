/**
 * results/figures/README.md from the figure records present: for each figure its files, the
 * command and seed that made it, where its runs came from, its setup, and the numbers behind it
 * (deterministic ones in one table, wall-clock ones in a separate "measured" table). Nothing
 * from the clock goes in, so the README of deterministic figures is itself reproducible.
 */
import { resolveSize } from "../chart-spec.ts";
import type { FigureRecord, FigureTable } from "./figure.ts";

function cell(v: string | number | null): string {
  if (v === null) return "–";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "–";
  return v.replace(/\|/g, "\\|");
}

export function markdownTable(t: FigureTable): string {
  const head = `| ${t.columns.join(" | ")} |`;
  const rule = `|${t.columns.map((_, i) => (i < 2 ? "---" : "--:")).join("|")}|`;
  return [head, rule, ...t.rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const inches = (widthPt: number) => `${Math.round((widthPt / 72) * 10) / 10} in`;

export function figuresReadme(records: FigureRecord[]): string {
  const out: string[] = [];
  out.push("# Paper figures");
  out.push("");
  out.push(
    "Made by `bun run figures` (scripts/figures.ts, src/report/figures/). Every panel is written as a vector PDF (text embedded), " +
      "an SVG (text as outlines) and a PNG at 300 dpi, sized for a two-column paper: 3.3 in wide for one column, 7 in for the full width, 8 pt text. " +
      "Colours are the same for a policy in every figure: vmdedup blue, ksm vermillion, esx green, none black, the oracle grey and dashed. " +
      "Savings are % of all guest memory of started guests, zero pages included unless a column says otherwise (definitions: src/sim/metrics.ts).",
  );
  out.push("");
  out.push(
    "Every figure except figure 6 comes from the simulator's deterministic clock: the same command and seed give the same numbers and " +
      "byte-identical PDF, SVG and PNG files on any machine. Figure 6 is measured wall-clock time of the real scanner code: it depends on the machine and its load.",
  );
  out.push("");
  out.push("| figure | what | files | deterministic |");
  out.push("|---|---|---|---|");
  for (const r of records) {
    out.push(`| [${r.id}](#figure-${r.id}) | ${r.title} | ${r.panels.map((p) => `${p.file}.{pdf,svg,png}`).join("<br>")} | ${r.deterministic ? "yes" : "no (measured)"} |`);
  }
  for (const r of records) {
    out.push("");
    out.push(`## Figure ${r.id}`);
    out.push("");
    out.push(`**${r.title}.** ${r.caption}`);
    out.push("");
    for (const p of r.panels) {
      const { widthPx, heightPx } = resolveSize(p.spec);
      out.push(`![${p.caption}](${p.file}.png)`);
      out.push("");
      out.push(`\`${p.file}\` (.pdf .svg .png, ${inches(widthPx)} x ${inches(heightPx)}): ${p.caption}`);
      out.push("");
    }
    out.push(`- Command: \`${r.command}\` (seed ${r.seed})`);
    out.push(`- This figure alone: \`${r.reproduce}\``);
    out.push(`- Runs: ${r.source}`);
    out.push(`- Setup: ${r.setup}`);
    if (!r.deterministic) out.push("- **Machine-dependent**: wall-clock measurements; another run or machine gives other numbers.");
    if (r.table) {
      out.push("");
      out.push("Numbers behind the figure (simulated, deterministic):");
      out.push("");
      out.push(markdownTable(r.table));
    }
    if (r.measured) {
      out.push("");
      out.push("### Measured (wall-clock, machine-dependent)");
      out.push("");
      out.push(markdownTable(r.measured));
    }
  }
  out.push("");
  return out.join("\n");
}
