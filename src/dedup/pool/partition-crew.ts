/**
 * The partition workers of this thread (issue 13, part 3), shared by every partition engine it
 * runs and kept from one scanner to the next: started once, reused. A worker is a JavaScript VM of
 * its own whose code the JIT compiles while it runs its first batches (partition-warmup.ts does
 * part of that before "ready"); a worker per scanner paid that compile, about a third of a
 * partitioned merging pass's CPU on the 1 GiB mix, again for every scanner (the benchmarks, a
 * run's several scanners). Workers are unref'd: an idle one never keeps the process alive.
 *
 * Sharing is safe because an engine's batch runs synchronously on this thread: while one engine's
 * batch is open no other engine posts one, and a worker handles its messages one at a time. Each
 * message names its engine ({ engine, seq, layout?, timeoutMs }); the worker keeps one executor
 * per engine and drops it at { engine, close } (engine.close(), or when the engine is collected
 * unclosed: FinalizationRegistry), so no closed engine's guest memory stays referenced.
 * A worker that dies is left out of later engines (a new one is started in its place); the engines
 * using it lose nothing (the other executors do its share, partition-engine.ts "Faults").
 */
const WORKER_URL = new URL("./partition-worker.ts", import.meta.url).href;

interface CrewMember {
  worker: Worker;
  ready: Promise<void>;
  alive: boolean;
}

const crew: CrewMember[] = [];
let nextEngineId = 1;

const released = new FinalizationRegistry<{ id: number; workers: Worker[] }>(({ id, workers }) => {
  for (const w of workers) w.postMessage({ engine: id, close: true });
});

function startMember(): CrewMember {
  const worker = new Worker(WORKER_URL);
  const m: CrewMember = { worker, ready: Promise.resolve(), alive: true };
  m.ready = new Promise<void>((r) => worker.addEventListener("message", () => r(), { once: true }));
  const dead = (): void => {
    m.alive = false;
  };
  worker.addEventListener("error", dead);
  worker.addEventListener("close", dead);
  worker.unref();
  return m;
}

/** A new engine id and `n` live workers of this thread's crew (started if there are fewer). */
export function joinCrew(owner: object, n: number): { id: number; workers: Worker[]; ready: Promise<void>[] } {
  for (let i = crew.length - 1; i >= 0; i--) if (!crew[i]!.alive) crew.splice(i, 1);
  while (crew.length < n) crew.push(startMember());
  const members = crew.slice(0, n);
  const id = nextEngineId++;
  const workers = members.map((m) => m.worker);
  released.register(owner, { id, workers }, owner);
  return { id, workers, ready: members.map((m) => m.ready) };
}

/** The engine `owner` (id) is closed: its workers drop its executor. */
export function leaveCrew(owner: object, id: number, workers: Worker[]): void {
  released.unregister(owner);
  for (const w of workers) w.postMessage({ engine: id, close: true });
}

/** @internal Live crew workers (tests). */
export function crewSize(): number {
  return crew.filter((m) => m.alive).length;
}
