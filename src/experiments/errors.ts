/** Errors of the experiments layer. */
import { VmdedupError } from "../hypervisor/index.ts";

/**
 * A run that cannot be made here, as opposed to one that failed: an unknown workload name, a
 * policy or a component (QEMU, a real kernel's KSM, a trace file) this machine or build does not
 * have. Suites record such a run as skipped with `reason` and go on; any other error fails them.
 * `run` names the run ("kernel-build/ksm/w0"), `reason` says what is missing.
 */
export class UnavailableError extends VmdedupError {
  constructor(
    readonly run: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}
