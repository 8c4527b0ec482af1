/**
 * The results document's security table (summary.md): per workload x policy x mitigation, attack
 * accuracy and the covert channel beside memory saved and the mitigation's cost against off.
 * Data to text only.
 */
import type { SecuritySection } from "./results-schema.ts";

const f = (x: number | null, d = 2) => (x === null ? "–" : x.toFixed(d));

/** Markdown lines of the section (empty when there are no rows). */
export function securityMarkdown(s: SecuritySection | undefined): string[] {
  if (!s || s.rows.length === 0) return [];
  const head = ["workload", "policy", "mitigation", "accuracy", "covert bit/s", "BER", "capacity bit/s", "saved %", "excl. zero %", "extra faults/s", "tput loss %"];
  const rows = s.rows.map((r) => [r.workload, r.policy, r.mitigation, f(r.accuracy, 3), f(r.bitsPerSecond, 1), f(r.bitErrorRate, 3), f(r.capacityBitsPerSecond, 1),
    f(r.steadySavingsPct, 1), f(r.steadySavingsExclZeroPct, 1), f(r.extraFaultsPerSec, 0), f(r.throughputLossPct, 2)]);
  return [
    "", "## Side channel: policy x mitigation (simulated clock)", "",
    `${s.trials} trials per row, seed ${s.seed}${s.guests ? `, ${s.guests} guests` : ""}${s.guestMemBytes ? ` x ${s.guestMemBytes / 2 ** 20} MiB` : ""} plus a victim and an attacker. ` +
      "Accuracy 0.5 = chance; covert bit/s is raw (before error correction), capacity = raw x (1 - H(BER)); savings are the host's steady savings; " +
      "extra faults and throughput loss are against the same policy with mitigation off.",
    "",
    "| " + head.join(" | ") + " |",
    "|" + head.map(() => "---").join("|") + "|",
    ...rows.map((r) => "| " + r.join(" | ") + " |"),
  ];
}
