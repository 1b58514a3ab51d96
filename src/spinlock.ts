/**
 * `SpinLock`: test-and-test-and-set with exponential backoff, for critical sections of tens of
 * nanoseconds. Same state word as `Mutex` (see `word-lock.ts`, `raw/mutex.ts`), tuned differently:
 * it spins much longer before sleeping, backs off between probes, and never hands off (no
 * fairness: throughput first).
 *
 * It does not collapse when oversubscribed: spinning is bounded by an adaptive budget that shrinks
 * each time a spin fails, and stops as soon as any thread sleeps on the word; then it parks with
 * `Atomics.wait` like a mutex, so a descheduled holder is not fought over by spinners.
 */
import type { FROM_HANDLE, Handle } from './core/layout.js';
import { type SpinLockOptions, WordLock } from './word-lock.js';

/** A spin lock in shared memory (TTAS + backoff, then park). */
export class SpinLock extends WordLock {
  /** Places a new SpinLock: in a fresh SharedArrayBuffer, or at `options.buffer`/`byteOffset`. */
  constructor(options?: SpinLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: SpinLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    super('SpinLock', options, handle);
  }

  /** Attaches to the SpinLock a handle describes (`WordLock.from`); throws if the handle is of another kind. */
  declare static from: (handle: Handle) => SpinLock;
}
