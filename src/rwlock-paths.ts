/**
 * The acquisition paths behind `RWLock`'s public methods, past their one-CAS fast paths: the read
 * fast path's recursion case, the plain and timed `try*()` paths, the blocking upgrade, and the
 * contended paths, which are observed (stats, events) and, while the verifier is on, run in
 * watchdog-sized steps.
 */
import { checkTimeout, deadlineAfter } from './core/futex.js';
import { contendedWait } from './core/acquire.js';
import { SpinBudget } from './core/spin.js';
import { OWNER_ID } from './core/thread.js';
import { checking, waitChecked } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observing } from './core/observe.js';
import type { LockEventMode } from './core/events.js';
import {
  readLockRecursive,
  readLockSlow,
  reapDeadOwners,
  tryReadLock as rawTryReadLock,
  tryUpgrade as rawTryUpgrade,
  tryUpgradableRead as rawTryUpgradableRead,
  tryWriteLock as rawTryWriteLock,
  UPGRADABLE,
  UPGRADABLE_OWNER,
  upgradeSlow,
  WRITER_OWNER,
  writeLockSlow,
} from './raw/rwlock.js';
import type { RWLockGuard } from './rwlock-guard.js';
import { tookUpgradable, upgraded, wrote, type RWLockLocal } from './rwlock-local.js';
import { checkCanWaitForUpgradable, checkCanWaitForWrite, checkNotWriter, checkUpgradable, recursive } from './rwlock-misuse.js';
import { readsAlready, readsInThread } from './rwlock-read-slots.js';

/** This thread's spin budgets for every RWLock. */
const READ_BUDGET = new SpinBudget(4, 100);
const WRITE_BUDGET = new SpinBudget(4, 100);

/**
 * Read fast path: the raw one-CAS attempt (no load of the state line first, raw/rwlock.ts), or,
 * only when readers are kept out, an unconditional add for a thread that already reads.
 */
export function fastRead(l: RWLockLocal): boolean {
  if (rawTryReadLock(l.a, l.i)) return true;
  // Kept out: a thread that already reads must not wait behind a writer that waits for it.
  if (readsAlready(l)) {
    readLockRecursive(l.a, l.i);
    return true;
  }
  return false;
}

/** Upgradable fast path. */
export function tryUpgradableFast(l: RWLockLocal): boolean {
  // One CAS from a free word to "one reader, upgradable".
  return Atomics.compareExchange(l.a, l.i, 0, 1 | UPGRADABLE) === 0 || rawTryUpgradableRead(l.a, l.i);
}

/** A failed plain try: release a dead holder's hold if there is one; true if it did. */
function reaped(l: RWLockLocal): boolean {
  return reapDeadOwners(l.a, l.i, l.onOwnerDied) > 0;
}

// ---- try paths (unchecked; rwlock-checked.ts wraps them) ----------------------------------------

/** `tryReadLock(timeoutMs)`: whether it took a read lock (the caller then counts it, `#tookRead`). */
export function tryRead(l: RWLockLocal, timeoutMs: number | undefined): boolean {
  if (!fastRead(l)) {
    if (timeoutMs === undefined) {
      // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
      if (!reaped(l) || !fastRead(l)) return false;
    } else if (!readContended(l, 'tryReadLock', deadlineAfter(timeoutMs))) return false;
  } else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'read'); // observe
  return true;
}

/** `tryWriteLock(timeoutMs)`: whether this thread now holds the write lock. */
export function tryWrite(l: RWLockLocal, timeoutMs: number | undefined): boolean {
  if (!rawTryWriteLock(l.a, l.i)) {
    if (timeoutMs === undefined) {
      // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
      if (!reaped(l) || !rawTryWriteLock(l.a, l.i)) return false;
    } else if (!writeContended(l, deadlineAfter(timeoutMs))) return false;
  } else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'write'); // observe
  wrote(l);
  return true;
}

/** `tryUpgradableReadLock(timeoutMs)`: whether this thread now holds the upgradable read lock. */
export function tryUpgradable(l: RWLockLocal, timeoutMs: number | undefined): boolean {
  if (!tryUpgradableFast(l)) {
    if (timeoutMs === undefined) {
      // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
      if (!reaped(l) || !tryUpgradableFast(l)) return false;
    } else if (!upgradableContended(l, deadlineAfter(timeoutMs))) return false;
  } else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, 'upgradable'); // observe
  tookUpgradable(l);
  return true;
}

// ---- upgrade --------------------------------------------------------------------------------------

/** `rw.upgrade()`: blocks until the readers present have left; the write guard. */
export function upgradeBlocking(l: RWLockLocal): RWLockGuard {
  checkUpgradable(l, 'upgrade');
  if (!rawTryUpgrade(l.a, l.i)) {
    if (readsInThread(l)) throw recursive(l, 'upgrade', 'a plain read lock as well');
    upgradeWait(l, Infinity);
  }
  return upgraded(l);
}

/** `rw.tryUpgrade(timeoutMs)`: whether this thread now holds the write lock. */
export function tryUpgrade(l: RWLockLocal, timeoutMs: number | undefined): boolean {
  if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
  checkUpgradable(l, 'tryUpgrade');
  if (!rawTryUpgrade(l.a, l.i)) {
    if (timeoutMs === undefined || readsInThread(l)) return false;
    if (!upgradeWait(l, deadlineAfter(timeoutMs))) return false;
  }
  upgraded(l);
  return true;
}

// ---- contended paths (observed; checked while the verifier is on) -------------------------------

export function readContended(l: RWLockLocal, op: string, deadline: number): boolean {
  checkNotWriter(l, op);
  return observedWait(l, 'read', deadline, (d) => readLockSlow(l.a, l.i, d, READ_BUDGET, false, l.onOwnerDied));
}

export function writeContended(l: RWLockLocal, deadline: number): boolean {
  checkCanWaitForWrite(l);
  return observedWait(l, 'write', deadline, (d) => writeLockSlow(l.a, l.i, d, WRITE_BUDGET, l.onOwnerDied));
}

export function upgradableContended(l: RWLockLocal, deadline: number): boolean {
  checkCanWaitForUpgradable(l);
  return observedWait(l, 'upgradable', deadline, (d) => readLockSlow(l.a, l.i, d, READ_BUDGET, true, l.onOwnerDied));
}

/**
 * A contended acquisition in `mode`: `slow(deadline)` directly, or in the verifier's steps while it
 * is on; timed and recorded (acquired or timed out) when anyone observes.
 */
function observedWait(l: RWLockLocal, mode: LockEventMode, deadline: number, slow: (deadline: number) => boolean): boolean {
  // The hold is recorded by the caller (the read slot, the owner words) after this returns.
  return contendedWait({ lock: l.rw, shared: mode === 'read', mode, slow, owner: () => waitedOwner(l) }, deadline);
}

function upgradeWait(l: RWLockLocal, deadline: number): boolean {
  if (!checking) return upgradeSlow(l.a, l.i, deadline, l.onOwnerDied);
  return waitStepped(l, false, deadline, (step) => upgradeSlow(l.a, l.i, step, l.onOwnerDied));
}

/**
 * A blocking slow path in watchdog-sized steps, so the verifier can look for deadlocks while we
 * wait. The owner we wait for is the write holder, else the upgradable holder (readers have no
 * owner id: 0; nor has an upgrade, which waits for readers while we are the upgradable holder).
 * CORRECTNESS: a step that times out leaves the word as a timed-out `try*(ms)` does (a writer
 * withdraws WRITERS_WAITING and passes the wake on, an upgrader clears UPGRADING, a reader
 * leaves its READERS_WAITING for the release to clear); the next step re-reads the state word
 * and re-publishes its bit before it sleeps, so a release between two steps is not lost. It
 * only costs the waiter its place (readers may get in between a writer's steps).
 */
function waitStepped(l: RWLockLocal, shared: boolean, deadline: number, attempt: (deadline: number) => boolean): boolean {
  return waitChecked(l.rw, shared, deadline, true, attempt, () => waitedOwner(l));
}

/**
 * Who a waiter waits for, for the verifier: the writer, else the upgradable holder, unless that is
 * us (an upgrade waits for readers, who have no owner id: 0, not a one-thread cycle).
 */
function waitedOwner(l: RWLockLocal): number {
  const w = Atomics.load(l.a, l.i + WRITER_OWNER);
  if (w !== 0) return w;
  const u = Atomics.load(l.a, l.i + UPGRADABLE_OWNER);
  return u === OWNER_ID ? 0 : u;
}
