/**
 * `RWLock`'s event-loop acquisitions of the write lock and the upgradable read lock, and
 * `upgradeAsync`. (`readLockAsync` is in rwlock.ts: it counts the read hold in the object's
 * private fields.) Each rejects with TimeoutError or the signal's reason; the verifier's hooks
 * mark them async (held by a task, core/hooks.ts).
 */
import { abortReason } from './core/errors.js';
import { parseWaitOptions, type ParsedWait, type WaitOptions } from './core/futex.js';
import { contendedAsync } from './core/acquire.js';
import { checking, onAcquire, onAcquired } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observing } from './core/observe.js';
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

/** What the write and the upgradable event-loop acquisitions differ in: one row each. */
interface AsyncMode {
  /** The event `mode`. */
  readonly mode: 'write' | 'upgradable';
  /** The fast path: true if the lock was taken at once. */
  tryFast(l: RWLockLocal): boolean;
  /** The slow path (raw/rwlock.ts); `won` runs in the acquiring turn. */
  slow(l: RWLockLocal, wait: ParsedWait, won: () => void): Promise<number>;
  /** Names this thread in the hold's owner word. */
  own(l: RWLockLocal): void;
  /** The new hold's guard. */
  guardFor(l: RWLockLocal): RWLockGuard;
}

const WRITE: AsyncMode = {
  mode: 'write',
  tryFast: (l) => rawTryWriteLock(l.a, l.i),
  slow: (l, wait, won) => writeLockAsyncSlow(l.a, l.i, wait, l.rw.name, l.onOwnerDied, won),
  own: ownWrite,
  guardFor: writeGuardFor,
};

const UPGRADABLE: AsyncMode = {
  mode: 'upgradable',
  tryFast: tryUpgradableFast,
  slow: (l, wait, won) => readLockAsyncSlow(l.a, l.i, wait, l.rw.name, true, l.onOwnerDied, won),
  own: ownUpgradable,
  guardFor: upgradableGuardFor,
};

/** `rw.writeLockAsync(options)`. */
export function writeLockAsync(l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  return lockAsyncIn(WRITE, l, options);
}

/** `rw.upgradableReadLockAsync(options)`. */
export function upgradableReadLockAsync(l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  return lockAsyncIn(UPGRADABLE, l, options);
}

/** An exclusive (write or upgradable) acquisition on the event loop. */
async function lockAsyncIn(m: AsyncMode, l: RWLockLocal, options?: WaitOptions): Promise<RWLockGuard> {
  const wait = parseWaitOptions(options);
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (checking) onAcquire(l.rw, false, true);
  if (!m.tryFast(l)) {
    // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
    await contendedAsync(l.rw, wait.signal, () => m.slow(l, wait, () => m.own(l)), m.mode);
  } else {
    m.own(l); // recorded before any event subscriber runs
    if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, m.mode); // observe
  }
  if (checking) onAcquired(l.rw, false, true);
  return m.guardFor(l);
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
