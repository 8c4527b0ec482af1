/**
 * The ksm policy alone on issue 15's chains-under-churn mix (3 x 1500 pages, max_page_sharing 4,
 * smart_scan off), against the counters the host kernel (Linux 6.18.44) gave for the same mix,
 * pass by pass (recorded with validate-kernel). The issue's "divergence" (simulator: two fewer
 * KSM pages than the kernel, one more pages_sharing and one more pages_unshared from the second
 * phase on) is the forward order's numbers set beside the kernel's numbers for the reversed
 * guest order: ksmd walks an mm's VMAs by address, and separate top-down mmaps put the last
 * guest first. In the same walk order, every pass matches.
 */
import { describe, expect, test } from "bun:test";
import { chainsChurnMix, reversedGuests } from "./mixes.ts";
import { runOurs } from "./peer-sides.ts";

type Row = [shared: number, sharing: number, unshared: number, volatile: number, chains: number, dups: number];
const rows = (c: Awaited<ReturnType<typeof runOurs>>): Row[] =>
  c.map((p) => [p.pages_shared, p.pages_sharing, p.pages_unshared, p.pages_volatile, p.stable_node_chains, p.stable_node_dups]);

// kernel 6.18.44, chainsChurnMix(8): settle x2, phases 1..8
const KERNEL_FORWARD: Row[] = [
  [0, 0, 0, 4500, 0, 0], [733, 2181, 1586, 0, 21, 733], [733, 2083, 1520, 151, 21, 733], [732, 2055, 1535, 145, 21, 732],
  [732, 2020, 1544, 164, 21, 732], [732, 1998, 1566, 155, 21, 732], [733, 1984, 1569, 154, 21, 733], [733, 1964, 1574, 155, 21, 733],
  [733, 1939, 1579, 167, 21, 733], [733, 1925, 1604, 147, 21, 733],
];
// the same mix, guests walked 2, 1, 0
const KERNEL_REVERSED: Row[] = [
  [0, 0, 0, 4500, 0, 0], [733, 2181, 1586, 0, 21, 733], [733, 2083, 1520, 151, 21, 733], [734, 2054, 1534, 145, 21, 734],
  [734, 2019, 1543, 164, 21, 734], [735, 1996, 1565, 155, 21, 735], [735, 1983, 1568, 154, 21, 735], [735, 1962, 1574, 155, 21, 735],
  [735, 1937, 1579, 167, 21, 735], [735, 1923, 1604, 147, 21, 735],
];
// prune stale dups on every lookup (stable_node_chains_prune_millisecs 0 on both sides): differs from never from phase 5 on
const KERNEL_PRUNE_ALWAYS: Row[] = [
  ...KERNEL_FORWARD.slice(0, 7), [732, 1965, 1574, 155, 21, 732], [732, 1940, 1579, 167, 21, 732], [732, 1926, 1604, 147, 21, 732],
];

describe("ksm: chains at max_page_sharing 4 under churn (issue 15), exact kernel counters", () => {
  test("guests walked in creation order: every pass as the kernel's", async () => {
    expect(rows(await runOurs(chainsChurnMix(8)))).toEqual(KERNEL_FORWARD); // runOurs ends with hv.audit()
  });

  test("guests walked in reverse (the issue's layout): every pass as the kernel's in that order", async () => {
    const ours = rows(await runOurs(reversedGuests(chainsChurnMix(8), "rev")));
    expect(ours).toEqual(KERNEL_REVERSED);
    // the numbers: forward-order simulator vs reverse-order kernel, from the second phase on
    const [k, f] = [KERNEL_REVERSED[3]!, KERNEL_FORWARD[3]!];
    expect([f[0] - k[0], f[1] - k[1], f[2] - k[2]]).toEqual([-2, 1, 1]);
  });

  test("stableNodeChainsPruneMillisecs 0 prunes on every lookup, as the kernel does at 0", async () => {
    expect(rows(await runOurs(chainsChurnMix(8, 0)))).toEqual(KERNEL_PRUNE_ALWAYS);
  });
});
