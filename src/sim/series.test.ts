import { describe, expect, test } from "bun:test";
import { appendRow, checkColumns, emptyTable, ORACLE_COLUMNS, SERIES_COLUMNS, type ColumnDecl } from "./series.ts";

class Rejected extends Error {
  constructor(readonly path: string, msg: string) {
    super(`${path}: ${msg}`);
  }
}
const fail = (path: string, msg: string): never => {
  throw new Rejected(path, msg);
};
/** The path checkColumns rejects, or null when it accepts. */
function rejected(decl: readonly ColumnDecl[], v: unknown): string | null {
  try {
    checkColumns(decl, v, "series", fail);
    return null;
  } catch (e) {
    return (e as Rejected).path;
  }
}

describe("series columns, declared once", () => {
  test("every column has a unique name, a unit and a one-line doc; tSec first", () => {
    for (const cols of [SERIES_COLUMNS, ORACLE_COLUMNS] as readonly (readonly ColumnDecl[])[]) {
      expect(cols[0]!.name).toBe("tSec");
      expect(new Set(cols.map((c) => c.name)).size).toBe(cols.length);
      for (const c of cols) {
        expect(c.unit.length).toBeGreaterThan(0);
        expect(c.doc.length).toBeGreaterThan(20);
        expect(c.doc).not.toContain("\n");
      }
    }
  });

  test("the empty table and its rows follow the declaration, in its order", () => {
    const t = emptyTable(ORACLE_COLUMNS);
    expect(JSON.stringify(t)).toBe('{"tSec":[],"savablePct":[],"savableExclZeroPct":[],"efficiency":[],"efficiencyExclZero":[]}');
    appendRow(ORACLE_COLUMNS, t, { efficiencyExclZero: null, efficiency: 0.5, savableExclZeroPct: 2, savablePct: 3, tSec: 1 });
    expect(t).toEqual({ tSec: [1], savablePct: [3], savableExclZeroPct: [2], efficiency: [0.5], efficiencyExclZero: [null] });
    expect(rejected(ORACLE_COLUMNS, t)).toBeNull();
  });

  test("the validator rejects a missing or an extra column, a short one, a bad value and time going backwards, by name", () => {
    const good = () => {
      const t = emptyTable(SERIES_COLUMNS) as Record<string, number[]>;
      for (const c of SERIES_COLUMNS) t[c.name]!.push(1, 2);
      return t;
    };
    expect(rejected(SERIES_COLUMNS, good())).toBeNull();
    for (const c of SERIES_COLUMNS) {
      const t = good();
      delete t[c.name];
      expect(rejected(SERIES_COLUMNS, t)).toBe(`series.${c.name}`);
    }
    expect(rejected(SERIES_COLUMNS, { ...good(), savingsPctTypo: [1, 2] })).toBe("series.savingsPctTypo");
    expect(rejected(SERIES_COLUMNS, { ...good(), framesUsed: [1] })).toBe("series.framesUsed");
    expect(rejected(SERIES_COLUMNS, { ...good(), cowBreaks: [1, null] })).toBe("series.cowBreaks[1]"); // not nullable
    expect(rejected(SERIES_COLUMNS, { ...good(), tSec: [2, 1] })).toBe("series.tSec[1]");
    expect(rejected(SERIES_COLUMNS, { ...good(), tSec: [-1, 1] })).toBe("series.tSec[0]");
    expect(rejected(SERIES_COLUMNS, [1])).toBe("series");
    const o = emptyTable(ORACLE_COLUMNS) as Record<string, (number | null)[]>;
    for (const c of ORACLE_COLUMNS as readonly ColumnDecl[]) o[c.name]!.push(c.nullable ? null : 1);
    expect(rejected(ORACLE_COLUMNS, o)).toBeNull(); // null only where declared nullable
  });
});
