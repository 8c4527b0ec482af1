/**
 * The layering of src/ (README "Layout"), checked on every import of every file:
 *   hypervisor < dedup < trace < sim < experiments < src/index.ts (the core entry) < report < gate < cli;
 * a file may import its own layer and the layers below it, never one above; src/gate/ is imported
 * by nothing in src/ but cli/. workloads/ (canned specs) may import only sim's spec types
 * (src/sim/spec.ts); nothing in src/ imports workloads/ but cli/ and tests (*.test.ts,
 * *.bench.ts, which may take canned specs as fixtures; workloads/' own tests may run them
 * through any layer up to experiments). No cycle between folders (the src/ layers and workloads/,
 * type imports included: a type is a dependency too) and no cycle of value imports between files
 * (a file importing only a type back from the module that imports it, as guest.ts does from
 * hypervisor.ts, is no cycle at run time and is allowed).
 * Imports are read from the source text: static `import`/`export ... from` and `import("literal")`;
 * package imports are ignored.
 * There is no allow-list: a violation fails the test with the file, the import and the rule.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const RANK: Record<string, number> = { hypervisor: 0, dedup: 1, trace: 2, sim: 3, experiments: 4, "index.ts": 4.5, report: 5, gate: 6, cli: 7 };

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) continue;
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.ts$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

export interface Import {
  /** The imported file, from the repository root. */
  to: string;
  /** Only types are imported (`import type`, or every name marked `type`): erased at run time. */
  typeOnly: boolean;
}

/** `{ type A, type B }` or `type { A }`: the clause between import/export and from imports types only. */
function typeOnlyClause(clause: string): boolean {
  const c = clause.trim();
  if (/^type\b/.test(c)) return true;
  const braces = /^\{([\s\S]*)\}$/.exec(c);
  if (!braces) return false;
  const names = braces[1]!.split(",").map((x) => x.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => /^type\s/.test(n));
}

/** Relative imports of a file's source, resolved to paths from the repository root. */
export function importsOf(file: string, source: string): Import[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: { spec: string; typeOnly: boolean }[] = [
    ...[...text.matchAll(/^\s*(?:import|export)\b([^;]*?)\bfrom\s*["']([^"']+)["']/gm)].map((m) => ({ spec: m[2]!, typeOnly: typeOnlyClause(m[1]!) })),
    ...[...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm)].map((m) => ({ spec: m[1]!, typeOnly: false })),
    ...[...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => ({ spec: m[1]!, typeOnly: false })),
  ];
  const out = new Map<string, Import>();
  for (const f of found) {
    if (!f.spec.startsWith(".")) continue;
    const to = relative(ROOT, resolve(dirname(file), f.spec));
    out.set(to, { to, typeOnly: (out.get(to)?.typeOnly ?? true) && f.typeOnly });
  }
  return [...out.values()];
}

/** The folder a path belongs to for the folder-cycle check: src/<layer>, src (its top-level files) or workloads. */
function unitOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : parts.length > 1 ? parts[0]! : path;
}

const isTest = (path: string) => /\.(test|bench)\.ts$/.test(path);
/** The layer rank of a path in src/ (a top-level file other than index.ts ranks with cli: tests of the whole). */
function rankOf(path: string): number | null {
  const parts = path.split("/");
  if (parts[0] !== "src") return null;
  if (parts.length === 2) return parts[1] === "index.ts" ? RANK["index.ts"]! : RANK.cli!;
  return RANK[parts[1]!] ?? null;
}

/** Why the import from `from` to `to` breaks the layering, or null. */
export function violation(from: string, to: string): string | null {
  const a = rankOf(from);
  const b = rankOf(to);
  if (from.startsWith("workloads/")) {
    if (to.startsWith("workloads/")) return null;
    if (isTest(from)) return b !== null && b <= RANK.experiments! ? null : "workloads/ tests may import src/ layers up to experiments only";
    return to === "src/sim/spec.ts" ? null : "workloads/ may import only sim's spec types (src/sim/spec.ts)";
  }
  if (a === null) return null; // scripts/ and the like may import anything
  if (to.startsWith("workloads/")) return a === RANK.cli || isTest(from) ? null : "only cli/ (and tests) may import workloads/: pass a WorkloadCatalog in";
  if (b === null) return `imports outside src/ (${to})`;
  if (b > a) return `a lower layer (${from.split("/")[1]}) imports a higher one (${to.split("/")[1]})`;
  return null;
}

/** Import cycles between files: each strongly connected component of more than one file (or a file importing itself). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

const imports = new Map<string, Import[]>();
for (const f of [...files(join(ROOT, "src")), ...files(join(ROOT, "workloads"))]) imports.set(relative(ROOT, f), importsOf(f, readFileSync(f, "utf8")));
/** Value imports between files. */
const valueGraph = new Map([...imports].map(([from, xs]) => [from, xs.filter((x) => !x.typeOnly).map((x) => x.to)]));
/** Imports of any kind between folders (src/index.ts and the top-level tests sit in "src"). */
const folderGraph = new Map<string, string[]>();
for (const [from, xs] of imports) {
  const u = unitOf(from);
  const tos = new Set([...(folderGraph.get(u) ?? []), ...xs.map((x) => unitOf(x.to)).filter((t) => t !== u)]);
  folderGraph.set(u, [...tos]);
}

describe("layers", () => {
  test("the import reader finds static, type-only, re-export and dynamic imports, not comments", () => {
    const src = `import a from "./a.ts";\nimport type { B } from "../b.ts";\nexport { c } from "./c/index.ts";\n// import x from "./x.ts";\n/* import y from "./y.ts"; */\nconst d = await import("./d.ts");\nimport {\n  e,\n} from "node:fs";`;
    const found = importsOf(join(ROOT, "src/sim/f.ts"), src + `\nimport { type G, type H } from "./g.ts";\nimport { type I, j } from "./i.ts";`);
    expect(found.map((x) => x.to).sort()).toEqual(["src/b.ts", "src/sim/a.ts", "src/sim/c/index.ts", "src/sim/d.ts", "src/sim/g.ts", "src/sim/i.ts"]);
    expect(found.filter((x) => x.typeOnly).map((x) => x.to).sort()).toEqual(["src/b.ts", "src/sim/g.ts"]);
  });

  test("the rules catch an upward import, workloads/ below cli, and a cycle", () => {
    expect(violation("src/dedup/x.ts", "src/sim/index.ts")).toContain("lower layer");
    expect(violation("src/report/x.ts", "src/gate/verdict.ts")).toContain("lower layer");
    expect(violation("src/sim/workloads.ts", "workloads/index.ts")).toContain("WorkloadCatalog");
    expect(violation("workloads/idle.ts", "src/sim/driver.ts")).toContain("spec types");
    expect(violation("src/cli/workloads.ts", "workloads/index.ts")).toBeNull();
    expect(violation("src/gate/tier1-exact.ts", "src/experiments/index.ts")).toBeNull();
    expect(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]))).toEqual([["a", "b", "c"]]);
  });

  test("every import in src/ and workloads/ keeps to the layers", () => {
    expect(imports.size).toBeGreaterThan(100);
    const bad: string[] = [];
    for (const [from, xs] of imports) for (const { to } of xs) {
      const why = violation(from, to);
      if (why) bad.push(`${from} -> ${to}: ${why}`);
    }
    expect(bad).toEqual([]);
  });

  test("no cycle between folders (type imports included)", () => {
    expect(cycles(folderGraph)).toEqual([]);
  });

  test("no cycle of value imports between files", () => {
    expect(cycles(valueGraph)).toEqual([]);
  });
});
