/**
 * `RWLock`'s event-loop acquisitions of the write lock and the upgradable read lock, and
 * `upgradeAsync`. (`readLockAsync` is in rwlock.ts: it counts the read hold in the object's
 * private fields.) Each rejects with TimeoutError or the signal's reason; the verifier's hooks
 * mark them async (held by a task, core/hooks.ts).
 */
import { abortReason } from './core/errors.js';
import { parseWaitOptions, type WaitOptions } from './core/futex.js';
import { contendedAsync } from './core/acquire.js';
import { checking, onAcquire, onAcquired } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observing } from './core/observe.js';
import { tryUpgrade as rawTryUpgrade, upgradeAsyncSlow } from './raw/rwlock.js';
import type { RWLockGuard } from './rwlock-guard.js';
import { guardFor, own, ownUpgraded, upgradedGuardFor, type RWLockLocal } from './rwlock-local.js';
import { checkUpgradable } from './rwlock-misuse.js';
import type { ExclusiveMode } from './rwlock-paths.js';

/** `rw.writeLockAsync(options)`, `rw.upgradableReadLockAsync(options)`: an exclusive hold on the event loop. */
export async function exclusiveLockAsync(l: RWLockLocal, m: ExclusiveMode, options?: WaitOptions): Promise<RWLockGuard> {
  const wait = parseWaitOptions(options);
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (checking) onAcquire(l.rw, false, true);
  if (!m.tryFast(l)) {
    // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
    await contendedAsync(l.rw, wait.signal, () => m.slowAsync(l, wait, () => own(l, m)), m.mode);
  } else {
    own(l, m); // recorded before any event subscriber runs
    if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, m.mode); // observe
  }
  if (checking) onAcquired(l.rw, false, true);
  return guardFor(l, m);
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
