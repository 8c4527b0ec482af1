/** Errors of the simulation layer. */
import { VmdedupError } from "../hypervisor/index.ts";

/** A workload spec is malformed; `field` is the dotted path of the bad field (e.g. "families[0].regions[2].fraction"). */
export class WorkloadSpecError extends VmdedupError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A run result document does not match the RunResult schema; `field` names the bad field. */
export class ResultSchemaError extends VmdedupError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
