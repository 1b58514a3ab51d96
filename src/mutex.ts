/**
 * `Mutex`: a futex mutex for worker_threads. Blocking `lock()` in workers, `lockAsync()` for the
 * event loop, both on one state word (see `word-lock.ts` for the layout, `raw/mutex.ts` for the
 * state machine).
 *
 * Uncontended `lock()` + `unlock()` is one CAS (0 → owner) and one CAS (owner → 0); no notify.
 * Contended: a short adaptive load-only spin while nobody is parked, then `Atomics.wait`. A waiter
 * parked for more than 1 ms gets the lock handed to it on the next release, so barging threads
 * cannot starve it.
 */
import { FROM_HANDLE, type Handle, type PlacementOptions } from './core/layout.js';
import { WORD_LOCK_BYTES, WordLock } from './word-lock.js';

/** Options of `new Mutex()`: placement, class name and verifier rank. */
export type MutexOptions = PlacementOptions;

/** A mutual-exclusion lock in shared memory, owned by a thread. */
export class Mutex extends WordLock {
  /** Bytes one Mutex occupies at a placement. */
  static readonly BYTE_LENGTH = WORD_LOCK_BYTES;

  constructor(options?: MutexOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: MutexOptions | typeof FROM_HANDLE, handle?: unknown) {
    super('Mutex', options, handle);
  }

  /** Attaches to the Mutex a handle describes (from `mutex.handle`, possibly another thread's). */
  static from(handle: Handle): Mutex {
    return attachHandle(handle);
  }
}

/**
 * `Mutex.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_Mutex` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): Mutex {
  return new Mutex(FROM_HANDLE, handle);
}
