import { VmdedupError } from "../hypervisor/index.ts";

/** A bad command line (exit 2); args.ts re-exports it. */
export class UsageError extends VmdedupError {}
