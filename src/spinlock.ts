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
import { FROM_HANDLE, type Handle, type PlacementOptions } from './core/layout.js';
import { WORD_LOCK_BYTES, WordLock } from './word-lock.js';

/** Options of `new SpinLock()`: placement, class name and verifier rank. */
export type SpinLockOptions = PlacementOptions;

/** A spin lock in shared memory (TTAS + backoff, then park). */
export class SpinLock extends WordLock {
  /** Bytes one SpinLock occupies at a placement. */
  static readonly BYTE_LENGTH = WORD_LOCK_BYTES;

  constructor(options?: SpinLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: SpinLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    super('SpinLock', options, handle);
  }

  /** Attaches to the SpinLock a handle describes. */
  static from(handle: Handle): SpinLock {
    return attachHandle(handle);
  }
}

/**
 * `SpinLock.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_SpinLock` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): SpinLock {
  return new SpinLock(FROM_HANDLE, handle);
}
