/**
 * The two engines that run shards (README "Every core and every machine"), checked without
 * running them: the GitHub Actions workflow and the Kubernetes Indexed Job parse as YAML
 * (Bun.YAML), and every `--shard` argument they pass, for every matrix value / completion index,
 * is one the CLI's own parser accepts, covering shards 1..N exactly once.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseShardFlag } from "./parallel-flags.ts";

const ROOT = resolve(import.meta.dir, "../..");
type Obj = Record<string, any>;
const yaml = (path: string): Obj => Bun.YAML.parse(readFileSync(join(ROOT, path), "utf8")) as Obj;
/** The scripts each shard runs, in order. */
const SCRIPTS = ["gate", "benchmarks", "figures"];

describe("CI manifests", () => {
  test("GitHub Actions: a matrix over shards 1..N, each passing --shard <i>/N to gate, benchmarks and figures; a merge job over the artifacts", () => {
    const wf = yaml(".github/workflows/benchmarks.yml");
    const shards: number[] = wf.jobs.shard.strategy.matrix.shard;
    const n = shards.length;
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const runs: string[] = wf.jobs.shard.steps.map((s: Obj) => s.run).filter(Boolean);
    const sharded = runs.filter((r) => r.includes("--shard"));
    expect(sharded.map((r) => /npm run (\w+)/.exec(r)?.[1])).toEqual(SCRIPTS);
    const seen = new Set<string>();
    for (const r of sharded) {
      for (const i of shards) {
        // the runner substitutes the matrix value, then the shell splits the words
        const arg = /--shard (\S+)/.exec(r.replaceAll("${{ matrix.shard }}", String(i)))![1]!;
        const s = parseShardFlag(arg);
        expect(s).toEqual({ index: i, count: n });
        seen.add(`${s!.index}/${s!.count}`);
      }
    }
    expect(seen.size).toBe(n);
    const upload = wf.jobs.shard.steps.find((s: Obj) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(upload.with.name).toBe("shard-${{ matrix.shard }}");
    expect(wf.jobs.merge.needs).toBe("shard");
    const download = wf.jobs.merge.steps.find((s: Obj) => s.uses?.startsWith("actions/download-artifact@"));
    expect(download.with.pattern).toBe("shard-*");
    const merge = wf.jobs.merge.steps.map((s: Obj) => s.run ?? "").join("\n");
    expect(merge).toContain(`npm run merge-results -- ${download.with.path}/shard-*/benchmarks/latest.json`);
    expect(merge).toContain(`npm run merge-results -- ${download.with.path}/shard-*/figures/figure-data.json`);
    expect(merge).toContain("npm run figures -- --data");
  });

  test("Kubernetes: an Indexed Job of N completions; index k passes --shard $((JOB_COMPLETION_INDEX + 1))/N, shard k+1", () => {
    const job = yaml("scripts/k8s/benchmarks-job.yaml");
    expect([job.apiVersion, job.kind, job.spec.completionMode]).toEqual(["batch/v1", "Job", "Indexed"]);
    const n: number = job.spec.completions;
    expect(job.spec.parallelism).toBe(n);
    const script: string = job.spec.template.spec.containers[0].args.join("\n");
    const args = [...script.matchAll(/scripts\/(\w+)\.ts (?:[^;]*?)--shard (\$\(\([^)]*\)\)\/\d+|\S+)/g)].map((m) => ({ script: m[1]!, arg: m[2]! }));
    expect(args.map((a) => a.script)).toEqual(SCRIPTS);
    for (const { arg } of args) {
      const m = /^\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)\/(\d+)$/.exec(arg);
      expect(m).not.toBeNull();
      const shards = Array.from({ length: n }, (_, k) => parseShardFlag(`${k + 1}/${m![1]}`));
      expect(shards).toEqual(Array.from({ length: n }, (_, k) => ({ index: k + 1, count: n })));
    }
    // the shell's arithmetic, for every index the Job hands out
    for (let k = 0; k < n; k++) {
      const r = Bun.spawnSync(["sh", "-c", `echo ${args[0]!.arg}`], { env: { JOB_COMPLETION_INDEX: String(k) } });
      expect(parseShardFlag(r.stdout.toString().trim())).toEqual({ index: k + 1, count: n });
    }
    const volumes = job.spec.template.spec.volumes.map((v: Obj) => v.persistentVolumeClaim?.claimName).filter(Boolean);
    const merge = yaml("scripts/k8s/benchmarks-merge-job.yaml");
    expect(merge.spec.template.spec.volumes.map((v: Obj) => v.persistentVolumeClaim?.claimName).filter(Boolean)).toEqual(volumes);
    const mergeScript: string = merge.spec.template.spec.containers[0].args.join("\n");
    expect(mergeScript).toContain("scripts/merge-results.ts /results/shard-*/benchmarks/latest.json");
    expect(script).toContain('OUT="/results/shard-$((JOB_COMPLETION_INDEX + 1))"');
  });
});
