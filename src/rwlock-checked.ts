/**
 * `RWLock`'s paths while the lock-order verifier is on: each public call tests `checking`
 * (core/hooks.ts) once and, when it is true, takes the checked twin of its path below, which
 * calls the verifier's hooks around the same steps.
 *
 * For the verifier, read holds are shared (`shared = true`), the write and the upgradable read
 * holds exclusive; the lock is writer-preferring (`readerPreferring` false), so a read that can
 * wait behind a writer orders like an exclusive acquisition. A read taken while this thread
 * already holds a read or the upgradable lock never waits (`readLockRecursive`), so it is
 * reported like a plain `tryLock()`: `onAcquired` only, no order edge, no recursion report.
 * `upgrade` converts an exclusive hold into another (no hook but the checked wait);
 * `downgrade` is a write release followed by a read acquisition. The async forms call the hooks
 * inline (rwlock.ts, rwlock-async.ts), and so do the exclusive `try*()` paths (rwlock-paths.ts
 * `tryExclusive`).
 */
import { onAcquire, onAcquired, tryChecked } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observing } from './core/observe.js';
import type { RWLockGuard } from './rwlock-guard.js';
import { took, type RWLockLocal } from './rwlock-local.js';
import { fastRead, READ_MODE, readContended, tryIn, type ExclusiveMode } from './rwlock-paths.js';
import { readsAlready } from './rwlock-read-slots.js';

/** `readLock()` up to the count of the hold, which the caller makes (`#tookRead`). */
export function readLockChecked(l: RWLockLocal): void {
  // A thread already reading never waits (readLockRecursive): no order edge, like tryLock().
  if (!readsAlready(l)) onAcquire(l.rw, true, false);
  if (!fastRead(l)) readContended(l, 'readLock', Infinity);
  else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'read'); // observe
  onAcquired(l.rw, true, false);
}

/** `tryReadLock(timeoutMs)`: whether it took a read lock (the caller then counts it). */
export function tryReadLockChecked(l: RWLockLocal, timeoutMs: number | undefined): boolean {
  // A thread already reading never waits (readLockRecursive): even a timed try orders nothing.
  return tryChecked(l.rw, true, timeoutMs !== undefined && !readsAlready(l), () => tryIn(l, READ_MODE, timeoutMs));
}

/** `writeLock()`, `upgradableReadLock()`: the same steps as their inline paths, between the hooks. */
export function exclusiveLockChecked(l: RWLockLocal, m: ExclusiveMode): RWLockGuard {
  onAcquire(l.rw, false, false);
  if (!m.lockFast(l)) m.contended(l, Infinity);
  else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, m.mode); // observe
  onAcquired(l.rw, false, false);
  return took(l, m);
}
