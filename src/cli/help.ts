/** The --help text; it states the defaults (taken from the code, so it cannot drift). */
import { SIM_DEFAULTS } from "../sim/index.ts";
import { VALIDATE_KERNEL_HELP } from "./validate-kernel.ts";
import { CANNED } from "./workloads.ts";

export function helpText(): string {
  const d = SIM_DEFAULTS;
  const names = CANNED.list().map((w) => w.name).join(", ");
  return `vmdedup: simulate memory de-duplication in a hypervisor (VMDedup, Linux KSM, VMware ESX TPS)

Usage:
  bun run vmdedup run --workload kernel-build --guests 8 --guest-mem 256MiB --policy vmdedup \\
                      --workers 2 --seed 1 --duration 120s --out results/run.json
  bun run vmdedup run --workload trace:FILE.vmtrace --policy ksm   replay a trace (vmdedup import makes one)
  bun run vmdedup list                 canned workloads and shipped traces, one line each
  bun run vmdedup demo [--workload W]  a short run of a canned workload under every policy, prints a table
  bun run vmdedup calibrate [--out F]  (or --calibrate) time the hv/dedup code paths here, write a calibration file
  bun run vmdedup calibrate --write-latency F [--rounds N]
                                       (root, Linux KSM idle) time one-byte writes to merged vs unmerged pages as the
                                       kernel's ksm_tests -C does, write the attack's write-latency file F (read by
                                       attack --write-latency F); elsewhere F gets the documented defaults (stderr says why)
  bun run vmdedup import --out F.vmtrace DUMP...   VM memory dumps (raw pmemsave, QEMU/virsh ELF, kdump, Xen
                       dump-core; --format raw|elf|kdump|xen overrides the magic) into a trace, one guest
                       per dump; --guest NAME=DUMP,DUMP... --every SECONDS for a time series;
                       --meta KEY=VALUE for metadata (workloads/traces/FORMAT.md)
  bun run vmdedup density --workload W --host-mem SIZE --max-loss 5% [--json]   guests that fit per policy
  bun run vmdedup analyze DUMP...|F.vmtrace [--json] [--per-snapshot] [--charts DIR]   what merging duplicates
                       would save; --charts DIR draws sharing vs guest count and churn over time (PNG + SVG)
${VALIDATE_KERNEL_HELP}
  bun run vmdedup attack --policy P --mitigation M [--workload W] [--trials N] [--seed S] [--wait-passes K]
                       [--bits-per-round B] [--salt-groups N|LIST] [--json]   the page-sharing timing side
                       channel and covert channel on the simulated clock (README "Side channel")
  bun run vmdedup --help

run flags (default in brackets):
  -w, --workload NAME|PATH   ${names}, or a spec file (.ts or .json, see workloads/README.md),   [required]
                             or trace:NAME (workloads/traces/NAME.vmtrace) | trace:PATH: replay a .vmtrace
                             (its guests, first snapshot at boot, changed pages written between snapshots;
                             --guests N takes the first N, --guest-mem is refused; default duration: the
                             trace's length + ${d.minFullPasses} full passes)
  -p, --policy P             vmdedup | ksm | esx | none                                   [vmdedup]
  -g, --guests N             total guests (several families: scaled proportionally)     [from the spec]
  -m, --guest-mem SIZE       guest memory, e.g. 64MiB, 1GiB (write rates scale with it)  [from the spec]
      --seed N               content and operation seed                                 [${d.seed}]
  -d, --duration T           simulated time, e.g. 120s, 2min                            [auto: max(${d.minDurationSec}s, steady phase + 20s,
                             time for ${d.minFullPasses} full passes over all guest memory at pages-to-scan/sleep-ms)]
      --pages-to-scan N      pages per scanner batch                                    [${d.pagesToScan}]
      --sleep-ms N           simulated ms between batches                               [${d.sleepMillisecs}]
                             (defaults: ${(d.pagesToScan / d.sleepMillisecs) * 1000} pages/s, so a default run covers >= ${d.minFullPasses} passes of every policy)
      --smart-scan on|off    KSM smart_scan                                             [on]
      --use-zero-pages on|off merge zero pages onto the zero frame                      [off for ksm, on for vmdedup/esx]
      --max-page-sharing N   mappings per shared frame                                  [${d.maxPageSharing}]
      --workers N            hashing worker threads (0 = in the scanner thread)         [${d.workers}]
                             (results are identical for any N: the simulated scanner is one thread;
                             workers change only the wall-clock figures under "measured")
      --host-cpus N          simulated host CPUs                                        [${d.hostCpus}]
      --scanner-nice N       scanner CPU weight as a nice level (-20..19; 19 starves it) [${d.scannerNice}, like ksmd]
      --scanner-weight W     scanner CPU weight relative to one guest vCPU; overrides --scanner-nice
                             (e.g. 0.001 reproduces ksmd starving beside busy guests)
      --tick T               simulated clock tick                                       [${d.tickMs}ms]
      --sample-every T       metrics sample interval                                    [${d.sampleEverySec}s]
      --oracle-every T       oracle (max sharing) interval; it hashes every page        [${d.oracleEverySec}s]
      --calibration FILE     cost constants                                             [src/sim/calibration/default.json]
      --mitigation M         off | salted | zero-only | vusion | fixed-latency (README "Side channel") [off]
      --salt-groups N|LIST   salted: N groups round-robin, or one group per guest "0,0,1,2"   [one group per guest]
      --no-baseline          skip the extra run under policy none (no throughput loss figure)
      --host-mem SIZE        overcommitted host: this much machine memory (also a spec's host.memory) [a frame per guest page]
      --min-free SIZE        ESX minFree (states at 100/64/32/16% of it)                [6%/4%/2%/1% sliding scale]
      --balloon-rate N       virtio-balloon 1 MiB requests per simulated second          [256]
      --compression-cache S  compression cache per guest, share of its memory           [10%]
      --swap SIZE            hypervisor swap                                            [all guest memory]
      --swap-device D        nvme | ssd | hdd | <us> per 4 KiB read                     [nvme = 20us]
      --swap-victims V       random (as ESX) | access (sampled access bits)             [random]
      --verify               check every guest page's bytes at the end (exit 1 on a mismatch)
  density flags: --workload W --host-mem SIZE [--max-loss 5%] [--max-guests 64] [--policies a,b] [--jobs N] [--json]
  -o, --out FILE             result JSON                                                [results/<workload>-<policy>-s<seed>.json]

Savings are % of all guest memory: "incl. zero" counts pages merged onto the zero frame, "excl. zero" only
non-zero merges; never-written pages are not backed and save nothing. Exit codes: 0 ok, 1 failure,
2 bad flags, a bad workload spec, or a bad dump or trace. The progress bar shows on a terminal only, never with CI=true.
`;
}
