/**
 * The guest OS layers the canned workloads share.
 *
 * DEBIAN_KERNEL: the share key of the Debian 12 kernel that `idle` models (SOURCES.md
 * [real-guests.md]; see idle.ts for its regions).
 *
 * bookwormGuestRegions: the captured Debian 12 guest at READY, the moment a capture's t = 0 is
 * (SOURCES.md [traces]: workloads/traces/*.vmtrace, 3 x 256 MiB under QEMU 7.2, guest kernel
 * 6.1.0-57 with a bookworm root file system). The three traces' first snapshots have the same
 * structure of non-zero contents (copiesHistogram, % of all pages of 3 guests): one page repeated
 * ~1,490 times in every guest (2.3%), ~1,980-2,190 contents held twice in every guest (6-copy
 * contents, 6.0-6.7%), ~5,200-6,100 contents once in every guest (3-copy, 7.9-9.4%, plus 2-copy
 * and 4-copy ones) and 14-17% of pages unique to one guest; 15.0-15.6% populated zero pages and
 * 48-51% unpopulated. The regions below reproduce that: "repeated-page" (one content, shared),
 * "paired-pages" (shared, 2 copies per guest: within-guest and cross-guest duplicates),
 * "shared-pages" (shared, one copy per guest, sized so that the cross-guest figure of the trace
 * comes out with the paired pages' share) and "private-pages" (unique per guest). The workloads
 * add their own regions (and the zero and untouched ones) on top; the fit is checked per
 * workload (workloads/fit.test.ts).
 */
import type { RegionSpec } from "../src/sim/spec.ts";

export const DEBIAN_KERNEL = "debian12-linux6.1";
/** Share key prefix of the captured bookworm guests (kernel 6.1.0-57, the capture's root file system). */
export const BOOKWORM_GUEST = "bookworm-linux6.1-57";

/** The captured guest's non-zero memory at READY; `paired`, `shared`, `private`: fractions of guest memory. */
export function bookwormGuestRegions(o: { repeated: number; paired: number; shared: number; private: number }): RegionSpec[] {
  return [
    { name: "repeated-page", fraction: o.repeated, fill: "shared", copies: 1e6, shareKey: `${BOOKWORM_GUEST}/repeated` },
    { name: "paired-pages", fraction: o.paired, fill: "shared", copies: 2, shareKey: `${BOOKWORM_GUEST}/paired` },
    { name: "shared-pages", fraction: o.shared, fill: "shared", shareKey: `${BOOKWORM_GUEST}/shared` },
    { name: "private-pages", fraction: o.private, fill: "private" },
  ];
}
