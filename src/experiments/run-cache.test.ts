import { describe, expect, test } from "bun:test";
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf } from "./catalog.ts";
import { RunCache, requestKey } from "./run-cache.ts";
import { runWithBaseline, throughputLossPct, withBaseline, type RunRequest } from "./run.ts";

const catalog = catalogOf(CANNED_WORKLOADS);
const req: RunRequest = { workload: catalog.get("web-server"), policy: "ksm", guests: 2, guestMem: 4 * 2 ** 20, durationSec: 6, seed: 5 };

describe("runs with a baseline (web-server, 2 guests x 4 MiB, 6 s simulated)", async () => {
  const done: string[] = [];
  const cache = new RunCache({ done: (r) => done.push(`${r.policy}/w${r.workers ?? 0}`) });
  const cached = await cache.withBaseline(req);
  const direct = await runWithBaseline(req);

  test("the baseline is policy none with the same options; the loss is derived from both", () => {
    expect(direct.baseline!.options.policy).toBe("none");
    expect(direct.baseline!.options.guests).toBe(2);
    const b = direct.baseline!.summary.steadyGuestOpsPerSec;
    expect(b).toBeGreaterThan(0);
    expect(direct.result.summary.baselineGuestOpsPerSec).toBe(b);
    expect(direct.result.summary.throughputLossPct).toBe(Math.round((1 - direct.result.summary.steadyGuestOpsPerSec / b) * 1e6) / 1e4);
  });

  test("the cache runs the baseline first and once; the cached run equals the direct one but for wall-clock figures", async () => {
    expect(done).toEqual(["none/w0", "ksm/w0"]);
    await cache.withBaseline({ ...req, policy: "esx", workers: 0 });
    await cache.run({ ...req, policy: "none" });
    expect(done).toEqual(["none/w0", "ksm/w0", "esx/w0"]);
    expect(cache.count).toBe(3);
    expect({ ...cached, measured: null }).toEqual({ ...direct.result, measured: null });
  });

  test("no baseline for policy none or when not asked; withBaseline changes neither document", async () => {
    expect((await runWithBaseline({ ...req, policy: "none" })).baseline).toBeNull();
    const alone = await runWithBaseline(req, { baseline: false });
    expect(alone.baseline).toBeNull();
    expect(alone.result.summary.throughputLossPct).toBeNull();
    const before = JSON.stringify(alone.result);
    const compared = withBaseline(alone.result, direct.baseline!);
    expect(JSON.stringify(alone.result)).toBe(before);
    expect(compared.summary.throughputLossPct).toBe(direct.result.summary.throughputLossPct);
    expect(Object.keys(compared.summary)).toEqual(Object.keys(alone.result.summary));
  });

  test("throughput loss: null without a baseline throughput, 4 decimals otherwise", () => {
    expect(throughputLossPct(5, 0)).toBeNull();
    expect(throughputLossPct(2, 3)).toBe(33.3333);
    expect(throughputLossPct(3, 3)).toBe(0);
  });

  test("request keys ignore field order, undefined fields and the default 0 workers", () => {
    expect(requestKey({ seed: 5, policy: "ksm", workload: req.workload, guests: 2 })).toBe(requestKey({ guests: 2, workload: req.workload, policy: "ksm", seed: 5, workers: 0, durationSec: undefined }));
    expect(requestKey({ ...req, workers: 1 })).not.toBe(requestKey(req));
  });
});
