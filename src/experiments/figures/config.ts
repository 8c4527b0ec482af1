/**
 * Sizes of the figure runs: FULL (`bun run figures`, about 3-4 minutes on a 2-core machine) and
 * QUICK (`--quick`, a few seconds, for tests). Guests are small (32 MiB) and runs short: per-page
 * behaviour does not depend on guest size (write rates scale with memory, see workloads/README.md),
 * so small guests give the same percentages as large ones, only sooner.
 */
export interface FigureConfig {
  name: "full" | "quick";
  /** Memory per guest of every simulation (bytes). */
  guestMemBytes: number;
  /** Figure 1: guest counts, simulated seconds, scan rate (simulator default when null). */
  guestCounts: number[];
  guestsDurationSec: number;
  /** Figures 2, 4, 7 (the workload x policy matrix) and 5: guests, seconds, scan rate, oracle sampling. */
  matrixGuests: number;
  matrixDurationSec: number;
  matrixPagesToScan: number;
  sleepMillisecs: number;
  oracleEverySec: number;
  /** Workloads of figures 2 and 7 (one panel each). */
  timelineWorkloads: string[];
  /** Figure 3: the workload, guests and pagesToScan values of the sweep (sleepMillisecs fixed). */
  sweepWorkload: string;
  sweepGuests: number;
  sweepPagesToScan: number[];
  sweepDurationSec: number;
  /** Figure 5: the workload run as HVM and as PV guests. */
  pvWorkload: string;
  /** Figure 6: machine pages of the synthetic image, worker counts, rounds (median taken). */
  workerPages: number;
  workerCounts: number[];
  workerRounds: number;
  /** Figure 8 (density): workloads, guest and host memory, the largest guest count, seconds, the loss limit (%). */
  densityWorkloads: string[];
  densityGuestMemBytes: number;
  densityHostMemBytes: number;
  densityMaxGuests: number;
  densityDurationSec: number;
  densityMaxLossPct: number;
  /** Figure 8's trace rows: shipped traces (spec names, e.g. trace-web) replayed on a host of densityTraceHostMemBytes. */
  densityTraces: string[];
  densityTraceHostMemBytes: number;
  /** Figure 9 (the side channel): workloads (one panel each), guests beside the victim and the attacker, trials, host-run seconds. */
  securityWorkloads: string[];
  securityGuests: number;
  securityGuestMemBytes: number;
  securityTrials: number;
  securityDurationSec: number;
}

const MiB = 2 ** 20;

export const FULL: FigureConfig = {
  name: "full",
  guestMemBytes: 32 * MiB,
  guestCounts: [1, 2, 4, 8, 16],
  guestsDurationSec: 60,
  // 16 x 32 MiB: the guest memory (512 MiB) and CPU load of the workloads' own 4 x 128 MiB, so the
  // guests keep the host's 2 CPUs busy and de-duplication's cost shows in their throughput
  matrixGuests: 16,
  matrixDurationSec: 90,
  matrixPagesToScan: 100, // Linux's default pages_to_scan
  sleepMillisecs: 20, // Linux's default sleep_millisecs
  oracleEverySec: 2,
  timelineWorkloads: ["web-server", "kernel-build"],
  sweepWorkload: "kernel-build",
  sweepGuests: 4,
  sweepPagesToScan: [25, 60, 150, 400, 1000, 2500, 6400],
  sweepDurationSec: 60,
  pvWorkload: "web-server",
  workerPages: 65536, // 256 MiB
  workerCounts: [0, 1, 2],
  workerRounds: 5,
  // every count 1..14 of every policy, host run and uncommitted twin: 224 short runs of 16 MiB guests
  densityWorkloads: ["web-server", "kernel-build"],
  densityGuestMemBytes: 16 * MiB,
  densityHostMemBytes: 32 * MiB,
  densityMaxGuests: 14,
  densityDurationSec: 40,
  densityMaxLossPct: 5,
  // the captured traces' 3 x 256 MiB guests (about half populated) on a host of a sixth of their memory: 36 runs
  densityTraces: ["trace-build", "trace-web", "trace-database"],
  densityTraceHostMemBytes: 128 * MiB,
  // identical guests (salting loses most) and diverse ones (salting loses little), as the benchmarks' security matrix sizes them
  securityWorkloads: ["web-server", "mixed"],
  securityGuests: 4,
  securityGuestMemBytes: 32 * MiB,
  securityTrials: 200,
  securityDurationSec: 40,
};

export const QUICK: FigureConfig = {
  name: "quick",
  guestMemBytes: 4 * MiB,
  guestCounts: [1, 2, 4],
  guestsDurationSec: 30,
  matrixGuests: 2,
  matrixDurationSec: 30,
  matrixPagesToScan: 100,
  sleepMillisecs: 20,
  oracleEverySec: 5,
  timelineWorkloads: ["web-server"],
  sweepWorkload: "kernel-build",
  sweepGuests: 2,
  sweepPagesToScan: [25, 400],
  sweepDurationSec: 30,
  pvWorkload: "web-server",
  workerPages: 4096,
  workerCounts: [0, 1],
  workerRounds: 1,
  densityWorkloads: ["web-server"],
  densityGuestMemBytes: 4 * MiB,
  densityHostMemBytes: 5 * MiB,
  densityMaxGuests: 7,
  densityDurationSec: 20,
  densityMaxLossPct: 5,
  densityTraces: [],
  densityTraceHostMemBytes: 128 * MiB,
  securityWorkloads: ["web-server"],
  securityGuests: 2,
  securityGuestMemBytes: 4 * MiB,
  securityTrials: 64,
  securityDurationSec: 30,
};
