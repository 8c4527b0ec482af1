/**
 * The simulator's own memory follows the simulated host, not the guests: 64 guests x 1 GiB on a
 * 16 GiB simulated host (4x overcommitted). Prints one JSON line: peak RSS beside the simulated
 * host memory and the guest memory, the per-guest-page metadata, and wall time per simulated
 * second (boot included, and steady apart). Run it alone, once, after `free -g` (it needs
 * about 17-20 GiB of this machine): `bun src/sim/scale.bench.ts [idle|web-server|spec path] [seconds] [guests] [host GiB]`.
 * Guests start together (the spec's stagger set to 0) so every guest is up from the first tick.
 */
import { join } from "node:path";
import { Simulation } from "./driver.ts";
import { estimateProcessBytes } from "./host-memory.ts";
import { loadWorkloadFile } from "./workloads.ts";

const name = process.argv[2] ?? "idle";
const seconds = Number(process.argv[3] ?? 10);
/** Guests (of 1 GiB) and host GiB: default 64 on 16; `bun src/sim/scale.bench.ts idle 10 16 4` for the same 4x at a quarter of the size. */
const guests = Number(process.argv[4] ?? 64);
const hostGiB = Number(process.argv[5] ?? 16);
// the spec is read as a file (sim never imports workloads/): workloads/<name>.ts or a path
const spec = structuredClone(await loadWorkloadFile(name.includes("/") ? name : join(import.meta.dir, "../../workloads", `${name}.ts`)));
for (const f of spec.families) f.stagger = 0;
const GiB = 2 ** 30;
const t0 = performance.now();
const sim = new Simulation({ workload: spec, policy: "vmdedup", guests, guestMem: GiB, hostMem: hostGiB * GiB, durationSec: seconds, oracleEverySec: seconds });
let firstTickWall = 0;
for (let k = 0; k < sim.ticks; k++) {
  await sim.tick(k);
  if (k === 0) firstTickWall = (performance.now() - t0) / 1000;
}


const wall = (performance.now() - t0) / 1000;
const peakRss = process.resourceUsage().maxRSS * 1024;
const hostBytes = hostGiB * GiB;
const guestPages = guests * (GiB / 4096);
const st = sim.hv.stats();
console.log(JSON.stringify({
  workload: name, guests, guestMemBytes: GiB, hostMemBytes: hostBytes, simulatedSec: seconds,
  peakRssBytes: peakRss, peakRssOverHost: +(peakRss / hostBytes).toFixed(3),
  metadataBytesPerGuestPage: +((peakRss - hostBytes) / guestPages).toFixed(1),
  estimateBytes: estimateProcessBytes(sim.config.workload, sim.config.host),
  wallSec: +wall.toFixed(1), firstTickWallSec: +firstTickWall.toFixed(1), wallSecPerSimSec: +((wall - firstTickWall) / Math.max(1e-9, seconds - sim.dtSec)).toFixed(2),
  swappedPages: st.swappedPages, compressedPages: st.compressedPages, framesFree: st.framesFree, populatedPages: st.populatedPages,
}));
process.exit(0);
