import type { Worker } from 'node:worker_threads';
import { lockcheck, type LockOrderReport } from '../../dist/index.js';
import { until as untilTruthy, type Truthy } from '../harness/bounds.mjs';
import { Workers } from '../harness/workers.mjs';

export const FIXTURE = new URL('../fixtures/check/steps.mjs', import.meta.url);
/** The RWLock, Semaphore and Condition step program (same messages and outcome as `FIXTURE`). */
export const RW_FIXTURE = new URL('../fixtures/check/rw-steps.mjs', import.meta.url);

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

/** Every worker started by a test (harness/workers.mjs), terminated by `stopAll()` in `afterEach`. */
const crew = new Workers();

/**
 * Starts the step program (`fixture`: `FIXTURE` or `RW_FIXTURE`) in a worker; `result` settles
 * with its messages and its exit (an exit is no failure here: the outcome reports it, and tests
 * end workers with an `['exit']` step or `terminate()`), or rejects with its 'error'. Unbounded
 * here: tests bound what they await.
 */
export function spawn(
  locks: Record<string, unknown>,
  steps: Step[],
  coord: SharedArrayBuffer = new SharedArrayBuffer(256),
  fixture: URL = FIXTURE,
): { worker: Worker; threadId: number; result: Promise<Outcome> } {
  let got: Outcome | undefined;
  let fail!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const { worker, done, exited } = crew.start(
    fixture,
    { locks, steps, coord },
    {
      what: 'lockcheck step program',
      exitOk: true,
      workerOptions: { stderr: true },
      onMessage: (m: Outcome) => (got = { ...got, ...m }),
      onFailure: fail,
    },
  );
  // The program's last message, { done: true }, is the one `done` settles with.
  done.then(() => (got = { ...got, done: true })).catch(() => {});
  let stderr = '';
  worker.stderr.setEncoding('utf8');
  worker.stderr.on('data', (d: string) => (stderr += d));
  // Let the last stderr chunks arrive before settling.
  const ended = exited.then((code) => new Promise<Outcome>((resolve) => setImmediate(() => resolve({ ...got, exitCode: code, stderr }))));
  const result = Promise.race([failed, ended]);
  return { worker, threadId: worker.threadId, result };
}

/** Runs one worker's program to its end and returns the outcome. */
export async function runOne(locks: Record<string, unknown>, steps: Step[], coord?: SharedArrayBuffer): Promise<Outcome> {
  return spawn(locks, steps, coord).result;
}

export async function stopAll(): Promise<void> {
  await crew.terminateAll();
}

/** Reports of `kind` that involve lock class `lock`. */
export function reportsFor(kind: string, lock: string): LockOrderReport[] {
  return lockcheck.reports().filter((r) => r.kind === kind && r.locks.includes(lock));
}

/** Polls (every 20 ms) until `fn` returns a value, or fails after `ms`. */
export function until<T>(fn: () => T | undefined, ms = 10_000, what = 'condition'): Promise<Truthy<T>> {
  return untilTruthy(fn, ms, what, 20);
}
