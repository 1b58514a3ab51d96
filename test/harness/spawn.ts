// Workers that report once when done ({ done: true, result | error }), each bounded in time and
// terminated after every test, so a deadlocked worker fails its test instead of hanging the run.
import { afterEach } from 'vitest';
import { Worker } from 'node:worker_threads';

export interface Spawned {
  worker: Worker;
  /** The worker's final result (rejects on error, early exit or timeout). */
  done: Promise<any>;
  /** Resolves on the worker's first non-final message. */
  firstMessage: Promise<any>;
}

/** A `spawn(workerData, timeoutMs?)` for `fixture`; registers the per-test cleanup. */
export function spawner(fixture: URL, defaultTimeoutMs: number) {
  const live = new Set<Worker>();
  afterEach(async () => {
    // A deadlocked worker must not outlive its test.
    await Promise.all([...live].map((w) => w.terminate()));
    live.clear();
  });
  return function spawn(workerData: Record<string, unknown>, timeoutMs = defaultTimeoutMs): Spawned {
    const worker = new Worker(fixture, { workerData });
    live.add(worker);
    let onFirst!: (m: unknown) => void;
    const firstMessage = new Promise((r) => (onFirst = r));
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${workerData.mode} timed out`)), timeoutMs);
      worker.on('message', (m) => {
        if (!m.done) return onFirst(m);
        clearTimeout(timer);
        if (m.error) reject(new Error(m.error));
        else resolve(m.result);
      });
      worker.on('error', (e) => (clearTimeout(timer), reject(e)));
      worker.on('exit', (code) => (clearTimeout(timer), reject(new Error(`worker exited (${code}) before finishing`))));
    });
    done.catch(() => {}); // reported where awaited; never as an unhandled rejection
    return { worker, done, firstMessage };
  };
}
