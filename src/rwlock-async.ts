/**
 * `RWLock`'s event-loop acquisitions of the write lock and the upgradable read lock, and
 * `upgradeAsync`. (`readLockAsync` is in rwlock.ts: it counts the read hold in the object's
 * private fields.) Each rejects with TimeoutError or the signal's reason; the verifier's hooks
 * mark them async (held by a task, core/hooks.ts).
 */
import { abortReason } from './core/errors.js';
import { now, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { checking, onAcquire, onAcquired } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observeAsync, observing, watching } from './core/observe.js';
import {
  readLockAsyncSlow,
  tryUpgrade as rawTryUpgrade,
  tryWriteLock as rawTryWriteLock,
  upgradeAsyncSlow,
  writeLockAsyncSlow,
} from './raw/rwlock.js';
import type { RWLockGuard } from './rwlock-guard.js';
import {
  ownUpgradable,
  ownUpgraded,
  ownWrite,
  upgradableGuardFor,
  upgradedGuardFor,
  writeGuardFor,
  type RWLockLocal,
} from './rwlock-local.js';
import { checkUpgradable } from './rwlock-misuse.js';
import { tryUpgradableFast } from './rwlock-paths.js';

/** `rw.writeLockAsync(options)`. */
export async function writeLockAsync(l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  const wait = parseWaitOptions(options);
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (checking) onAcquire(l.rw, false, true);
  if (!rawTryWriteLock(l.a, l.i)) {
    const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
    // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
    const slow = writeLockAsyncSlow(l.a, l.i, wait, l.rw.name, l.onOwnerDied, () => ownWrite(l));
    await (waitStart >= 0 ? observeAsync(l.rw, waitStart, wait.signal, slow, 'write') : slow);
  } else {
    ownWrite(l); // recorded before any event subscriber runs
    if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'write'); // observe
  }
  if (checking) onAcquired(l.rw, false, true);
  return writeGuardFor(l);
}

/** `rw.upgradableReadLockAsync(options)`. */
export async function upgradableReadLockAsync(l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  const wait = parseWaitOptions(options);
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (checking) onAcquire(l.rw, false, true);
  if (!tryUpgradableFast(l)) {
    const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
    // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
    const slow = readLockAsyncSlow(l.a, l.i, wait, l.rw.name, true, l.onOwnerDied, () => ownUpgradable(l));
    await (waitStart >= 0 ? observeAsync(l.rw, waitStart, wait.signal, slow, 'upgradable') : slow);
  } else {
    ownUpgradable(l); // recorded before any event subscriber runs
    if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'upgradable'); // observe
  }
  if (checking) onAcquired(l.rw, false, true);
  return upgradableGuardFor(l);
}

/** `rw.upgradeAsync(options)`: on rejection this thread still holds the upgradable read lock. */
export async function upgradeAsync(l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  const wait = parseWaitOptions(options);
  checkUpgradable(l, 'upgradeAsync');
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (!rawTryUpgrade(l.a, l.i)) {
    // The owner words move in the upgrading turn (core/park.ts `won`), not after the await.
    await upgradeAsyncSlow(l.a, l.i, wait, l.rw.name, l.onOwnerDied, () => ownUpgraded(l));
  } else ownUpgraded(l);
  return upgradedGuardFor(l);
}
