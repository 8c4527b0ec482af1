/**
 * The two public entry points: src/index.ts (the core) must load without chart.js or the native
 * canvas (@napi-rs/canvas), so code and tests that only simulate stay light; src/report/index.ts
 * loads them. Each import runs in a fresh `bun` process, whose module registry (require.cache,
 * which in Bun holds ES modules too) is printed and inspected.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const RENDERING = /[\\/]node_modules[\\/](chart\.js|@napi-rs[\\/]canvas)[\\/]/;

function modulesLoadedBy(entry: string): string[] {
  const script = `await import(${JSON.stringify(join(ROOT, entry))}); console.log(JSON.stringify(Object.keys(require.cache)));`;
  const p = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`bun -e import ${entry} failed: ${p.stderr.toString()}`);
  return JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!) as string[];
}

describe("entry points", () => {
  test("src/index.ts loads the core without chart.js, the canvas or src/report", () => {
    const mods = modulesLoadedBy("src/index.ts");
    expect(mods.some((m) => m.endsWith(join("src", "hypervisor", "index.ts")))).toBe(true);
    expect(mods.some((m) => m.endsWith(join("src", "experiments", "index.ts")))).toBe(true);
    expect(mods.filter((m) => RENDERING.test(m))).toEqual([]);
    expect(mods.filter((m) => m.includes(join("src", "report")))).toEqual([]);
  });

  test("src/report/index.ts loads chart.js and the canvas (the check above can see them)", () => {
    const mods = modulesLoadedBy("src/report/index.ts");
    expect(mods.some((m) => /[\\/]node_modules[\\/]chart\.js[\\/]/.test(m))).toBe(true);
    expect(mods.some((m) => /[\\/]node_modules[\\/]@napi-rs[\\/]canvas[\\/]/.test(m))).toBe(true);
  });
});
