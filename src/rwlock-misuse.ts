/**
 * Ownership and invalid use of an `RWLock`: the checks its methods make before they release,
 * convert or wait, and the `LockError`s they throw.
 *
 * - The write lock and the upgradable read lock belong to a thread (their owner ids are in shared
 *   memory): `writeUnlock()`/`downgrade()` by another thread throw `LockError`
 *   `ERR_LOCK_NOT_OWNER`; `upgrade()`/`upgradableReadUnlock()` without the upgradable lock throw
 *   `ERR_LOCK_NOT_HELD`.
 * - Read holds are counted in the shared word, and per `RWLock` object in this thread:
 *   `readUnlock()` with no read hold taken through this object throws `ERR_LOCK_NOT_HELD`. (Take
 *   and release a read lock through the same object; each thread has its own objects anyway.)
 * - Blocking acquisitions that can only deadlock throw `ERR_LOCK_RECURSIVE` when they would have
 *   to wait: `writeLock()` while this thread holds the write lock, a read lock or the upgradable
 *   lock (use `upgradableReadLock()` + `upgrade()` instead); `upgradableReadLock()` while holding
 *   it, the write lock or a read lock; `readLock()` while holding the write lock; `upgrade()`
 *   while also holding a plain read lock.
 *   A read lock taken while this thread already holds a read or upgradable lock never waits
 *   behind waiting writers (that would deadlock with a writer waiting for this thread).
 *   "Holds a read lock" counts reads taken through any `RWLock` object of this thread (found in
 *   its holder slot), except an untracked one (every holder slot taken) through another object.
 * - Async acquisitions by the holding thread wait like any other: another task of the same
 *   thread may release it. That includes `readLockAsync` while this thread reads: it takes no
 *   recursion shortcut and queues behind waiting writers (a task cannot be told apart from
 *   another task of its thread, and letting every task of a reading thread in would starve
 *   writers). A task that awaits a second read of its own while a writer waits deadlocks, as it
 *   would awaiting `lockAsync` on a Mutex it holds.
 */
import { LockError } from './core/errors.js';
import { OWNER_ID } from './core/thread.js';
import { UPGRADABLE_OWNER, WRITER_OWNER } from './raw/rwlock.js';
import type { RWLockLocal } from './rwlock-local.js';
import { readsInThread } from './rwlock-read-slots.js';

/** Whether this thread holds the write lock. */
export function holdsWrite(l: RWLockLocal): boolean {
  return Atomics.load(l.a, l.i + WRITER_OWNER) === OWNER_ID;
}

/** Throws ERR_LOCK_NOT_OWNER unless this thread holds the write lock. */
export function checkWriter(l: RWLockLocal, op: string): void {
  // A plain read (an Atomics call costs more than the whole fast path around it): only this
  // thread writes its own id there, so it reads its own id exactly while it holds the write
  // lock; another thread's id, possibly stale, only goes into the error message.
  const owner = l.a[l.i + WRITER_OWNER];
  if (owner !== OWNER_ID) throw notWriter(l, op, owner);
}

function notWriter(l: RWLockLocal, op: string, owner: number): LockError {
  const name = l.rw.name;
  return new LockError(
    'ERR_LOCK_NOT_OWNER',
    owner === 0
      ? `${name}: ${op}() of an RWLock whose write lock is not held`
      : `${name}: ${op}() by thread ${OWNER_ID - 1} of an RWLock write-locked by thread ${owner - 1}`,
    name,
  );
}

/** ERR_LOCK_NOT_HELD: `readUnlock()` with no read hold taken through this object. */
export function readNotHeld(l: RWLockLocal): LockError {
  const name = l.rw.name;
  return new LockError(
    'ERR_LOCK_NOT_HELD',
    `${name}: readUnlock() by thread ${OWNER_ID - 1}, which holds no read lock on this RWLock`,
    name,
  );
}

/** Throws ERR_LOCK_NOT_HELD unless this thread holds the upgradable read lock. */
export function checkUpgradable(l: RWLockLocal, op: string): void {
  const owner = Atomics.load(l.a, l.i + UPGRADABLE_OWNER);
  if (owner === OWNER_ID) return;
  const name = l.rw.name;
  throw new LockError(
    'ERR_LOCK_NOT_HELD',
    owner === 0
      ? `${name}: ${op}() without the upgradable read lock (nobody holds it)`
      : `${name}: ${op}() by thread ${OWNER_ID - 1}; the upgradable read lock is held by thread ${owner - 1}`,
    name,
  );
}

/** Before a read waits: this thread must not hold the write lock. */
export function checkNotWriter(l: RWLockLocal, op: string): void {
  if (holdsWrite(l)) throw recursive(l, op, 'the write lock');
}

/** Before a writer waits: this thread must hold no mode of the lock. */
export function checkCanWaitForWrite(l: RWLockLocal): void {
  if (holdsWrite(l)) throw recursive(l, 'writeLock', 'the write lock');
  if (readsInThread(l)) throw recursive(l, 'writeLock', 'a read lock');
  if (Atomics.load(l.a, l.i + UPGRADABLE_OWNER) === OWNER_ID) {
    throw recursive(l, 'writeLock', 'the upgradable read lock (use upgrade())');
  }
}

/** Before an upgradable reader waits: this thread must hold no mode of the lock. */
export function checkCanWaitForUpgradable(l: RWLockLocal): void {
  if (holdsWrite(l)) throw recursive(l, 'upgradableReadLock', 'the write lock');
  // A waiting writer (or upgrade) waits for our read hold while we would wait for it.
  if (readsInThread(l)) throw recursive(l, 'upgradableReadLock', 'a read lock (take the upgradable lock first)');
  if (Atomics.load(l.a, l.i + UPGRADABLE_OWNER) === OWNER_ID) {
    throw recursive(l, 'upgradableReadLock', 'the upgradable read lock');
  }
}

/** ERR_LOCK_RECURSIVE: `op` would wait for `what`, which this thread holds itself. */
export function recursive(l: RWLockLocal, op: string, what: string): LockError {
  const name = l.rw.name;
  return new LockError(
    'ERR_LOCK_RECURSIVE',
    `${name}: ${op}() by thread ${OWNER_ID - 1}, which holds ${what}; waiting would deadlock`,
    name,
  );
}
