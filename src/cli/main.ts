#!/usr/bin/env bun
/** The vmdedup command line: the commands of COMMANDS (commands.ts), the commands that parse their own flags (validate-kernel, import, analyze) and --help. Exit 2 on bad flags, a bad spec or a bad dump. */
import { UnavailableError } from "../experiments/index.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { HostMemoryExhaustedError, VerifyError, WorkloadSpecError } from "../sim/index.ts";
import { TraceInputError } from "../trace/index.ts";
import { cmdAnalyze } from "./analyze.ts";
import { parseCommand, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { cmdImport } from "./import.ts";
import { cmdValidateKernel } from "./validate-kernel.ts";

/** Commands with flags of their own (not the run flags of parseCommand); each returns its exit code. */
const OWN_FLAG_COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  "validate-kernel": cmdValidateKernel,
  import: (args) => (cmdImport(args), 0),
  analyze: async (args) => (await cmdAnalyze(args), 0),
};

export async function main(argv: string[]): Promise<number> {
  try {
    const own = OWN_FLAG_COMMANDS[argv[0] ?? ""];
    if (own) return await own(argv.slice(1));
    const { command, values } = parseCommand(argv, Object.keys(COMMANDS));
    await COMMANDS[command]!.run(values);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof WorkloadSpecError || e instanceof InvalidArgumentError || e instanceof TraceInputError) {
      console.error(`vmdedup: ${e.message}\n(see vmdedup --help)`);
      return 2;
    }
    if (e instanceof VerifyError || e instanceof HostMemoryExhaustedError) {
      console.error(`vmdedup: ${e.message}`);
      return 1;
    }
    if (e instanceof UnavailableError) {
      console.error(`vmdedup: not available here: ${e.message}`);
      return 1;
    }
    console.error(`vmdedup: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
