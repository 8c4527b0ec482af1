import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ORACLE_COLUMNS, SERIES_COLUMNS } from "../sim/series.ts";
import { ResultsSchemaError, validateResults } from "./results-validate.ts";

const FIXTURE = new URL("./fixtures/results-small.json", import.meta.url).pathname;
const fresh = () => JSON.parse(readFileSync(FIXTURE, "utf8"));

/** The ResultsSchemaError validateResults throws for `doc`. */
function rejection(doc: unknown): ResultsSchemaError {
  try {
    validateResults(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(ResultsSchemaError);
    return e as ResultsSchemaError;
  }
  throw new Error("validateResults accepted a broken document");
}

describe("validateResults", () => {
  test("accepts the fixture and returns it unchanged", () => {
    const doc = fresh();
    expect(validateResults(doc)).toBe(doc);
    expect(JSON.stringify(doc)).toBe(JSON.stringify(fresh()));
  });

  const broken: [string, (d: any) => void, string, RegExp][] = [
    ["wrong schema version", (d) => (d.schema = "vmdedup-results/0"), "results.schema", /must be one of "vmdedup-results\/1"/],
    ["missing machine field", (d) => delete d.machine.cores, "results.machine.cores", /is missing/],
    ["unknown top-level field", (d) => (d.extra = 1), "results.extra", /unknown field/],
    ["negative core count", (d) => (d.machine.cores = -2), "results.machine.cores", /from 1 to/],
    ["date not a date", (d) => (d.date = "yesterday"), "results.date", /ISO 8601/],
    ["series shorter than tSec", (d) => d.macro.runs[1].series.savingsPct.pop(), "results.macro.runs[1].series.savingsPct", /must have \d+ items \(like tSec\)/],
    ["time going backwards", (d) => (d.macro.runs[0].series.tSec[2] = 0), "results.macro.runs[0].series.tSec[2]", /greater than the previous/],
    ["savings over 100%", (d) => (d.macro.runs[2].summary.savingsPct = 140), "results.macro.runs[2].summary.savingsPct", /from 0 to 100/],
    ["NaN in measured", (d) => (d.macro.runs[3].measured.wallSec = null), "results.macro.runs[3].measured.wallSec", /finite number/],
    ["id not matching the run", (d) => (d.macro.runs[4].id = "x"), "results.macro.runs[4].id", /must be "kernel-build\/none\/w0"/],
    ["duplicate run", (d) => d.macro.runs.push(structuredClone(d.macro.runs[0])), "results.macro.runs[11].id", /duplicate run id/],
    ["unknown group", (d) => (d.macro.runs[0].group = "other"), "results.macro.runs[0].group", /must be one of/],
    ["histogram counts not matching bounds", (d) => d.macro.runs[1].summary.timeToMerge.counts.push(1), "results.macro.runs[1].summary.timeToMerge.counts", /like bucketUpperMs/],
    ["ratio naming no benchmark", (d) => (d.micro.ratios[0].reference = "nothing"), "results.micro.ratios[0].reference", /names no benchmark/],
    ["calibration constant without source", (d) => delete d.calibration.constants.hashPage.source, "results.calibration.constants.hashPage.source", /is missing/],
  ];
  for (const [what, breakIt, field, message] of broken) {
    test(`rejects ${what}, naming ${field}`, () => {
      const doc = fresh();
      breakIt(doc);
      const e = rejection(doc);
      expect(e.field).toBe(field);
      expect(e.message).toStartWith(`${field}: `);
      expect(e.message).toMatch(message);
    });
  }

  test("lets fields the simulation driver adds later through its own parts (summary, measured)", () => {
    const doc = fresh();
    doc.macro.runs[0].summary.somethingNew = 1;
    doc.macro.runs[0].measured.another = [1];
    expect(() => validateResults(doc)).not.toThrow();
  });

  test("series and oracle columns are exactly those declared in src/sim/series.ts: an extra or a missing one is rejected by name", () => {
    const extra = fresh();
    extra.macro.runs[0].series.another = extra.macro.runs[0].series.tSec.map(() => 1);
    expect(rejection(extra).field).toBe("results.macro.runs[0].series.another");
    expect(rejection(extra).message).toMatch(/unknown column/);
    for (const c of SERIES_COLUMNS) {
      const missing = fresh();
      delete missing.macro.runs[2].series[c.name];
      expect(rejection(missing).field).toBe(`results.macro.runs[2].series.${c.name}`);
    }
    for (const c of ORACLE_COLUMNS) {
      const missing = fresh();
      delete missing.macro.runs[1].oracle[c.name];
      expect(rejection(missing).field).toBe(`results.macro.runs[1].oracle.${c.name}`);
    }
    const nulls = fresh();
    nulls.macro.runs[0].oracle.efficiency[0] = null; // a nullable column
    expect(() => validateResults(nulls)).not.toThrow();
    nulls.macro.runs[0].oracle.savablePct[0] = null; // not nullable
    expect(rejection(nulls).field).toBe("results.macro.runs[0].oracle.savablePct[0]");
  });

  test("rejects what is not an object at all", () => {
    expect(rejection(null).field).toBe("results");
    expect(rejection([]).field).toBe("results");
  });
});
