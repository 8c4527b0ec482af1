#!/usr/bin/env bun
/** The vmdedup command line: run, list, demo, calibrate, import, analyze, --help. Exit 2 on bad flags or a bad spec. */
import { InvalidArgumentError } from "../hypervisor/index.ts";
import { WorkloadSpecError } from "../sim/index.ts";
import { parseCommand, UsageError } from "./args.ts";
import { cmdCalibrate, cmdDemo, cmdList, cmdRun } from "./commands.ts";
import { helpText } from "./help.ts";
import { cmdImport } from "./import.ts";
import { cmdAnalyze } from "./analyze.ts";
import { TraceInputError } from "../trace/index.ts";

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "import") return (cmdImport(argv.slice(1)), 0);
    if (argv[0] === "analyze") return (cmdAnalyze(argv.slice(1)), 0);
    const { command, values } = parseCommand(argv);
    switch (command) {
      case "help":
        console.log(helpText());
        return 0;
      case "list":
        cmdList();
        return 0;
      case "run":
        await cmdRun(values);
        return 0;
      case "demo":
        await cmdDemo(values);
        return 0;
      case "calibrate":
        cmdCalibrate(values);
        return 0;
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof WorkloadSpecError || e instanceof InvalidArgumentError || e instanceof TraceInputError) {
      console.error(`vmdedup: ${e.message}\n(see vmdedup --help)`);
      return 2;
    }
    console.error(`vmdedup: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
