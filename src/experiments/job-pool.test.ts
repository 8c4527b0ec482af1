import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf } from "./catalog.ts";
import { UnavailableError } from "./errors.ts";
import { JobError, JobPool, rebuildError, withJobPool, type Job } from "./job-pool.ts";
import type { RunRequest } from "./run.ts";

const catalog = catalogOf(CANNED_WORKLOADS);
const req = (workload: string, policy: RunRequest["policy"]): RunRequest => ({ workload: catalog.get(workload), policy, guests: 2, guestMem: 4 * 2 ** 20, durationSec: 4, seed: 7 });
const jobs: Extract<Job, { kind: "run" }>[] = [req("web-server", "ksm"), req("kernel-build", "vmdedup"), req("idle", "esx"), req("database", "none")].map((r) => ({ kind: "run" as const, id: r.workload.name, req: r }));
const strip = (r: { measured: unknown }) => JSON.stringify({ ...r, measured: null });

describe("job pool (4 runs of 2 guests x 4 MiB, 4 s simulated)", () => {
  test("2 workers give the results of 1 in-thread, byte for byte but for measured; concurrentJobs says who ran beside whom", async () => {
    const alone = await withJobPool(1, (pool) => Promise.all(jobs.map((j) => pool.run(j))));
    const progress: string[] = [];
    const side = await withJobPool(2, (pool) => Promise.all(jobs.map((j) => pool.run(j, (t) => t > 0 && progress.push(j.id)))));
    expect(side.map((r) => r.workload.name)).toEqual(jobs.map((j) => j.id));
    expect(side.map(strip)).toEqual(alone.map(strip));
    expect(alone.map((r) => r.measured.concurrentJobs)).toEqual([1, 1, 1, 1]);
    expect(side.map((r) => r.measured.concurrentJobs)).toEqual([2, 2, 2, 2]);
    expect(new Set(progress)).toEqual(new Set(jobs.map((j) => j.id))); // progress crosses from every worker
  }, 20_000);

  test("a failing job rejects with an error naming it; the others finish; an UnavailableError stays one", async () => {
    const pool = new JobPool({ jobs: 2 });
    try {
      const bad: Job = { kind: "run", id: "web-server/ksm/w0 (0 guests)", req: { ...req("web-server", "ksm"), guests: 0 } };
      const results = await Promise.allSettled([pool.run(bad), pool.run(jobs[0]!)]);
      expect(results[0]!.status).toBe("rejected");
      const e = (results[0] as PromiseRejectedResult).reason;
      expect(e).toBeInstanceOf(JobError);
      expect(e.message).toStartWith("web-server/ksm/w0 (0 guests): WorkloadSpecError:");
      expect(e.job).toBe("web-server/ksm/w0 (0 guests)");
      expect(results[1]!.status).toBe("fulfilled");
      const unknown = { ...req("idle", "ksm"), calibrationPath: "/no/such/calibration.json" };
      const err = await pool.run({ kind: "run", id: "idle/ksm/w0", req: unknown }).catch((x) => x);
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain("idle/ksm/w0");
    } finally {
      await pool.close();
    }
    // in-thread too
    const inThread = await new JobPool({ jobs: 1 }).run({ kind: "run", id: "x/ksm/w0", req: { ...req("idle", "ksm"), guests: 0 } }).catch((x) => x);
    expect(inThread).toBeInstanceOf(JobError);
    expect(inThread.message).toStartWith("x/ksm/w0: WorkloadSpecError:");
    // what a worker posts for an UnavailableError is rebuilt as one (suites record the run as skipped)
    const rebuilt = rebuildError(jobs[0]!, { type: "error", seq: 0, name: "UnavailableError", message: "no QEMU", run: "a/b/w0", reason: "no QEMU here" });
    expect(rebuilt).toBeInstanceOf(UnavailableError);
    expect([(rebuilt as UnavailableError).run, (rebuilt as UnavailableError).reason]).toEqual(["a/b/w0", "no QEMU here"]);
  }, 20_000);

  test("close() terminates the workers and rejects what is still queued; a closed pool takes no job", async () => {
    const pool = new JobPool({ jobs: 1 + 1 });
    const queued = jobs.map((j) => pool.run(j).then(() => "done", (e: Error) => e.message));
    await pool.close();
    for (const r of await Promise.all(queued)) expect(r).toMatch(/closed (before|while) the job ran$/);
    await expect(pool.run(jobs[0]!)).rejects.toThrow("the job pool is closed");
    expect(() => new JobPool({ jobs: 0 })).toThrow("jobs must be an integer from 1 to 1024, got 0");
  });
});
