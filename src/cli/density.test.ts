import { describe, expect, test } from "bun:test";
import cowStorm from "../../workloads/cow-storm.ts";
import webServer from "../../workloads/web-server.ts";
import { JobPool, RunCache, runDensity, type RunFn } from "../experiments/index.ts";
import { main } from "./main.ts";
import { quiet } from "./quiet.test-util.ts";


const MiB = 2 ** 20;

describe("host flags", () => {
  test("bad host flags exit 2 with the numbers", async () => {
    const cases: [string[], RegExp][] = [
      [["--host-mem", "0"], /at least 64 KiB/],
      [["--host-mem", "100GiB"], /at most 16777216 frames/],
      [["--host-mem", "8MiB", "--swap-device", "floppy"], /nvme, ssd, hdd/],
      [["--host-mem", "8MiB", "--balloon-rate", "-1"], /balloon-rate/],
      [["--host-mem", "8MiB", "--compression-cache", "150%"], /compression-cache/],
      [["--host-mem", "8MiB", "--swap-victims", "lru"], /random or access/],
      [["--min-free", "1MiB"], /needs a host size/],
      [["--host-mem", "8MiB", "--min-free", "9MiB"], /must be below host memory/],
    ];
    for (const [flags, msg] of cases) {
      const r = await quiet(() => main(["run", "--workload", "idle", "--guests", "2", "--guest-mem", "4MiB", "--duration", "2s", "--out", "/dev/null", ...flags]));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const d = await quiet(() => main(["density", "--workload", "idle"]));
    expect(d.code).toBe(2);
    expect(d.err).toContain("--host-mem");
  });
});

describe("density", () => {
  const plan = (hostMem: number) => ({
    workload: webServer, hostMem, maxLossPct: 5, policies: ["none", "vmdedup"] as const, maxGuestsCap: 6,
    base: { guestMem: 4 * MiB, durationSec: 14, swapDevice: "hdd", sampleEverySec: 2, oracleEverySec: 14 },
  });
  test("deterministic, and on a grid of host sizes more memory never fits fewer guests", async () => {
    const cache = new RunCache();
    const run: RunFn = (req) => cache.run(req);
    const grid = [2, 10, 14].map((m) => m * MiB); // web-server re-fitted to its trace: ~54% of each guest populated
    const results = [];
    for (const h of grid) results.push(await runDensity({ ...plan(h), policies: [...plan(h).policies] }, run));
    for (const p of ["none", "vmdedup"]) {
      const counts = results.map((r) => r.policies[p]!.maxGuests);
      for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    }
    // the smallest host is too small for 6 guests under none (a floor below vmdedup's)
    expect(results[0]!.policies.none!.maxGuests).toBeLessThan(6);
    expect(results[0]!.policies.vmdedup!.maxGuests).toBeGreaterThanOrEqual(results[0]!.policies.none!.maxGuests);
    const again = await runDensity({ ...plan(grid[0]!), policies: [...plan(grid[0]!).policies] });
    expect(again.policies).toEqual(results[0]!.policies);
  }, 60000);

  test("through the job pool: the same results for --jobs 1 (in this thread) and 2 workers, exhausted hosts included", async () => {
    // a small swap and no compression cache: the larger counts exhaust the host (counted as 100% lost)
    const p = { ...plan(4 * MiB), policies: ["none", "vmdedup"] as ("none" | "vmdedup")[], base: { ...plan(4 * MiB).base, swapSize: MiB, compressionCache: 0 } };
    const out = [];
    for (const jobs of [1, 2]) {
      const pool = new JobPool({ jobs });
      try {
        out.push(await runDensity(p, new RunCache({}, pool)));
      } finally {
        await pool.close();
      }
    }
    expect(out[1]!.policies).toEqual(out[0]!.policies);
    expect(out[1]!.runs).toBe(out[0]!.runs);
    const points = Object.values(out[0]!.policies).flatMap((d) => d.points);
    expect(points.some((x) => x.stoppedEarly !== null && x.overcommitLossPct === 100)).toBe(true);
    expect(out[0]!.policies.none!.maxGuests).toBeLessThanOrEqual(out[0]!.policies.vmdedup!.maxGuests); // none is the floor
  }, 120000);

  test("a command's own flags on another command exit 2 naming the commands that take them, and nothing runs", async () => {
    for (const [cmd, flag, only] of [["run", "--jobs", "density"], ["run", "--max-loss", "density"], ["demo", "--trials", "attack"], ["run", "--rounds", "calibrate"], ["attack", "--no-baseline", "run"]] as const) {
      const value = flag === "--no-baseline" ? [] : ["2"];
      const r = await quiet(() => main([cmd, "--workload", "idle", flag, ...value, "--out", "/nonexistent-dir/x.json"]));
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${flag} is not a flag of ${cmd}: only of ${only}`);
      expect(r.out).toBe("");
    }
  });

  test("--jobs: bad values exit 2", async () => {
    const r = await quiet(() => main(["density", "--workload", "idle", "--host-mem", "4MiB", "--jobs", "0"]));
    expect(r.code).toBe(2);
    expect(r.err).toContain("--jobs");
  });

  test("--json prints maxGuests, overcommitLossPct and steadySavingsPct per policy", async () => {
    const r = await quiet(() => main(["density", "--workload", "idle", "--guest-mem", "2MiB", "--host-mem", "4MiB", "--max-loss", "5%", "--policies", "vmdedup",
      "--max-guests", "2", "--duration", "4s", "--json"]));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc.policies)).toEqual(["vmdedup"]);
    expect(doc.policies.vmdedup).toMatchObject({ maxGuests: expect.any(Number), steadySavingsPct: expect.any(Number) });
    expect(typeof doc.policies.vmdedup.overcommitLossPct).toBe("number");
    void cowStorm;
  });
});
