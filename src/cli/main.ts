#!/usr/bin/env bun
/** The vmdedup command line: the commands of COMMANDS (commands.ts) and --help. Exit 2 on bad flags or a bad spec. */
import { UnavailableError } from "../experiments/index.ts";
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { WorkloadSpecError } from "../sim/index.ts";
import { parseCommand, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { cmdValidateKernel } from "./validate-kernel.ts";

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "validate-kernel") return cmdValidateKernel(argv.slice(1)); // its own flags
  try {
    const { command, values } = parseCommand(argv, Object.keys(COMMANDS));
    await COMMANDS[command]!.run(values);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof WorkloadSpecError || e instanceof InvalidArgumentError) {
      console.error(`vmdedup: ${e.message}\n(see vmdedup --help)`);
      return 2;
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
