/**
 * Small assertion helpers every suite uses: what a call threw, what a promise rejected with,
 * whether a promise has settled yet, a LockError's code, and a bounded wait for a condition.
 */
import { expect } from 'vitest';
import { LockError } from '../../dist/index.js';
import { delay } from './remote.js';

/** Resolves once `cond()` holds (polled every 2 ms); rejects after `ms` naming `what`. */
export { until } from './bounds.mjs';

/** What `fn` threw; fails if it threw nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, nothing was thrown');
}

/** What `p` rejected with; fails if it fulfilled. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, the promise fulfilled');
}

/** Resolves to 'pending' if `p` has not settled by the next macrotask. */
export async function state(p: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let s: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  p.then(
    () => (s = 'fulfilled'),
    () => (s = 'rejected'),
  );
  await delay(0);
  return s;
}

/** `e` is a LockError with `code`. */
export function expectLockError(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(LockError);
  expect((e as LockError).code).toBe(code);
}
