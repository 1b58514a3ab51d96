/**
 * Bounded worker threads, one way for the tests (`spawn.ts` wraps it for vitest; `stress.ts`,
 * `rpc.ts` and the RWLock, robust and check helpers start through it), the torture
 * (`scripts/torture.mjs`) and the benchmark (`native-bench/lib/harness.mjs`): start a worker
 * with its workerData, count its 'error' and an exit it did not announce as failures, bound in
 * time what is awaited from it, and terminate every worker still running at the end.
 *
 * A worker announces its end by posting `{ done: true, result }` (or `{ done: true, error }`, a
 * message): `done` settles with it, and its exit after that is no failure. Its other messages go
 * to `onMessage`; the first one also resolves `firstMessage`.
 *
 *   const crew = new Workers();
 *   try {
 *     for (let i = 0; i < n; i++) crew.start(url, { index: i, ctl });
 *     await crew.until(() => Atomics.load(ctl, READY) === n, 30_000, 'workers to attach');
 *   } finally {
 *     await crew.terminateAll();
 *   }
 */
import { Worker } from 'node:worker_threads';
import { until } from './bounds.mjs';

export class Workers {
  /** What went wrong so far, in order: 'error' events, exits before `{ done: true }`, time bounds passed. */
  failures = [];
  /** Started and not yet exited. */
  #live = new Set();
  /** Being terminated by `terminateAll`: their exit is the end asked for, not a failure. */
  #ending = new WeakSet();

  /**
   * Starts a worker running `url` with `workerData`. Options: `timeoutMs` (default none): `done`
   * rejects, and a failure is counted, if the worker has not announced its end by then; `what`
   * names it in failures (default 'worker'); `exitOk`: an exit before announcing is no failure
   * (workers killed on purpose); `onMessage(m)` for its messages but the final one; `onFailure(e)`
   * for each failure of this worker (an 'error' event passes the worker's own error);
   * `workerOptions`: the rest of the `Worker` constructor's options (`env`, `stderr`, …), for a
   * worker that must start with its own environment or whose output the caller reads.
   */
  start(url, workerData, { timeoutMs = Infinity, what = 'worker', exitOk = false, onMessage, onFailure, workerOptions } = {}) {
    const worker = new Worker(url, { ...workerOptions, workerData });
    this.#live.add(worker);
    let failed = false;
    let finished = false;
    const fail = (e) => {
      if (failed) return; // an 'error' is followed by an 'exit': one failure
      failed = true;
      this.failures.push(e);
      onFailure?.(e);
    };
    let onFirst;
    const firstMessage = new Promise((r) => (onFirst = r));
    const exited = new Promise((r) => worker.once('exit', r));
    const done = new Promise((resolve, reject) => {
      // No timer for an unbounded worker (a setTimeout of Infinity would fire at once).
      const timer =
        timeoutMs === Infinity
          ? undefined
          : setTimeout(() => {
              const e = new Error(`${what} timed out after ${timeoutMs} ms`);
              fail(e);
              reject(e);
            }, timeoutMs);
      worker.on('message', (m) => {
        if (m?.done !== true) {
          onFirst(m);
          onMessage?.(m);
          return;
        }
        finished = true;
        clearTimeout(timer);
        if (m.error) reject(new Error(m.error));
        else resolve(m.result);
      });
      worker.on('error', (e) => {
        clearTimeout(timer);
        fail(e);
        reject(e);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        this.#live.delete(worker);
        const e = new Error(`${what} exited (${code}) before finishing`);
        if (!finished && !exitOk && !this.#ending.has(worker)) fail(e);
        reject(e); // no-op once settled
      });
    });
    done.catch(() => {}); // reported where awaited (or in `failures`); never as an unhandled rejection
    return { worker, done, firstMessage, exited };
  }

  /** Throws the first failure, if any. */
  check() {
    if (this.failures.length > 0) throw this.failures[0];
  }

  /** `until(pred, …)` from bounds.mjs that also ends, with the first failure, as soon as a worker fails. */
  async until(pred, timeoutMs, what, everyMs) {
    await until(() => this.failures.length > 0 || pred(), timeoutMs, what, everyMs);
    this.check();
  }

  /** Terminates every worker still running (a deadlocked one included); their exits are no failures. */
  async terminateAll() {
    const live = [...this.#live];
    this.#live.clear();
    for (const w of live) this.#ending.add(w);
    await Promise.all(live.map((w) => w.terminate()));
  }
}
