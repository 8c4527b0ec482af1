/**
 * The attack's page contents: 4 KiB of seeded pseudo-random words per (seed, kind, round, index),
 * so every secret, decoy, agreed covert page and calibration page is distinct from every other
 * and from anything a workload writes (the workloads' filler never produces these words).
 * Kinds: 1 calibration pair, 2 calibration single, 3 secret (victim) = candidate (attacker),
 * 4 victim's decoy, 5 agreed covert page, 6 sender's own page (bit 0).
 */
import { Rng } from "../../sim/index.ts";

const buf = new Uint8Array(4096);
const words = new Uint32Array(buf.buffer);

/** The page of (seed, kind, round, index); the returned buffer is reused by the next call (guests copy on write). */
export function pageOf(seed: number, kind: number, round: number, index: number): Uint8Array {
  const rng = new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(kind, 0x85ebca6b) ^ Math.imul(round + 1, 0xc2b2ae35) ^ Math.imul(index + 1, 0x27d4eb2f)) >>> 0);
  for (let i = 0; i < words.length; i++) words[i] = rng.next();
  words[0] = 0x41545441; // "ATTA": never a workload page
  words[1] = kind;
  words[2] = round;
  words[3] = index;
  return buf;
}
