/**
 * `RWLock`: a writer-preferring reader-writer lock in shared memory, with an upgradable read lock
 * and atomic downgrade. The state machine is `raw/rwlock.ts`; this file and the `rwlock-*.ts`
 * files beside it (table below) are the API layer. Ownership and what is invalid use, with the
 * errors it throws: `rwlock-misuse.ts`.
 *
 * Layout (BYTE_LENGTH 92): word 0 is the tag (kind id), written once by the constructor; words
 * 1–22 are the raw lock's words, in the order of `raw/rwlock.ts`'s "Words" table (its index 0,
 * STATE, is word 1 here), with its state-word table. Indices in this layer are the raw constants
 * (`STATE`, `WRITER_OWNER`, `READ_HOLDERS`, ...) added to the state word's index.
 *
 * ## Owner death (docs/robustness.md)
 * A thread that dies holding the write lock or the upgradable read lock is named in its owner
 * word; waiters wake at least every RECHECK_MS, see the dead id, and one of them releases the hold
 * on its behalf (raw/rwlock.ts invariant 9) and sets OWNER_DIED. Acquisitions still succeed; the
 * flag (`ownerDied`) stays set until a write holder calls `markConsistent()`. A plain `try*()`
 * that fails also reaps a dead owner once and retries. Read holds are recorded per thread in
 * holder slots (8 threads at a time; more readers at once are untracked and not recovered), so
 * a reader that dies holding read locks is recovered the same way: a waiter subtracts its holds.
 *
 * ## Files
 * This one: the public class, its fast paths and the read holds of each object. `rwlock-guard.ts`:
 * guards and the Lockable views. `rwlock-local.ts`: per-object state, owner words and guards of
 * write/upgradable holds. `rwlock-read-slots.ts`: holder-slot records of read holds.
 * `rwlock-misuse.ts`: ownership checks and errors. `rwlock-paths.ts`: the table of what the read,
 * write and upgradable modes differ in (`READ_MODE`, `WRITE_MODE`, `UPGRADABLE_MODE`), and the
 * try, contended and upgrade paths written once over it. `rwlock-async.ts`: async
 * write/upgradable/upgrade. `rwlock-checked.ts`: verifier paths.
 *
 * ## Lock-order verifier and observability
 * Each public call tests `checking` (core/hooks.ts) once and, when the verifier is on, takes a
 * checked twin of its path (rwlock-checked.ts); the observability hooks cost one
 * `observing || channel.hasSubscribers` test on the fast paths. For stats and events, read,
 * upgradable and write acquisitions all count as acquisitions of the class (`mode` in the event
 * says which); upgrade and downgrade convert a hold and count nothing.
 */
import { abortReason, LockError } from './core/errors.js';
import { checkTimeout, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { contendedAsync } from './core/acquire.js';
import { FROM_HANDLE, placeOrAttach, RankedPrimitive, type Handle, type RWLockOptions } from './core/layout.js';
import { wasReaped } from './core/owner-death.js';
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { runHeld, runHeldAsync, type Lockable } from './exclusive.js';
import { checking, onAcquire, onAcquired, onRelease } from './core/hooks.js';
import { noteAcquired, noteReleased, observing } from './core/observe.js';
import { acquireChannel, releaseChannel } from './core/events.js';
import {
  clearOwnerDied,
  downgrade as rawDowngrade,
  FLAGS,
  isWriteLocked,
  ownerDiedOf,
  READ_HOLDERS,
  READERS_MASK,
  readersOf,
  readLockAsyncSlow,
  readUnlock as rawReadUnlock,
  RWLOCK_BYTES,
  SLOTS_WANTED,
  tryReadLock as rawTryReadLock,
  UPGRADABLE,
  UPGRADABLE_OWNER,
  upgradableUnlock as rawUpgradableUnlock,
  WRITE_LOCKED,
  WRITER_OWNER,
  writeUnlock as rawWriteUnlock,
} from './raw/rwlock.js';
import { exclusiveLockChecked, readLockChecked, tryReadLockChecked } from './rwlock-checked.js';
import { exclusiveLockAsync, upgradeAsync } from './rwlock-async.js';
import { RWLockGuard, sideView } from './rwlock-guard.js';
import { releaseGuard, RWLockLocal, took, UPGRADABLE_GUARD, WRITE_GUARD } from './rwlock-local.js';
import { checkUpgradable, checkWriter, holdsWrite, readNotHeld } from './rwlock-misuse.js';
import {
  fastRead,
  READ_MODE,
  readContended,
  tryExclusive,
  tryIn,
  tryUpgradableFast,
  tryUpgrade,
  UPGRADABLE_MODE,
  upgradableContended,
  upgradeBlocking,
  WRITE_MODE,
  writeContended,
} from './rwlock-paths.js';
import { claimSlot, dropUncached, freeSlot, slotFrees } from './rwlock-read-slots.js';

export { RWLockGuard, type RWLockMode } from './rwlock-guard.js';

/**
 * A reader-writer lock in shared memory: many readers or one writer. Writer-preferring: once a
 * writer waits, new readers wait, so writers are never starved by readers; the readers that waited
 * go right after that writer. One thread at a time may hold the upgradable read lock, which
 * coexists with readers and can be upgraded to the write lock; the write lock can be downgraded to
 * a read lock atomically.
 */
export class RWLock extends RankedPrimitive {
  /** Bytes one RWLock occupies at a placement. */
  static readonly BYTE_LENGTH = RWLOCK_BYTES;

  /** For the verifier: false, a read may wait behind a queued writer (writer-preferring). */
  readonly readerPreferring = false;
  readonly #a: Int32Array;
  readonly #i: number;
  /** Read holds taken through this object in this thread. */
  #readHolds = 0;
  /** The holder slot this thread's read holds were last recorded in (−1: none or untracked). */
  #slot = -1;
  /** `slotFrees` when #slot was cached: while equal, #slot is still this thread's slot. */
  #slotFrees = 0;
  /** What the rest of the API layer needs of this object, guards included (rwlock-local.ts). */
  readonly #l: RWLockLocal;
  #writer: Lockable | undefined;
  #reader: Lockable | undefined;

  constructor(options?: RWLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: RWLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    const p = placeOrAttach('RWLock', RWLOCK_BYTES, options, handle);
    super('RWLock', p);
    this.#a = p.i32;
    this.#i = p.base + 1;
    this.#l = new RWLockLocal(this, p.i32, p.base + 1);
  }

  /** Attaches to the RWLock a handle describes (from `rw.handle`, possibly another thread's). */
  static from(handle: Handle): RWLock {
    return attachHandle(handle);
  }

  // ---- read ---------------------------------------------------------------------------------------

  /** Blocks until this thread holds a read lock; returns a guard. */
  readLock(): RWLockGuard {
    // The verifier's only cost when off: this one branch (core/hooks.ts).
    if (checking) readLockChecked(this.#l);
    else if (!fastRead(this.#l)) readContended(this.#l, 'readLock', Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'read'); // observe: off = one test
    this.#tookRead();
    return new RWLockGuard(this, 'read');
  }

  /**
   * Without `timeoutMs`: takes a read lock if it can at once. With it: waits up to `timeoutMs` ms,
   * blocking the thread. Returns whether this thread now holds a read lock.
   */
  tryReadLock(timeoutMs?: number): boolean {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    const taken = checking ? tryReadLockChecked(this.#l, timeoutMs) : tryIn(this.#l, READ_MODE, timeoutMs);
    if (taken) this.#tookRead();
    return taken;
  }

  /** Waits for a read lock on the event loop; rejects with TimeoutError or the signal's reason. */
  async readLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, true, true);
    // No recursion shortcut: another task of this thread may hold the read it would count on, and
    // that task can release it while this one waits, so this one queues behind waiting writers.
    if (!rawTryReadLock(this.#a, this.#i)) {
      // The hold is recorded in the acquiring turn (core/park.ts `won`), not after the await.
      const a = this.#a;
      const i = this.#i;
      await contendedAsync(this, wait.signal, () => readLockAsyncSlow(a, i, wait, this.name, false, this.#l.onOwnerDied, () => this.#tookRead()), 'read');
    } else {
      this.#tookRead(); // recorded before any event subscriber runs
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'read'); // observe
    }
    if (checking) onAcquired(this, true, true);
    return new RWLockGuard(this, 'read');
  }

  /** Releases one read hold taken through this object. Throws ERR_LOCK_NOT_HELD if there is none. */
  readUnlock(): void {
    // The word does not name readers: "ours" is this object's count (0 = none, a not-owner release).
    if (checking) onRelease(this, true, this.#readHolds > 0 ? OWNER_ID : 0);
    if (this.#readHolds === 0) throw readNotHeld(this.#l);
    this.#readHolds--;
    // A reaped thread's tracked reads were given back by its reaper: never twice.
    if (wasReaped()) return;
    // Drop our record first, then the hold (raw/rwlock.ts invariant 10).
    const emptied = this.#dropRead();
    rawReadUnlock(this.#a, this.#i);
    if (emptied) this.#freeSlotIfWanted();
    if (observing || releaseChannel.hasSubscribers) noteReleased(this, 'read'); // observe: off = one test
  }

  /** Runs `fn` holding a read lock; releases it when `fn` returns or throws. */
  withReadLock<T>(fn: () => T): T {
    return runHeld(this, this.readLock, this.readUnlock, fn);
  }

  /** Awaits a read lock (see `readLockAsync`), runs `fn`, awaits its result, releases. */
  withReadLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return runHeldAsync(this, this.readLockAsync, this.readUnlock, fn, options, true);
  }

  // ---- write --------------------------------------------------------------------------------------

  /** Blocks until this thread holds the write lock; returns a guard. */
  writeLock(): RWLockGuard {
    if (checking) return exclusiveLockChecked(this.#l, WRITE_MODE);
    // Fast path: one CAS from a completely free word.
    if (Atomics.compareExchange(this.#a, this.#i, 0, WRITE_LOCKED) !== 0) writeContended(this.#l, Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'write'); // observe: off = one test
    return took(this.#l, WRITE_MODE);
  }

  /**
   * Without `timeoutMs`: takes the write lock if it is free. With it: waits up to `timeoutMs` ms,
   * blocking the thread. Returns whether this thread now holds the write lock.
   */
  tryWriteLock(timeoutMs?: number): boolean {
    return tryExclusive(this.#l, WRITE_MODE, timeoutMs);
  }

  /** Waits for the write lock on the event loop; rejects with TimeoutError or the signal's reason. */
  writeLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    return exclusiveLockAsync(this.#l, WRITE_MODE, options);
  }

  /** Releases the write lock. Throws ERR_LOCK_NOT_OWNER unless this thread holds it. */
  writeUnlock(): void {
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + WRITER_OWNER));
    // A reaped thread's write lock was released by its reaper: never twice (core/owner-death.ts).
    if (this.#a[this.#i + WRITER_OWNER] !== OWNER_ID && wasReaped()) return;
    checkWriter(this.#l, 'writeUnlock');
    releaseGuard(this.#l, WRITE_GUARD)?._setMode('released');
    // Clear the owner before releasing, so the next owner's id is never overwritten.
    Atomics.store(this.#a, this.#i + WRITER_OWNER, 0);
    rawWriteUnlock(this.#a, this.#i);
    if (observing || releaseChannel.hasSubscribers) noteReleased(this, 'write'); // observe: off = one test
  }

  /** Runs `fn` holding the write lock; releases it when `fn` returns or throws. */
  withWriteLock<T>(fn: () => T): T {
    return runHeld(this, this.writeLock, this.writeUnlock, fn);
  }

  /** Awaits the write lock (see `writeLockAsync`), runs `fn`, awaits its result, releases. */
  withWriteLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return runHeldAsync(this, this.writeLockAsync, this.writeUnlock, fn, options, false);
  }

  /**
   * Write → read atomically: no writer can get in between, so the data this thread just wrote
   * is what it reads. Readers that waited may join at once. Returns the read guard (the write
   * guard of this hold, converted, if it was taken through this object).
   */
  downgrade(): RWLockGuard {
    // For the verifier: a write release, then a read acquisition that cannot wait.
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + WRITER_OWNER));
    checkWriter(this.#l, 'downgrade');
    const g = releaseGuard(this.#l, WRITE_GUARD);
    Atomics.store(this.#a, this.#i + WRITER_OWNER, 0);
    rawDowngrade(this.#a, this.#i);
    if (checking) onAcquired(this, true, false);
    this.#tookRead();
    if (g === null) return new RWLockGuard(this, 'read');
    g._setMode('read');
    return g;
  }

  // ---- upgradable read ----------------------------------------------------------------------------

  /**
   * Blocks until this thread holds the upgradable read lock: a read lock that coexists with plain
   * readers but not with writers or another upgradable holder, and can be upgraded.
   */
  upgradableReadLock(): RWLockGuard {
    if (checking) return exclusiveLockChecked(this.#l, UPGRADABLE_MODE);
    if (!tryUpgradableFast(this.#l)) upgradableContended(this.#l, Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'upgradable'); // observe
    return took(this.#l, UPGRADABLE_MODE);
  }

  /** Like `tryReadLock`, for the upgradable read lock. */
  tryUpgradableReadLock(timeoutMs?: number): boolean {
    return tryExclusive(this.#l, UPGRADABLE_MODE, timeoutMs);
  }

  /** Waits for the upgradable read lock on the event loop. */
  upgradableReadLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    return exclusiveLockAsync(this.#l, UPGRADABLE_MODE, options);
  }

  /** Releases the upgradable read lock. Throws ERR_LOCK_NOT_HELD unless this thread holds it. */
  upgradableReadUnlock(): void {
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER));
    if (Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER) !== OWNER_ID && wasReaped()) return; // as writeUnlock
    checkUpgradable(this.#l, 'upgradableReadUnlock');
    releaseGuard(this.#l, UPGRADABLE_GUARD)?._setMode('released');
    rawUpgradableUnlock(this.#a, this.#i);
    if (observing || releaseChannel.hasSubscribers) noteReleased(this, 'upgradable'); // observe: off = one test
  }

  /**
   * Upgradable read → write: new readers are kept out and this thread blocks until the readers
   * present have left; no other writer can get in between (the data read under the upgradable
   * lock is still current). Returns the write guard (the upgradable guard, converted, if it was
   * taken through this object). Throws ERR_LOCK_NOT_HELD without the upgradable lock.
   */
  upgrade(): RWLockGuard {
    return upgradeBlocking(this.#l);
  }

  /**
   * Without `timeoutMs`: upgrades if no other reader is inside. With it: waits up to `timeoutMs`
   * ms. Returns whether this thread now holds the write lock; on false it still holds the
   * upgradable read lock.
   */
  tryUpgrade(timeoutMs?: number): boolean {
    return tryUpgrade(this.#l, timeoutMs);
  }

  /** `upgrade` on the event loop; on rejection this thread still holds the upgradable read lock. */
  upgradeAsync(options?: WaitOptions): Promise<RWLockGuard> {
    return upgradeAsync(this.#l, options);
  }

  // ---- snapshots and views ------------------------------------------------------------------------

  /** Snapshot: is anyone holding it (read or write)? For diagnostics only. */
  isLocked(): boolean {
    // Held means a reader or the writer is inside (a lock handed off and not yet claimed is free).
    return (Atomics.load(this.#a, this.#i) & (READERS_MASK | WRITE_LOCKED)) !== 0;
  }

  /** Snapshot: is the write lock held? */
  isWriteLocked(): boolean {
    return isWriteLocked(Atomics.load(this.#a, this.#i));
  }

  /** Snapshot: is the upgradable read lock held? */
  isUpgradableLocked(): boolean {
    return (Atomics.load(this.#a, this.#i) & UPGRADABLE) !== 0;
  }

  /** Snapshot: how many read holds (the upgradable one included) there are. */
  readerCount(): number {
    return readersOf(Atomics.load(this.#a, this.#i));
  }

  /** Read holds this thread took through this object and has not released. */
  get readHolds(): number {
    return this.#readHolds;
  }

  /**
   * True when a thread died holding the write lock or the upgradable read lock (its hold was
   * released on its behalf) and no write holder has called `markConsistent()` since. Acquisitions
   * still succeed; check this after acquiring to decide whether the protected data needs repair.
   */
  get ownerDied(): boolean {
    return ownerDiedOf(this.#a, this.#i);
  }

  /**
   * Declares the protected data repaired after an owner death (clears `ownerDied`). This thread
   * must hold the write lock (repair needs exclusive access); otherwise throws ERR_LOCK_NOT_HELD.
   */
  markConsistent(): void {
    if (!holdsWrite(this.#l)) {
      throw new LockError('ERR_LOCK_NOT_HELD', `${this.name}: markConsistent() needs the write lock held by this thread`, this.name);
    }
    clearOwnerDied(this.#a, this.#i);
  }

  /** The write side as a `Lockable` (for `Condition` and other helpers taking any lock). */
  get writer(): Lockable {
    return (this.#writer ??= sideView(this, 'write'));
  }

  /** The read side as a `Lockable`: `lock()` takes a read hold, `unlock()` releases one. */
  get reader(): Lockable {
    return (this.#reader ??= sideView(this, 'read'));
  }

  // ---- read holds of this object (the read fast paths; the rest is in rwlock-read-slots.ts) -----

  /** After any read acquisition: count it and record it in our holder slot (invariant 10). */
  #tookRead(): void {
    this.#readHolds++;
    if (this.#slot >= 0 && this.#slotFrees === slotFrees) {
      // Our count, a plain write: while we live nobody else writes or reads it (see #dropRead).
      this.#a[this.#i + READ_HOLDERS + 2 * this.#slot + 1]++;
    } else this.#claimSlot();
  }

  /** Out of line (so are the two below): the read paths stay small enough for V8 to inline whole. */
  #claimSlot(): void {
    this.#slot = claimSlot(this.#a, this.#i, this.#l.onOwnerDied);
    this.#slotFrees = slotFrees;
  }

  /** Before a read release: drop it from our holder slot; true when our count reached 0. */
  #dropRead(): boolean {
    const k = this.#slot;
    if (k >= 0 && this.#slotFrees === slotFrees) {
      // Our count, written plainly: only we touch it while we live. A reaper reads it only after
      // our death is published (after this thread stopped: owner-death.ts invariant 1), and a
      // later claimer of the slot only after our SC store of the owner in freeSlot, which orders it.
      const h = this.#i + READ_HOLDERS + 2 * k + 1;
      const c = this.#a[h] - 1;
      this.#a[h] = c;
      return c === 0;
    }
    return this.#dropUncached();
  }

  #dropUncached(): false {
    dropUncached(this.#a, this.#i);
    this.#slot = -1;
    return false;
  }

  /** After a release that followed a #dropRead to 0: give the slot back if readers asked. */
  #freeSlotIfWanted(): void {
    // FLAGS is read plainly, after the STATE RMW: the bit is advisory and never cleared, so a
    // stale 0 only delays the free to a later release, and an `Atomics.load` here would be a
    // builtin call that costs more than the rest of the release together.
    if ((this.#a[this.#i + FLAGS] & SLOTS_WANTED) !== 0) this.#freeSlot();
  }

  #freeSlot(): void {
    freeSlot(this.#a, this.#i, this.#slot);
    this.#slot = -1;
  }
}

/**
 * `RWLock.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_RWLock` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): RWLock {
  return new RWLock(FROM_HANDLE, handle);
}
