import { Worker } from 'node:worker_threads';
import { lockcheck, type LockOrderReport } from '../../dist/index.js';
import { until as untilTruthy, type Truthy } from '../harness/bounds.mjs';

export const FIXTURE = new URL('../fixtures/check/steps.mjs', import.meta.url);

export type Step = readonly unknown[];
export interface Outcome {
  done?: boolean;
  error?: { name: string; code?: string; message: string; kind?: string };
  exitCode?: number;
  /** Kind of the LockOrderError a `['lockOrReport', k]` step got. */
  refused?: string;
  /** What the worker wrote to stderr (warnings). */
  stderr?: string;
  /** What a `['postReports']` step saw. */
  reports?: LockOrderReport[];
}

/** Every worker started by a test, terminated by `stopAll()` in `afterEach`. */
const started = new Set<Worker>();

/** Starts the step program in a worker; `result` settles with its message or its exit. */
export function spawn(
  locks: Record<string, unknown>,
  steps: Step[],
  coord: SharedArrayBuffer = new SharedArrayBuffer(256),
): { worker: Worker; threadId: number; result: Promise<Outcome> } {
  const worker = new Worker(FIXTURE, { workerData: { locks, steps, coord }, stderr: true });
  started.add(worker);
  let stderr = '';
  worker.stderr.setEncoding('utf8');
  worker.stderr.on('data', (d: string) => (stderr += d));
  const result = new Promise<Outcome>((resolve, reject) => {
    let got: Outcome | undefined;
    worker.on('message', (m: Outcome) => (got = { ...got, ...m }));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      started.delete(worker);
      // Let the last stderr chunks arrive before settling.
      setImmediate(() => resolve({ ...got, exitCode: code, stderr }));
    });
  });
  return { worker, threadId: worker.threadId, result };
}

/** Runs one worker's program to its end and returns the outcome. */
export async function runOne(locks: Record<string, unknown>, steps: Step[], coord?: SharedArrayBuffer): Promise<Outcome> {
  return spawn(locks, steps, coord).result;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((w) => w.terminate()));
  started.clear();
}

/** Reports of `kind` that involve lock class `lock`. */
export function reportsFor(kind: string, lock: string): LockOrderReport[] {
  return lockcheck.reports().filter((r) => r.kind === kind && r.locks.includes(lock));
}

/** Polls (every 20 ms) until `fn` returns a value, or fails after `ms`. */
export function until<T>(fn: () => T | undefined, ms = 10_000, what = 'condition'): Promise<Truthy<T>> {
  return untilTruthy(fn, ms, what, 20);
}
