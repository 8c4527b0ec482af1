/**
 * `vmdedup validate-kernel --quick --json` against this host's KSM, where that can run: root,
 * /sys/kernel/mm/ksm present and idle (run 0, nothing shared). Elsewhere it says why it skipped.
 * Also (everywhere): bad flags exit 2, --help names the command.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const KSM = "/sys/kernel/mm/ksm";
const read = (k: string) => readFileSync(join(KSM, k), "utf8").trim();
const KNOBS = ["run", "pages_to_scan", "sleep_millisecs", "max_page_sharing", "smart_scan", "use_zero_pages", "stable_node_chains_prune_millisecs", "merge_across_nodes"];

function skipReason(): string | null {
  if (process.platform !== "linux") return `not Linux`;
  if (process.getuid?.() !== 0) return `not root`;
  if (!existsSync(join(KSM, "run"))) return `no ${KSM}`;
  if (read("run") !== "0") return `KSM in use (run ${read("run")})`;
  if (read("pages_shared") !== "0" || read("pages_sharing") !== "0") return `KSM in use (pages shared)`;
  return null;
}
const reason = skipReason();
if (reason) console.log(`validate-kernel --quick against the host kernel: skipped (${reason})`);

const cli = (args: string[]) => Bun.spawnSync([process.execPath, join(import.meta.dir, "main.ts"), ...args], { stdout: "pipe", stderr: "pipe" });

describe("validate-kernel", () => {
  test.skipIf(reason !== null)("--quick --json against this kernel: every pass MATCH, exit 0, knobs as before", () => {
    const before = Object.fromEntries(KNOBS.map((k) => [k, read(k)]));
    const t0 = performance.now();
    const r = cli(["validate-kernel", "--quick", "--json"]);
    const secs = (performance.now() - t0) / 1000;
    const out = r.stdout.toString();
    expect(r.stderr.toString()).toBe("");
    const doc = JSON.parse(out);
    expect(doc.kernel).toBe(require("node:os").release());
    expect(doc.mixes.map((m: { name: string }) => m.name)).toEqual(["static-identical", "chains-4-churn"]);
    expect(doc.mixes[1].passes.some((p: { kernel: { stable_node_chains: number } }) => p.kernel.stable_node_chains > 0)).toBe(true);
    expect(doc.match).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(secs).toBeLessThan(30);
    expect(Object.fromEntries(KNOBS.map((k) => [k, read(k)]))).toEqual(before);
  }, 60_000); // its own bound is the 30 s above; the test timeout only keeps a stuck ksmd from hanging the suite

  test("a bad flag exits 2 with a message, no stack trace", () => {
    const r = cli(["validate-kernel", "--fast"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("validate-kernel");
    expect(r.stderr.toString()).not.toContain("    at ");
  });

  test("--help lists validate-kernel", () => {
    const r = cli(["--help"]);
    expect(r.stdout.toString()).toContain("validate-kernel [--quick] [--json]");
  });
});
