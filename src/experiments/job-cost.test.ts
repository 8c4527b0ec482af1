/**
 * The job pool's dispatch order (job-pool.ts nextJobIndex, job-cost.ts estimateJobCost): what a
 * free worker takes next, and that the estimate ranks runs as their work does. Then end to end:
 * a pool of 2 handing the jobs out in cost order (not submission order) still gives each caller
 * its own result, byte-identical to one-at-a-time but for `measured`, and the security matrix
 * run through a pool equals the matrix run row by row in this thread.
 */
import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { runSecurityMatrix } from "./attack/index.ts";
import { catalogOf } from "./catalog.ts";
import { estimateJobCost } from "./job-cost.ts";
import { JobPool, nextJobIndex, withJobPool, type Job } from "./job-pool.ts";
import type { RunRequest } from "./run.ts";

const catalog = catalogOf(CANNED_WORKLOADS);
const MiB = 2 ** 20;
type RunArgs = Partial<Omit<RunRequest, "workload">> & { workload: string; policy: RunRequest["policy"] };
const run = (r: RunArgs): Extract<Job, { kind: "run" }> => ({
  kind: "run", id: `${r.workload}/${r.policy}`, req: { guests: 4, guestMem: 128 * MiB, durationSec: 60, seed: 1, ...r, workload: catalog.get(r.workload) },
});

describe("dispatch order", () => {
  test("highest priority first, then the largest cost, then the first queued", () => {
    const q = (xs: [number, number][]) => xs.map(([priority, cost], seq) => ({ seq, priority, cost }));
    expect(nextJobIndex([])).toBe(-1);
    expect(nextJobIndex(q([[0, 1], [0, 5], [0, 3]]))).toBe(1);
    expect(nextJobIndex(q([[0, 9], [1, 1], [0, 3]]))).toBe(1);
    expect(nextJobIndex(q([[0, 5], [0, 5], [0, 4]]))).toBe(0);
    expect(nextJobIndex(q([[1, 2], [1, 2], [1, 7], [0, 99]]))).toBe(2);
  });

  test("the estimate grows with guests, duration, scan rate and guest writes; a policy that scans costs more than none", () => {
    const c = (r: RunArgs) => estimateJobCost(run(r));
    expect(c({ workload: "kernel-build", policy: "vmdedup", guests: 8 })).toBeGreaterThan(c({ workload: "kernel-build", policy: "vmdedup", guests: 4 }));
    expect(c({ workload: "kernel-build", policy: "vmdedup", durationSec: 90 })).toBeGreaterThan(c({ workload: "kernel-build", policy: "vmdedup" }));
    expect(c({ workload: "kernel-build", policy: "esx", pagesToScan: 6400 })).toBeGreaterThan(c({ workload: "kernel-build", policy: "esx", pagesToScan: 25 }));
    expect(c({ workload: "kernel-build", policy: "ksm" })).toBeGreaterThan(c({ workload: "kernel-build", policy: "none" }));
    // idle writes almost nothing, kernel-build a lot; cow-storm's storm rewrites whole regions
    expect(c({ workload: "kernel-build", policy: "none" })).toBeGreaterThan(c({ workload: "idle", policy: "none" }));
    expect(c({ workload: "cow-storm", policy: "none" })).toBeGreaterThan(c({ workload: "web-server", policy: "none" }));
    // the same request, the same estimate (a function of the request alone)
    expect(c({ workload: "mixed", policy: "ksm" })).toBe(c({ workload: "mixed", policy: "ksm" }));
    const attack = (guests: number): Job => ({ kind: "attack", id: "a", req: { workload: catalog.get("web-server"), policy: "ksm", guests, guestMem: 32 * MiB, trials: 200 } });
    expect(estimateJobCost(attack(4))).toBeGreaterThan(estimateJobCost(attack(2)));
    expect(estimateJobCost(attack(4))).toBeGreaterThan(0);
    const merge: Job = { kind: "merge-cost", id: "m", args: { workload: catalog.get("web-server"), mode: "hvm", policy: "ksm", guests: 16, guestMemBytes: 32 * MiB, seed: 1 } };
    expect(estimateJobCost(merge)).toBeGreaterThan(0);
    // a request that does not resolve costs 0 (it runs, and fails, where it would anyway)
    expect(c({ workload: "idle", policy: "ksm", guests: 0 })).toBe(0);
  });

  test("a pool of 2 hands out the largest first; results still go to their callers, equal to one at a time but for measured", async () => {
    const small = (workload: string, guests: number, policy: RunRequest["policy"]) => run({ workload, policy, guests, guestMem: 4 * MiB, durationSec: 4, seed: 5 });
    // submitted smallest first: a FIFO pool would start them in this order, this one largest first
    const jobs = [small("idle", 1, "none"), small("web-server", 2, "ksm"), small("kernel-build", 4, "vmdedup"), small("cow-storm", 6, "esx")];
    const costs = jobs.map(estimateJobCost);
    for (let i = 1; i < costs.length; i++) expect(costs[i]!).toBeGreaterThan(costs[i - 1]!);
    const strip = (r: { measured: unknown }) => JSON.stringify({ ...r, measured: null });
    const alone = await withJobPool(1, (pool) => Promise.all(jobs.map((j) => pool.run(j))));
    const started: string[] = [];
    const side = await withJobPool(2, (pool) => Promise.all(jobs.map((j) => pool.run(j, { onStart: () => started.push(j.id) }))));
    expect(side.map(strip)).toEqual(alone.map(strip));
    expect(side.map((r) => r.workload.name)).toEqual(["idle", "web-server", "kernel-build", "cow-storm"]);
    // the two largest are handed out first, one to each worker; the smallest goes last
    expect(started.slice(0, 2)).toEqual([jobs[3]!.id, jobs[2]!.id]);
    expect(started.slice(2).sort()).toEqual([jobs[0]!.id, jobs[1]!.id].sort());
    expect(started[3]).toBe(jobs[0]!.id);
  }, 30_000);
});

describe("the security matrix through a job pool", () => {
  test("a pool of 2 gives the rows of the matrix run in this thread, in the same order", async () => {
    const plan = {
      workloads: ["web-server"], catalog, policies: ["vmdedup", "ksm"] as ("vmdedup" | "ksm")[], mitigations: ["off", "salted", "zero-only"] as const,
      trials: 64, seed: 2, guests: 2, guestMemBytes: 4 * MiB, durationSec: 20,
    };
    const here = await runSecurityMatrix(plan);
    const pool = new JobPool({ jobs: 2 });
    try {
      const pooled = await runSecurityMatrix(plan, undefined, pool);
      expect(pooled).toEqual(here);
      expect(here.rows.map((r) => `${r.policy}/${r.mitigation}`)).toEqual(["vmdedup/off", "vmdedup/salted", "vmdedup/zero-only", "ksm/off", "ksm/salted", "ksm/zero-only"]);
      expect(here.rows[0]!.accuracy).toBeGreaterThan(0.9); // off leaks: the rows hold real measurements
    } finally {
      await pool.close();
    }
  }, 60_000);
});
