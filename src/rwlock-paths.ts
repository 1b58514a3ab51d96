/**
 * The acquisition paths behind `RWLock`'s public methods, past their one-CAS fast paths: the read
 * fast path's recursion case, the plain and timed `try*()` paths, the blocking upgrade, and the
 * contended paths, which are observed (stats, events) and, while the verifier is on, run in
 * watchdog-sized steps.
 *
 * What the three modes differ in is one row each (`READ_MODE`, `WRITE_MODE`, `UPGRADABLE_MODE`): the try path,
 * the checked lock path (rwlock-checked.ts), the async path (rwlock-async.ts) and the bookkeeping
 * of the two exclusive holds (rwlock-local.ts) are written once over them. The public methods'
 * own fast paths stay inline in rwlock.ts.
 */
import { checkTimeout, deadlineAfter, type ParsedWait } from './core/futex.js';
import { contendedWait } from './core/acquire.js';
import { SpinBudget } from './core/spin.js';
import { OWNER_ID } from './core/thread.js';
import { checking, tryChecked, waitChecked } from './core/hooks.js';
import { acquireChannel } from './core/events.js';
import { noteAcquired, observing } from './core/observe.js';
import type { LockEventMode } from './core/events.js';
import {
  readLockAsyncSlow,
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
  WRITE_LOCKED,
  WRITER_OWNER,
  writeLockAsyncSlow,
  writeLockSlow,
} from './raw/rwlock.js';
import type { RWLockGuard } from './rwlock-guard.js';
import { took, upgraded, UPGRADABLE_GUARD, WRITE_GUARD, type Hold, type RWLockLocal } from './rwlock-local.js';
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

// ---- the modes -----------------------------------------------------------------------------------

/** What a mode's try path needs (`tryIn`). */
export interface Mode {
  /** The event `mode`. */
  readonly mode: LockEventMode;
  /** One attempt without waiting (a dead holder's hold is not reaped): true if it took the hold. */
  tryFast(l: RWLockLocal): boolean;
  /**
   * Checks that this thread may wait, then waits until `deadline` (observed; stepped while the
   * verifier is on). READ_MODE's is a timed `tryReadLock`'s (its errors name that call).
   */
  contended(l: RWLockLocal, deadline: number): boolean;
}

/** An exclusive hold's row: its bookkeeping (`Hold`), its try path, and its other paths. */
export interface ExclusiveMode extends Mode, Hold {
  readonly mode: Hold['mode'];
  /** What `lock()` tries first, as its inline fast path in rwlock.ts does. */
  lockFast(l: RWLockLocal): boolean;
  /** The event-loop slow path (raw/rwlock.ts); `won` runs in the acquiring turn. */
  slowAsync(l: RWLockLocal, wait: ParsedWait, won: () => void): Promise<number>;
}

/** Read holds: counted by the `RWLock` object itself (`#tookRead`), not here. */
export const READ_MODE: Mode = {
  mode: 'read',
  tryFast: fastRead,
  contended: (l, deadline) => readContended(l, 'tryReadLock', deadline),
};

export const WRITE_MODE: ExclusiveMode = {
  mode: 'write',
  ownerWord: WRITER_OWNER,
  guard: WRITE_GUARD,
  // One CAS from a completely free word (a word with waiting bits goes the contended way).
  lockFast: (l) => Atomics.compareExchange(l.a, l.i, 0, WRITE_LOCKED) === 0,
  tryFast: (l) => rawTryWriteLock(l.a, l.i),
  contended: writeContended,
  slowAsync: (l, wait, won) => writeLockAsyncSlow(l.a, l.i, wait, l.rw.name, l.onOwnerDied, won),
};

export const UPGRADABLE_MODE: ExclusiveMode = {
  mode: 'upgradable',
  ownerWord: UPGRADABLE_OWNER,
  guard: UPGRADABLE_GUARD,
  lockFast: tryUpgradableFast,
  tryFast: tryUpgradableFast,
  contended: upgradableContended,
  slowAsync: (l, wait, won) => readLockAsyncSlow(l.a, l.i, wait, l.rw.name, true, l.onOwnerDied, won),
};

// ---- try paths ------------------------------------------------------------------------------------

/**
 * A plain or timed try in mode `m`, unchecked and before any bookkeeping: whether it took the
 * hold. (`tryReadLock(timeoutMs)` is `tryIn(l, READ_MODE, …)`; the caller counts the read hold.)
 */
export function tryIn(l: RWLockLocal, m: Mode, timeoutMs: number | undefined): boolean {
  if (!m.tryFast(l)) {
    if (timeoutMs === undefined) {
      // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
      if (!reaped(l) || !m.tryFast(l)) return false;
    } else if (!m.contended(l, deadlineAfter(timeoutMs))) return false;
  } else if (observing || acquireChannel.hasSubscribers) noteAcquired(l.rw, -1, 0, m.mode); // observe
  return true;
}

/** `tryWriteLock(timeoutMs)`, `tryUpgradableReadLock(timeoutMs)`: whether this thread now holds `m`. */
export function tryExclusive(l: RWLockLocal, m: ExclusiveMode, timeoutMs: number | undefined): boolean {
  // A bad timeout is an error whether or not the lock happens to be free.
  if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
  // The verifier's hooks around the same steps (core/hooks.ts `tryChecked`).
  if (checking) return tryChecked(l.rw, false, timeoutMs !== undefined, () => tryTook(l, m, timeoutMs));
  return tryTook(l, m, timeoutMs);
}

function tryTook(l: RWLockLocal, m: ExclusiveMode, timeoutMs: number | undefined): boolean {
  if (!tryIn(l, m, timeoutMs)) return false;
  took(l, m);
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
