/**
 * `vmdedup validate-kernel [--quick] [--json]`: the ksm policy against the host kernel's own KSM,
 * pass by pass (src/experiments/kernel-peer). Its own flags, parsed here, so that main.ts only
 * dispatches to it. Exit 0 all MATCH, 1 a DIFF, 2 cannot run (the reason on stderr) or bad flags.
 */
import { parseArgs } from "node:util";
import { validateKernel } from "../experiments/kernel-peer/validate.ts";

export const VALIDATE_KERNEL_HELP = `  bun run vmdedup validate-kernel [--quick] [--json]
                                       (root, Linux KSM) the ksm policy vs this kernel's KSM, pass by pass on
                                       fixed seeded mixes; --quick: 2 mixes (< 30 s); --json: the comparison as JSON;
                                       exit 0 all MATCH, 1 a DIFF, 2 cannot run (not root, no KSM, KSM in use by others)`;

export async function cmdValidateKernel(argv: string[]): Promise<number> {
  let values: { quick?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { quick: { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, strict: true }));
  } catch (e) {
    console.error(`vmdedup validate-kernel: ${(e as Error).message}\n(see vmdedup --help)`);
    return 2;
  }
  if (values.help) {
    console.log(`Usage:\n${VALIDATE_KERNEL_HELP}`);
    return 0;
  }
  const t0 = performance.now();
  const r = await validateKernel({ quick: values.quick, onLine: values.json ? undefined : (l) => console.log(l) });
  if (r.exitCode === 2) {
    console.error(`vmdedup validate-kernel: cannot run: ${r.reason}`);
    return 2;
  }
  if (values.json) console.log(JSON.stringify(r.doc, null, 1));
  else console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s wall)`);
  return r.exitCode;
}
