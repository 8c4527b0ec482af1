/**
 * The workloads the command line and the scripts know: the canned ones (workloads/), as the
 * catalog the experiments layer is handed, and `--workload` arguments (a canned name or a spec
 * file). cli/ is the one layer that imports workloads/; scripts/ take the catalog from here.
 */
import { CANNED_WORKLOADS } from "../../workloads/index.ts";
import { catalogOf, type WorkloadCatalog } from "../experiments/index.ts";
import { isWorkloadPath, loadWorkloadFile, WorkloadSpecError, type WorkloadSpec } from "../sim/index.ts";

export const CANNED: WorkloadCatalog = catalogOf(CANNED_WORKLOADS);

/** A canned name or a path (anything containing "/" or ending in .ts/.json); throws WorkloadSpecError for an unknown name or a bad file. */
export async function workloadFromArg(arg: string, catalog: WorkloadCatalog = CANNED): Promise<WorkloadSpec> {
  if (isWorkloadPath(arg)) return loadWorkloadFile(arg);
  if (!catalog.has(arg)) throw new WorkloadSpecError("workload", `unknown workload "${arg}" (known: ${catalog.names().join(", ")}; or give a path to a .ts/.json spec)`);
  return catalog.get(arg);
}
