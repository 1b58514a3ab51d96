/**
 * Stress harness: runs N real `worker_threads` against one lock and returns what the shared
 * counters say. Reusable for any primitive with an exclusive side: the worker picks the lock by
 * `kind` from an adapter module (default `adapters.mjs`: Mutex, SpinLock, TicketLock).
 *
 * Every run is bounded (`within`, bounds.mjs): if the workers have not all reported within
 * `timeoutMs` the run fails with each worker's progress (so a deadlock shows where it stuck), and
 * its workers are terminated in `finally`. Workers of a run that succeeded are kept (unref'd) for
 * the next run, since spawning dominates the run time on a loaded 2-core machine;
 * `closeStressPool()` ends them. Workers start and end through workers.mjs.
 */
import type { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { poll, within } from './bounds.mjs';
import { Workers } from './workers.mjs';
import { countersByteLength, READY, readTotals, readWorker } from './counters.mjs';

/** See stress-worker.mjs for what each mode does. */
export type StressMode = 'sync' | 'try' | 'async' | 'asyncTimed' | 'mixed';

/** What one worker does; every field overrides the run's default for that worker. */
export interface WorkerPlan {
  mode?: StressMode;
  /**
   * Most acquisitions to make (default 1000, or unlimited when `durationMs` is set); `Infinity`
   * with no duration runs until another worker sets STOP (`stopOthersWhenDone`).
   */
  iterations?: number;
  /**
   * Run for this long after the start barrier (ms), then stop. Preferred for stress: every worker
   * overlaps with every other for the whole span, whatever the scheduler does at start-up.
   */
  durationMs?: number;
  /** Loop iterations burnt between the read and the write of the counter. */
  work?: number;
  /** Loop iterations burnt between a release and the next acquisition. */
  outsideWork?: number;
  /** Timeout of each `tryLock(ms)` / timed `lockAsync` in 'try', 'asyncTimed' and 'mixed' modes. */
  tryTimeoutMs?: number;
  /** Measure each acquisition's wait (reported as maxWaitMs). */
  measureWait?: boolean;
  /** When this worker has done its iterations, tell the others (iterations: Infinity) to stop. */
  stopOthersWhenDone?: boolean;
}

export interface StressOptions extends WorkerPlan {
  /** Adapter name, e.g. 'Mutex'. */
  kind: string;
  /** The lock's handle, posted to every worker. */
  handle: unknown;
  /** Number of workers (ignored when `plans` is given). */
  workers?: number;
  /** One plan per worker, for runs where workers differ. */
  plans?: WorkerPlan[];
  /** Adapter module URL (default: `./adapters.mjs`). */
  adapters?: string | URL;
  /** Hard bound for the whole run, ms. */
  timeoutMs?: number;
  /**
   * The counters buffer to use (from `newCounters`), so the caller can watch the run, e.g. wait
   * with `whenReady` until every worker is at its loop.
   */
  counters?: SharedArrayBuffer;
  /**
   * Spawn one-shot workers for this run instead of reusing pooled ones. Needed where what keeps
   * a worker alive matters (a pooled worker's message port keeps its event loop alive).
   */
  fresh?: boolean;
}

export interface WorkerReport {
  ops: number;
  tryFailures: number;
  maxWaitMs: number;
  ticks: number;
}

export interface StressResult {
  /** Final value of the protected (plainly incremented) counter. */
  counter: number;
  /** Acquisitions the workers completed: what `counter` must equal under a correct lock. */
  expected: number;
  /** `expected - counter`: updates lost to overlapping critical sections. */
  lost: number;
  /** Entries into the critical section that found another thread inside. */
  violations: number;
  /** Entries that saw the counter and its mirror disagree. */
  torn: number;
  /** MIRROR === -COUNTER at the end. */
  mirrorOk: boolean;
  workers: WorkerReport[];
  elapsedMs: number;
}

const DEFAULT_ADAPTERS = new URL('./adapters.mjs', import.meta.url).href;
const WORKER = new URL('./stress-worker.mjs', import.meta.url);

type Plan = Required<Omit<WorkerPlan, 'durationMs'>> & { durationMs: number | undefined };

const DEFAULT_PLAN: Plan = {
  mode: 'sync',
  iterations: 1000,
  durationMs: undefined,
  work: 50,
  outsideWork: 0,
  tryTimeoutMs: 5,
  measureWait: false,
  stopOthersWhenDone: false,
};

/** What a run does with one stress worker's messages, 'error' and exit while it uses it. */
interface Route {
  message(m: { type?: string } & WorkerReport): void;
  error(e: Error): void;
  exit(code: number): void;
}

/** One stress worker; pooled ones serve one run after another. */
interface StressWorker {
  readonly worker: Worker;
  /** The run using it now (none while it idles in the pool). */
  route: Route | undefined;
  /** Ends it, a deadlocked one included. */
  terminate(): Promise<void>;
}

/**
 * Starts a stress worker through its own `Workers` crew, so that a failed run terminates exactly
 * its own workers (pooled ones of other runs stay). Its exit is judged by the run using it, not
 * by the crew (`exitOk`): whether the report came first, and how far the worker got.
 */
function startWorker(workerData: unknown): StressWorker {
  const crew = new Workers();
  const { worker, exited } = crew.start(WORKER, workerData, {
    what: 'stress worker',
    exitOk: true,
    onMessage: (m) => w.route?.message(m),
    onFailure: (e) => w.route?.error(e as Error),
  });
  const w: StressWorker = { worker, route: undefined, terminate: () => crew.terminateAll() };
  void exited.then((code) => {
    // A pooled worker that died idle must not be handed to the next run.
    const at = idle.indexOf(w);
    if (at >= 0) idle.splice(at, 1);
    w.route?.exit(code);
  });
  return w;
}

/** Idle pooled workers, reused by later runs (spawning is the slow part on a loaded machine). */
const idle: StressWorker[] = [];

function takeWorker(): StressWorker {
  const w = idle.pop() ?? startWorker({ pooled: true });
  w.worker.ref();
  return w;
}

/** Terminates the idle pooled workers (call from `afterAll`; they are unref'd meanwhile). */
export async function closeStressPool(): Promise<void> {
  await Promise.all(idle.splice(0).map((w) => w.terminate()));
}

/** Runs the stress workers to completion (or failure) and returns the counters. */
export async function runStress(options: StressOptions): Promise<StressResult> {
  const { kind, handle, workers: n = 2, plans: givenPlans, adapters = DEFAULT_ADAPTERS, timeoutMs = 15_000, fresh = false } = options;
  const base: Plan = { ...DEFAULT_PLAN };
  for (const k of Object.keys(DEFAULT_PLAN) as (keyof WorkerPlan)[]) {
    if (options[k] !== undefined) (base as Record<string, unknown>)[k] = options[k];
  }
  const plans = (givenPlans ?? Array.from({ length: n }, (): WorkerPlan => ({}))).map((p): Plan => {
    const plan = { ...base, ...p };
    // A timed run is bounded by its duration unless a count was asked for explicitly.
    if (plan.durationMs !== undefined && p.iterations === undefined && options.iterations === undefined) plan.iterations = Infinity;
    return plan;
  });
  const count = plans.length;
  const counters = options.counters ?? newCounters(count);
  if (counters.byteLength < countersByteLength(count)) throw new RangeError(`options.counters is too small for ${count} workers`);
  const c = new Int32Array(counters);
  const started = performance.now();
  const used: StressWorker[] = [];
  let ok = false;
  try {
    const reports = plans.map((plan, index) => {
      const run = { ...plan, adapters: String(adapters), kind, handle, counters, index, workers: count };
      const w = fresh ? startWorker(run) : takeWorker();
      used.push(w);
      const report = new Promise<WorkerReport>((resolve, reject) => {
        const what = `stress worker ${index} (${plan.mode})`;
        let report: WorkerReport | undefined;
        w.route = {
          message: (m) => {
            if (m?.type !== 'done') return;
            report = { ops: m.ops, tryFailures: m.tryFailures, maxWaitMs: m.maxWaitMs, ticks: m.ticks };
            // A pooled worker's run ends at its report; a one-shot worker's at its exit.
            if (!fresh) {
              w.route = undefined;
              resolve(report);
            }
          },
          error: (e) => {
            w.route = undefined;
            reject(new Error(`${what} failed: ${e.stack ?? e}`));
          },
          exit: (code) => {
            w.route = undefined;
            if (report !== undefined && code === 0) resolve(report);
            else
              reject(
                new Error(
                  `${what} exited with code ${code} ` +
                    (report === undefined
                      ? `before finishing, after ${readWorker(c, index).ops} ops (did its event loop drain during an async wait?)`
                      : 'after finishing'),
                ),
              );
          },
        };
      });
      if (!fresh) w.worker.postMessage({ type: 'run', run });
      return report;
    });
    const all = await within(Promise.all(reports), timeoutMs, () => `stress run (${kind}) did not finish (${progress(c, plans)})`);
    ok = true;
    const totals = readTotals(c);
    const expected = all.reduce((s, r) => s + r.ops, 0);
    return {
      ...totals,
      expected,
      lost: expected - totals.counter,
      workers: all,
      elapsedMs: performance.now() - started,
    };
  } finally {
    if (ok && !fresh) {
      // Every worker reported and is idle again: keep it for the next run.
      for (const w of used) {
        w.worker.unref();
        idle.push(w);
      }
    } else {
      // Whatever happened (deadlock, crash, one-shot run), no worker of this run outlives it.
      for (const w of used) w.route = undefined;
      await Promise.all(used.map((w) => w.terminate()));
    }
  }
}

/** A zeroed counters buffer for `workers` workers. */
export function newCounters(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(countersByteLength(workers));
}

/** Resolves once `workers` workers have passed the start barrier of the run using `counters`. */
export async function whenReady(counters: SharedArrayBuffer, workers: number, timeoutMs = 15_000): Promise<void> {
  const c = new Int32Array(counters);
  const ready = (): boolean => Atomics.load(c, READY) >= workers;
  if (!(await poll(ready, timeoutMs, 5))) throw new Error(`only ${Atomics.load(c, READY)}/${workers} workers started within ${timeoutMs} ms`);
}

function progress(c: Int32Array, plans: Plan[]): string {
  return plans
    .map((p, w) => {
      const { ops, tryFailures, maxWaitUs } = readWorker(c, w);
      return `worker ${w} (${p.mode}) ${ops}/${p.iterations} ops${tryFailures ? `, ${tryFailures} tryLock timeouts` : ''}${p.measureWait ? `, max wait ${maxWaitUs / 1000} ms` : ''}`;
    })
    .join('; ');
}

/** Asserts the run saw perfect exclusion: no lost update, nobody inside twice, nothing torn. */
export function expectExclusive(r: StressResult): void {
  expect({ lost: r.lost, violations: r.violations, torn: r.torn, mirrorOk: r.mirrorOk }).toEqual({
    lost: 0,
    violations: 0,
    torn: 0,
    mirrorOk: true,
  });
  expect(r.counter).toBe(r.expected);
}

/** True when the run caught a broken lock: lost updates, overlapping entries or torn views. */
export function caughtBrokenLock(r: StressResult): boolean {
  return r.lost !== 0 || r.violations !== 0 || r.torn !== 0 || !r.mirrorOk;
}
