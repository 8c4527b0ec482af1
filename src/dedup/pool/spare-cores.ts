/**
 * How many cores this process can actually use right now (the benchmarks' load check): a fixed
 * integer loop timed alone on this thread, then the same loop on this thread and on n-1 workers
 * at once. spareCores = n x (time alone) / (time together): n on an idle n-core machine, about 1
 * when other processes already keep every core busy (then no parallel code can show a speed-up).
 */
const LOOP = `
  const spin = (n) => { let x = 1; for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0; return x; };
  self.onmessage = (e) => { const t = performance.now(); const x = spin(e.data); postMessage({ ms: performance.now() - t, x }); };
`;

function spin(n: number): number {
  let x = 1;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

/** spareCores for `threads` threads (a loop of `iterations`, ~50-100 ms alone). */
export async function spareCores(threads: number, iterations = 100_000_000): Promise<number> {
  spin(iterations); // warm-up (a shorter one left the timed loop partly unoptimised: spare cores read > n)
  let t = performance.now();
  spin(iterations);
  const alone = performance.now() - t;
  const url = URL.createObjectURL(new Blob([LOOP], { type: "application/javascript" }));
  const workers = Array.from({ length: threads - 1 }, () => new Worker(url));
  // warm the workers up, then run all at once
  await Promise.all(workers.map((w) => new Promise<void>((r) => { w.onmessage = () => r(); w.postMessage(iterations); })));
  t = performance.now();
  const done = workers.map((w) => new Promise<void>((r) => { w.onmessage = () => r(); w.postMessage(iterations); }));
  spin(iterations);
  await Promise.all(done);
  const together = performance.now() - t;
  for (const w of workers) w.terminate();
  URL.revokeObjectURL(url);
  return (threads * alone) / together;
}
