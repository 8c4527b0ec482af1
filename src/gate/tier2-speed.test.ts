import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareTrees, HARNESS_PATH, installHarness, runSpeedTier, type PathResult } from "./tier2-speed.ts";
import { addWorktree, git, repoRoot, resolveBase, type Worktree } from "./worktree.ts";

const REPO = repoRoot(import.meta.dir);
const HEAD = REPO ? git(REPO, "rev-parse", "HEAD") : null;
const hasHead = !!HEAD?.ok;
const trees: Worktree[] = [];
const temps: string[] = [];
afterAll(() => {
  for (const t of trees) t.remove();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A temporary worktree of HEAD whose page hash hashes every page twice (double work). */
function doubleHashTree(): Worktree {
  const wt = addWorktree(REPO!, HEAD!.out, "double-hash");
  trees.push(wt);
  const file = join(wt.dir, "src/dedup/fingerprint.ts");
  const src = readFileSync(file, "utf8");
  const once = "this.fingerprint(this.memory.view(frame))";
  const patched = src.replace(once, `(this.fingerprint(this.memory.view(frame)), ${once})`);
  if (patched === src) throw new Error(`src/dedup/fingerprint.ts no longer contains "${once}": update this test's patch`);
  writeFileSync(file, patched);
  return wt;
}

describe.skipIf(!hasHead)("gate tier 2 (relative speed)", () => {
  test("a worktree whose hash loop does double work fails against HEAD; HEAD against itself does not", async () => {
    const base = addWorktree(REPO!, HEAD!.out, "head");
    trees.push(base);
    const slow = doubleHashTree();
    const v = await compareTrees({ baseDir: base.dir, headDir: slow.dir, rounds: 8, labels: { base: "HEAD", head: "HEAD + double hash" } });
    if (v.status !== "fail" || v.couldNotRun) throw new Error(`expected a regression, got ${v.status}: ${v.summary}\n${v.report.join("\n")}`);
    expect(v.status).toBe("fail");
    expect(v.couldNotRun).toBeUndefined();
    const paths = (v.details as { paths: PathResult[] }).paths;
    const hash = paths.find((p) => p.path === "hash")!;
    expect(hash.regressed).toBe(true);
    expect(hash.lo).toBeGreaterThan(1.1);
    expect(hash.median).toBeGreaterThan(1.4); // ~2x: the second hash of a page is as costly as the first
    expect(v.summary).toContain("hash");
    expect(v.report.join("\n")).toContain("SLOWER");
    // control: the same code on both sides must not be called slower (noise alone cannot fail the tier)
    const same = await compareTrees({ baseDir: base.dir, headDir: base.dir, rounds: 6 });
    if (same.status !== "pass") throw new Error(`control: expected pass, got ${same.status}: ${same.summary}\n${same.report.join("\n")}`);
    expect(same.status).toBe("pass");
    for (const p of (same.details as { paths: PathResult[] }).paths) expect(p.regressed).toBe(false);
  }, 120_000);

  test("a base whose harness cannot run (missing API) is skipped, a head that cannot run is 'could not run'", async () => {
    const empty = mkdtempSync(join(tmpdir(), "gate-t2-empty-"));
    temps.push(empty);
    const skipped = await compareTrees({ baseDir: empty, headDir: REPO!, rounds: 3 });
    expect(skipped.status).toBe("skipped");
    expect(skipped.summary).toContain("cannot import src/hypervisor or src/dedup");
    expect(readFileSync(join(empty, HARNESS_PATH), "utf8")).toBe(readFileSync(join(import.meta.dir, "hot-paths.ts"), "utf8"));
    const broken = await compareTrees({ baseDir: REPO!, headDir: empty, rounds: 3 });
    expect(broken.status).toBe("fail");
    expect(broken.couldNotRun).toBe(true);
  }, 60_000);

  test("installHarness leaves this tree's own harness alone", () => {
    const own = join(REPO!, HARNESS_PATH);
    const before = readFileSync(own, "utf8");
    expect(installHarness(REPO!)).toBe(own);
    expect(readFileSync(own, "utf8")).toBe(before);
  });
});

describe("gate tier 2: nothing to compare against is a skip", () => {
  test("not a git checkout, an unknown revision, a single-commit repository", () => {
    const dir = mkdtempSync(join(tmpdir(), "gate-t2-git-"));
    temps.push(dir);
    expect(resolveBase(dir, "HEAD~1")).toEqual({ skip: `not a git checkout (${dir})`, noHistory: true });
    const id = ["-c", "user.name=gate", "-c", "user.email=gate@example.invalid", "-c", "commit.gpgsign=false"];
    expect(git(dir, "init", "-q").ok).toBe(true);
    writeFileSync(join(dir, "a.txt"), "a");
    expect(git(dir, "add", "a.txt").ok).toBe(true);
    expect(git(dir, ...id, "commit", "-q", "-m", "one").ok).toBe(true);
    expect(resolveBase(dir, "HEAD~1")).toEqual({ skip: "base HEAD~1 not found: the repository has a single commit", noHistory: true });
    const head = resolveBase(dir, "HEAD");
    expect("commit" in head && /^[0-9a-f]{40}$/.test(head.commit)).toBe(true);
    expect(git(dir, ...id, "commit", "-q", "--allow-empty", "-m", "two").ok).toBe(true);
    expect("commit" in resolveBase(dir, "HEAD~1")).toBe(true);
    // a revision missing from a full history is not "no history": an explicit --base typo is an error
    expect(resolveBase(dir, "no-such-branch")).toMatchObject({ noHistory: false });
  });
});

describe.skipIf(!hasHead)("gate tier 2: the base revision", () => {
  test("an unknown default base is a skip; an unknown explicit --base is 'could not run'", async () => {
    const skipped = await runSpeedTier({ repo: REPO!, base: "no-such-rev-for-the-gate" });
    expect(skipped.status).toBe("skipped");
    const error = await runSpeedTier({ repo: REPO!, base: "no-such-rev-for-the-gate", explicitBase: true });
    expect(error).toMatchObject({ status: "fail", couldNotRun: true });
    expect(error.summary).toStartWith("base no-such-rev-for-the-gate not found");
  });
});
