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
import type { Handle } from './core/layout.js';
import { WordLock, type WordLockKind } from './word-lock.js';

/** A spin lock in shared memory (TTAS + backoff, then park). `new SpinLock(options?)` places one (see `WordLock`'s constructor). */
export class SpinLock extends WordLock {
  /** @internal */
  protected static override readonly kind: WordLockKind = 'SpinLock';

  /** Attaches to the SpinLock a handle describes (`WordLock.from`); throws if the handle is of another kind. */
  declare static from: (handle: Handle) => SpinLock;
}
