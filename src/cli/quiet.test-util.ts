/** Test support for the cli tests: runs a command with console.log/console.error captured. */
export async function quiet(f: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log;
  const error = console.error;
  let out = "";
  let err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await f(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}
