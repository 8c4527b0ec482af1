/**
 * Git helpers of gate tier 2: resolve the base revision and check it out into a temporary
 * `git worktree` (detached, so no branch is touched) that reuses the checkout's node_modules
 * through a symlink. Every failure that means "there is nothing to compare against" (not a git
 * checkout, a shallow or single-commit clone, an unknown revision) is returned as a reason to
 * skip, never thrown.
 */
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface GitResult {
  ok: boolean;
  out: string;
  err: string;
}

export function git(cwd: string, ...args: string[]): GitResult {
  try {
    const p = Bun.spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
    return { ok: p.exitCode === 0, out: p.stdout.toString().trim(), err: p.stderr.toString().trim() };
  } catch (e) {
    return { ok: false, out: "", err: (e as Error).message }; // no git binary
  }
}

export interface Worktree {
  dir: string;
  commit: string;
  remove(): void;
}

/** The top level of the git checkout containing `dir`, or null. */
export function repoRoot(dir: string): string | null {
  const r = git(dir, "rev-parse", "--show-toplevel");
  return r.ok && r.out ? r.out : null;
}

/**
 * Resolves `rev` in the repository at `repo` to a full commit id, or gives the reason it cannot;
 * `noHistory`: there is no history to compare with at all (no git, shallow or single-commit clone),
 * as opposed to a revision that does not exist in a full history (a typo in --base).
 */
export function resolveBase(repo: string, rev: string): { commit: string } | { skip: string; noHistory: boolean } {
  if (!repoRoot(repo)) return { skip: `not a git checkout (${repo})`, noHistory: true };
  const r = git(repo, "rev-parse", "--verify", "--quiet", `${rev}^{commit}`);
  if (r.ok && /^[0-9a-f]{40,64}$/.test(r.out)) return { commit: r.out };
  const shallow = git(repo, "rev-parse", "--is-shallow-repository").out === "true";
  const count = git(repo, "rev-list", "--count", "HEAD").out;
  if (shallow) return { skip: `base ${rev} not found: the clone is shallow (fetch full history to compare)`, noHistory: true };
  if (count === "1" || count === "0" || count === "") return { skip: `base ${rev} not found: the repository has a single commit`, noHistory: true };
  return { skip: `base ${rev} not found: ${r.err || "unknown revision"}`, noHistory: false };
}

/** Checks `commit` out into a new temporary worktree with node_modules linked from `repo`. */
export function addWorktree(repo: string, commit: string, label = "base"): Worktree {
  const parent = mkdtempSync(join(tmpdir(), `vmdedup-gate-${label}-`));
  const dir = join(parent, "tree");
  const r = git(repo, "worktree", "add", "--detach", "--force", dir, commit);
  if (!r.ok) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`git worktree add ${commit} failed: ${r.err}`);
  }
  const modules = join(repo, "node_modules");
  if (existsSync(modules) && !existsSync(join(dir, "node_modules"))) symlinkSync(modules, join(dir, "node_modules"), "dir");
  let removed = false;
  return {
    dir,
    commit,
    remove() {
      if (removed) return;
      removed = true;
      // unlink the node_modules link first, so no recursive removal can ever walk into it
      const link = join(dir, "node_modules");
      if (lstatOrNull(link)?.isSymbolicLink()) unlinkSync(link);
      git(repo, "worktree", "remove", "--force", dir);
      rmSync(parent, { recursive: true, force: true });
      git(repo, "worktree", "prune");
    },
  };
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}
