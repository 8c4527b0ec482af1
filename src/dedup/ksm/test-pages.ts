/** Test fixtures for the ksm policy tests: deterministic page contents and a scanner on a fresh hypervisor. */
import { Hypervisor, type Guest } from "../../hypervisor/index.ts";
import { createScanner } from "../create-scanner.ts";
import type { ScannerOptions } from "../types.ts";
import type { KsmScanner } from "./ksm-scanner.ts";

import { content } from "../shadow-memory.test-util.ts";

/** A page whose content is determined by `id` (0 = all zeros): the contract suites' helper. */
export { content };

export function setup(frames: number, opts: Partial<ScannerOptions> = {}) {
  const hv = new Hypervisor({ frames });
  const s = createScanner(hv, { policy: "ksm", pagesToScan: 1000, ...opts }) as KsmScanner;
  return { hv, s };
}

export function fill(g: Guest, ids: number[], from = 0): void {
  ids.forEach((id, i) => g.write(from + i, 0, content(id)));
}

