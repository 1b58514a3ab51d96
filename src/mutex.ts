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
import type { Handle } from './core/layout.js';
import { WordLock, type WordLockKind } from './word-lock.js';

/** A mutual-exclusion lock in shared memory, owned by a thread. `new Mutex(options?)` places one (see `WordLock`'s constructor). */
export class Mutex extends WordLock {
  /** @internal */
  protected static override readonly kind: WordLockKind = 'Mutex';

  /** Attaches to the Mutex a handle describes (`WordLock.from`); throws if the handle is of another kind. */
  declare static from: (handle: Handle) => Mutex;
}
