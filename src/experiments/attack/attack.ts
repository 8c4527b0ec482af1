/**
 * The page-sharing timing side channel, on the simulated clock (security.md; CAIN,
 * CVE-2015-2877; Xiao et al. DSN'13 for the covert channel).
 *
 * Host: attack-host.ts (the workload's guests, then a victim and an attacker guest), run by the
 * Simulation step by step (driver.ts ticks: the workload's guests keep writing, the scanner keeps
 * scanning, under the policy and mitigation asked for). The attack's own writes are applied
 * between ticks, at once.
 *
 * Trials run in rounds of up to TRIALS_PER_ROUND independent trials (a real attacker probes
 * many candidate pages per wait). One round:
 *   1. the victim holds, per trial, a secret page or not (a seeded coin: the secret, or a page of
 *      its own); as the covert sender it writes, per bit, the agreed page (1) or a page of its
 *      own (0);
 *   2. the attacker writes its candidate copy of each trial's secret, and as the receiver the
 *      agreed page of each bit;
 *   3. it waits for the scanner: --wait-passes full passes (the scanner's full_scans counter; for
 *      esx one pass of its shuffled order; policy none never completes a pass, so it waits as
 *      long as that many passes at the nominal scan rate would take);
 *   4. it writes one byte to each of its pages and measures each write's latency
 *      (WriteLatencyModel: the cost model's CoW break when the write faulted, plus seeded noise),
 *      and decides "present" (merged) when the latency is above its threshold.
 * The threshold is the attacker's own: before the first round it writes pairs of identical pages
 * and single pages in its own guest, waits the same way, probes one page of each pair and each
 * single, and puts the threshold midway between the two medians. It knows nothing else (no
 * oracle: never the victim's coin, the frames or the scanner's state).
 * probeSeconds: simulated seconds from the candidates' write to the probe, mean over rounds;
 * bitsPerSecond: covert bits per round / that time (raw, before any error correction).
 */
import type { Guest } from "../../hypervisor/index.ts";
import { POLICIES, type Mitigation, type MitigationKind, type Policy } from "../../dedup/index.ts";
import { CostModel, loadCalibration, loadWriteLatency, Rng, Simulation, steadyPhaseStart, resolveSpec, WriteLatencyModel, type WorkloadSpec } from "../../sim/index.ts";
import { VmdedupError, InvalidArgumentError } from "../../hypervisor/index.ts";
import { attackHost } from "./attack-host.ts";
import { pageOf } from "./pages.ts";

export const ATTACK_DEFAULTS = { trials: 200, waitPasses: 2, bitsPerRound: 64, seed: 1 } as const;
/** Trials probed per wait (and calibration pairs / singles). */
export const TRIALS_PER_ROUND = 64;
export const CALIBRATION_PAGES = 32;
/** Pages of one round's range in each attack guest: trials, then covert bits. Rounds alternate
 * between two ranges and discard theirs after probing, so a range is reused only after a pass has
 * freed its pages' scanner state (KSM's rmap items, whose smart-scan age would otherwise make
 * ksmd skip reused pages): a real attacker munmaps and maps fresh memory likewise. */
export const ROUND_PAGES = 128;
const CALIBRATION_BASE = 2 * ROUND_PAGES;

export interface AttackRequest {
  workload: WorkloadSpec;
  policy: Policy;
  mitigation?: MitigationKind;
  /** salted: a group count or one group per guest of the attack host (workload guests, victim, attacker). */
  saltGroups?: number | readonly number[];
  guests?: number;
  guestMem?: number;
  seed?: number;
  trials?: number;
  waitPasses?: number;
  bitsPerRound?: number;
  pagesToScan?: number;
  sleepMillisecs?: number;
  calibrationPath?: string;
  writeLatencyPath?: string;
}

/** What the attack measured (no host savings: see attack-report.ts). */
export interface AttackMeasurement {
  trials: number;
  rounds: number;
  /** Correct decisions / trials. */
  accuracy: number;
  /** "present" said when the victim did not hold the page / such trials. */
  falsePositiveRate: number;
  /** "absent" said when it did / such trials. */
  falseNegativeRate: number;
  probeSeconds: number;
  bitsPerSecond: number;
  bitErrorRate: number;
  /** bitsPerSecond x (1 - H(bitErrorRate)): the binary symmetric channel's capacity, the rate an ideal code could carry. */
  capacityBitsPerSecond: number;
  bits: number;
  /** The attacker's threshold and the medians it came from, ns. */
  thresholdNs: number;
  mergedMedianNs: number;
  unmergedMedianNs: number;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/** One attack session: the Simulation, the two attack guests and the attacker's measurements. */
class AttackSession {
  private k = 0;
  readonly victim: Guest;
  readonly attacker: Guest;
  private readonly mit: Mitigation;
  private readonly nominalPassSec: number;

  constructor(
    readonly sim: Simulation,
    private readonly latency: WriteLatencyModel,
    readonly seed: number,
    readonly host: { workloadGuests: number },
  ) {
    const c = sim.config;
    this.nominalPassSec = c.workload.totalPages / (c.pagesToScan / Math.max(c.sleepMillisecs, 1) * 1000);
    const guests = sim.hv.guestById;
    this.victim = guests[host.workloadGuests]!;
    this.attacker = guests[host.workloadGuests + 1]!;
    this.mit = sim.scanner.mitigation;
  }

  get nowSec(): number {
    return this.k * this.sim.dtSec;
  }

  /** Runs ticks until the attack guests exist and the workload is in its steady phase. */
  static async start(sim: Simulation, latency: WriteLatencyModel, seed: number, host: { workloadGuests: number }): Promise<AttackSession> {
    const steady = steadyPhaseStart(sim.config.workload);
    let k = 0;
    while (k * sim.dtSec < steady || sim.hv.guestById.length < host.workloadGuests + 2) await sim.tick(k++);
    const s = new AttackSession(sim, latency, seed, host);
    s.k = k;
    return s;
  }

  /** A guest's write of a whole page (an access: a pending first-access fault is taken with it). */
  writePage(g: Guest, gfn: number, bytes: Uint8Array): void {
    this.mit.takeFirstAccess(g.slotBase + gfn);
    g.write(gfn, 0, bytes);
  }

  /** The timed one-byte write: did the hypervisor (or the mitigation) fault? Its latency, ns. */
  probe(g: Guest, gfn: number): number {
    const hv = this.sim.hv;
    const slot = g.slotBase + gfn;
    const f = hv.pageTable.slotFrame[slot]!;
    let faulted = f === hv.zeroFrame || hv.isSharedFrame(f);
    if (this.mit.takeFirstAccess(slot)) faulted = true;
    g.write(gfn, 7, ONE_BYTE);
    return this.latency.sample(faulted);
  }

  /** Waits for `passes` full passes of the scanner (see the file comment); returns the seconds waited. */
  async waitPasses(passes: number): Promise<number> {
    const t0 = this.nowSec;
    const f0 = this.sim.scanner.stats().fullScans;
    const none = this.sim.scanner.policy === "none";
    const limit = t0 + 1000 * passes * this.nominalPassSec + 600;
    for (;;) {
      await this.sim.tick(this.k++);
      const t = this.nowSec;
      if (none ? t - t0 >= passes * this.nominalPassSec - 1e-9 : this.sim.scanner.stats().fullScans - f0 >= passes) return t - t0;
      if (t > limit) throw new VmdedupError(`the scanner did not complete ${passes} passes in ${Math.round(t - t0)} simulated seconds`);
    }
  }

  /** The attacker's threshold from its own pages: pairs (merge if anything does) and singles. */
  async calibrate(passes: number): Promise<{ thresholdNs: number; mergedMedianNs: number; unmergedMedianNs: number }> {
    const a = this.attacker;
    const n = CALIBRATION_PAGES;
    for (let i = 0; i < n; i++) {
      const pair = pageOf(this.seed, 1, 0, i);
      this.writePage(a, CALIBRATION_BASE + 2 * i, pair);
      this.writePage(a, CALIBRATION_BASE + 2 * i + 1, pair);
      this.writePage(a, CALIBRATION_BASE + 2 * n + i, pageOf(this.seed, 2, 0, i));
    }
    await this.waitPasses(passes);
    const merged: number[] = [];
    const unmerged: number[] = [];
    for (let i = 0; i < n; i++) {
      merged.push(this.probe(a, CALIBRATION_BASE + 2 * i));
      unmerged.push(this.probe(a, CALIBRATION_BASE + 2 * n + i));
    }
    for (let i = 0; i < 3 * n; i++) a.discard(CALIBRATION_BASE + i);
    const mergedMedianNs = median(merged);
    const unmergedMedianNs = median(unmerged);
    return { thresholdNs: (mergedMedianNs + unmergedMedianNs) / 2, mergedMedianNs, unmergedMedianNs };
  }
}

const ONE_BYTE = new Uint8Array([0xa5]);

export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >>> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

interface Tally {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  bits: number;
  bitErrors: number;
  waitSec: number;
}

/** One round of `trials` trials and `bits` covert bits (see the file comment). */
async function runRound(s: AttackSession, r: number, trials: number, bits: number, passes: number, threshold: number, coins: () => number, t: Tally): Promise<void> {
  const { victim: v, attacker: a } = s;
  const seed = s.seed;
  const base = (r % 2) * ROUND_PAGES; // this round's range (see ROUND_PAGES)
  const bitBase = base + TRIALS_PER_ROUND;
  const coin = Array.from({ length: trials }, () => coins());
  const sent = Array.from({ length: bits }, () => coins());
  for (let i = 0; i < trials; i++) s.writePage(v, base + i, coin[i] ? pageOf(seed, 3, r, i) : pageOf(seed, 4, r, i));
  for (let j = 0; j < bits; j++) s.writePage(v, bitBase + j, sent[j] ? pageOf(seed, 5, r, j) : pageOf(seed, 6, r, j));
  for (let i = 0; i < trials; i++) s.writePage(a, base + i, pageOf(seed, 3, r, i));
  for (let j = 0; j < bits; j++) s.writePage(a, bitBase + j, pageOf(seed, 5, r, j));
  t.waitSec += await s.waitPasses(passes);
  for (let i = 0; i < trials; i++) {
    const present = s.probe(a, base + i) > threshold;
    if (present) coin[i] ? t.tp++ : t.fp++;
    else coin[i] ? t.fn++ : t.tn++;
  }
  for (let j = 0; j < bits; j++) {
    const got = s.probe(a, bitBase + j) > threshold ? 1 : 0;
    t.bits++;
    if (got !== sent[j]) t.bitErrors++;
  }
  for (let i = 0; i < trials; i++) v.discard(base + i), a.discard(base + i);
  for (let j = 0; j < bits; j++) v.discard(bitBase + j), a.discard(bitBase + j);
}

/** Checks an attack request's own numbers (the simulator checks the rest). */
export function resolveAttack(req: AttackRequest): Required<Pick<AttackRequest, "trials" | "waitPasses" | "bitsPerRound" | "seed">> {
  if (!POLICIES.includes(req.policy)) throw new InvalidArgumentError(`policy must be one of ${POLICIES.join(", ")}, got ${String(req.policy)}`);
  return {
    trials: checkInt("trials", req.trials ?? ATTACK_DEFAULTS.trials, 1, 100_000),
    waitPasses: checkInt("wait-passes", req.waitPasses ?? ATTACK_DEFAULTS.waitPasses, 1, 100),
    bitsPerRound: checkInt("bits-per-round", req.bitsPerRound ?? ATTACK_DEFAULTS.bitsPerRound, 0, ROUND_PAGES - TRIALS_PER_ROUND),
    seed: checkInt("seed", req.seed ?? ATTACK_DEFAULTS.seed, 0, 2 ** 31 - 1),
  };
}

/** Runs the attack and the covert channel (see the file comment). Deterministic for a request. */
export async function measureAttack(req: AttackRequest): Promise<AttackMeasurement> {
  const o = resolveAttack(req);
  resolveSpec(req.workload, { guests: req.guests, guestMem: req.guestMem }); // a bad workload or override fails here first
  const host = attackHost(req.workload, { guests: req.guests, guestMem: req.guestMem });
  const sim = new Simulation({
    workload: host.spec, policy: req.policy, seed: o.seed, mitigation: req.mitigation, saltGroups: req.saltGroups,
    pagesToScan: req.pagesToScan, sleepMillisecs: req.sleepMillisecs, calibrationPath: req.calibrationPath,
    durationSec: 1e6, sampleEverySec: 1e6, oracleEverySec: 1e6,
  });
  try {
    const latency = new WriteLatencyModel(loadWriteLatency(req.writeLatencyPath), new CostModel(loadCalibration(sim.config.calibrationPath)), o.seed);
    const s = await AttackSession.start(sim, latency, o.seed, host);
    const cal = await s.calibrate(o.waitPasses);
    const coinRng = new Rng((o.seed * 0x9e3779b1 + 0x51ed) >>> 0);
    const coins = () => (coinRng.float() < 0.5 ? 1 : 0);
    const t: Tally = { tp: 0, fp: 0, tn: 0, fn: 0, bits: 0, bitErrors: 0, waitSec: 0 };
    const rounds = Math.ceil(o.trials / TRIALS_PER_ROUND);
    for (let r = 0; r < rounds; r++) {
      const n = Math.min(TRIALS_PER_ROUND, o.trials - r * TRIALS_PER_ROUND);
      await runRound(s, r + 1, n, o.bitsPerRound, o.waitPasses, cal.thresholdNs, coins, t);
    }
    sim.hv.audit();
    const probeSeconds = t.waitSec / rounds;
    const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
    return {
      trials: o.trials, rounds,
      accuracy: r4((t.tp + t.tn) / o.trials),
      falsePositiveRate: r4(t.fp + t.tn > 0 ? t.fp / (t.fp + t.tn) : 0),
      falseNegativeRate: r4(t.fn + t.tp > 0 ? t.fn / (t.fn + t.tp) : 0),
      probeSeconds: r4(probeSeconds),
      bitsPerSecond: r4(probeSeconds > 0 ? o.bitsPerRound / probeSeconds : 0),
      bitErrorRate: r4(t.bits > 0 ? t.bitErrors / t.bits : 0),
      capacityBitsPerSecond: r4(probeSeconds > 0 && t.bits > 0 ? (o.bitsPerRound / probeSeconds) * (1 - entropy(t.bitErrors / t.bits)) : 0),
      bits: t.bits,
      thresholdNs: Math.round(cal.thresholdNs), mergedMedianNs: Math.round(cal.mergedMedianNs), unmergedMedianNs: Math.round(cal.unmergedMedianNs),
    };
  } finally {
    await sim.scanner.close();
    Bun.gc(true);
  }
}

/** Binary entropy, bits. */
function entropy(p: number): number {
  return p <= 0 || p >= 1 ? 0 : -p * Math.log2(p) - (1 - p) * Math.log2(1 - p);
}

/** Half-width of the 99.9% two-sided normal bound of a binomial(n, 0.5) proportion around 0.5. */
export function chanceBound(n: number): number {
  return 3.2905 * Math.sqrt(0.25 / n);
}
