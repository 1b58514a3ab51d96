/**
 * `RWLock`: a writer-preferring reader-writer lock in shared memory, with an upgradable read lock
 * and atomic downgrade. The state machine is `raw/rwlock.ts`; this file is the API layer:
 * placement, handles, guards, ownership and misuse checks.
 *
 * Layout (BYTE_LENGTH 92):
 * | word | content |
 * |------|---------|
 * | 0    | tag (kind id), written once by the constructor |
 * | 1    | STATE: reader count \| UPGRADABLE \| WRITE_LOCKED \| UPGRADING \| waiting bits |
 * | 2    | WRITER_NOTIFY: writers sleep here, one is woken at a time |
 * | 3    | UPGRADE_NOTIFY: the upgrading thread sleeps here while readers drain |
 * | 4    | WRITER_OWNER: owner id of the write holder (0: none) |
 * | 5    | UPGRADABLE_OWNER: owner id of the upgradable-read holder (0: none) |
 * | 6    | FLAGS: bit 0 OWNER_DIED (a holder died; see `ownerDied`), bit 1 SLOTS_WANTED |
 * | 7–22 | READ_HOLDERS: 8 slots `(owner id, read holds)` (core/holders.ts), for dead readers |
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
 * ## Ownership and invalid use
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
 *
 * ## Lock-order verifier and observability
 * Each public call tests `checking` (check/hooks.ts) once and, when the verifier is on, takes a
 * checked twin of its path; the observability hooks cost one `observing || channel.hasSubscribers`
 * test on the fast paths. For the verifier, read holds are shared (`shared = true`), the write and
 * the upgradable read holds exclusive; the lock is writer-preferring (`readerPreferring` false),
 * so a read that can wait behind a writer orders like an exclusive acquisition. A read taken while
 * this thread already holds a read or the upgradable lock never waits (`readLockRecursive`), so
 * it is reported like a plain `tryLock()`: `onAcquired` only, no order edge, no recursion report.
 * `upgrade` converts an exclusive hold into another (no hook but the checked wait);
 * `downgrade` is a write release followed by a read acquisition. For stats and events, read,
 * upgradable and write acquisitions all count as acquisitions of the class (`mode` in the event
 * says which); upgrade and downgrade convert a hold and count nothing.
 */
import { abortReason, LockError } from './core/errors.js';
import { checkTimeout, deadlineAfter, now, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { attach, makeHandle, place, type Handle, type PlacementOptions } from './core/layout.js';
import { SpinBudget } from './core/spin.js';
import { addHold, dropHold, heldBy } from './core/holders.js';
import { wasReaped } from './core/owner-death.js';
import { PARKS } from './core/park.js';
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { checkCallback, type Lockable } from './exclusive.js';
import { checking, onAcquire, onAcquired, onRelease, runHolding, waitChecked } from './check/hooks.js';
import { noteAcquired, noteOwnerDied, noteReleased, noteTimeout, observeAsync, observing, watching } from './observe/hooks.js';
import { acquireChannel, releaseChannel } from './observe/events.js';
import {
  downgrade as rawDowngrade,
  READERS_MASK,
  isWriteLocked,
  readersOf,
  readLockAsyncSlow,
  readLockRecursive,
  readLockSlow,
  FLAGS,
  READ_HOLDERS,
  READ_SLOTS,
  SLOTS_WANTED,
  reapDeadOwners,
  ownerDiedOf,
  clearOwnerDied,
  readUnlock as rawReadUnlock,
  RW_WORDS,
  tryReadLock as rawTryReadLock,
  tryUpgrade as rawTryUpgrade,
  tryWriteLock as rawTryWriteLock,
  tryUpgradableRead as rawTryUpgradableRead,
  UPGRADABLE,
  UPGRADABLE_OWNER,
  upgradableUnlock as rawUpgradableUnlock,
  upgradeAsyncSlow,
  upgradeSlow,
  WRITE_LOCKED,
  WRITER_OWNER,
  writeLockAsyncSlow,
  writeLockSlow,
  writeUnlock as rawWriteUnlock,
} from './raw/rwlock.js';

const BYTES = 4 * (1 + RW_WORDS);

/**
 * How often this thread freed one of its RWLock holder slots (any lock, any object). An object's
 * cached slot is valid while this is unchanged: nothing else frees a live thread's slot.
 */
let slotFrees = 0;
const FROM_HANDLE = Symbol('fromHandle');

/** This thread's spin budgets for every RWLock. */
const READ_BUDGET = new SpinBudget(4, 100);
const WRITE_BUDGET = new SpinBudget(4, 100);

/** Options of `new RWLock()`: placement, class name and verifier rank. */
export type RWLockOptions = PlacementOptions;

/** What an {@link RWLockGuard} holds now. */
export type RWLockMode = 'read' | 'upgradable' | 'write' | 'released';

/**
 * Proof of one RWLock hold. `unlock()` (or leaving a `using` block) releases whatever it holds
 * now; `upgrade()` and `downgrade()` convert it in place. Release either through the guard or
 * through the lock's methods, not both.
 */
export class RWLockGuard {
  readonly #rw: RWLock;
  #mode: RWLockMode;
  /** @internal */
  constructor(rw: RWLock, mode: RWLockMode) {
    this.#rw = rw;
    this.#mode = mode;
  }
  /** What this guard holds now. */
  get mode(): RWLockMode {
    return this.#mode;
  }
  /** True until this guard released its lock. */
  get held(): boolean {
    return this.#mode !== 'released';
  }
  /** @internal */
  _setMode(mode: RWLockMode): void {
    this.#mode = mode;
  }
  /** Releases the hold (once; later calls do nothing). */
  unlock(): void {
    const mode = this.#mode;
    this.#mode = 'released';
    if (mode === 'read') this.#rw.readUnlock();
    else if (mode === 'write') this.#rw.writeUnlock();
    else if (mode === 'upgradable') this.#rw.upgradableReadUnlock();
  }
  /** Upgradable → write (see `RWLock.upgrade`); returns this guard. */
  upgrade(): this {
    if (this.#mode !== 'upgradable') throw this.#wrongMode('upgrade', 'upgradable');
    this.#rw.upgrade();
    this.#mode = 'write';
    return this;
  }
  /** Write → read, atomically (see `RWLock.downgrade`); returns this guard. */
  downgrade(): this {
    if (this.#mode !== 'write') throw this.#wrongMode('downgrade', 'write');
    this.#rw.downgrade();
    this.#mode = 'read';
    return this;
  }
  /** Releases the hold this guard has now, like `unlock()` (for `using`). */
  [Symbol.dispose](): void {
    this.unlock();
  }
  /** Releases the hold this guard has now, like `unlock()` (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.unlock();
  }
  #wrongMode(op: string, want: string): LockError {
    return new LockError(
      'ERR_LOCK_NOT_HELD',
      `${this.#rw.name}: ${op}() on a guard holding ${this.#mode}, not ${want}`,
      this.#rw.name,
    );
  }
}

/**
 * A reader-writer lock in shared memory: many readers or one writer. Writer-preferring: once a
 * writer waits, new readers wait, so writers are never starved by readers; the readers that waited
 * go right after that writer. One thread at a time may hold the upgradable read lock, which
 * coexists with readers and can be upgraded to the write lock; the write lock can be downgraded to
 * a read lock atomically.
 */
export class RWLock {
  /** Bytes one RWLock occupies at a placement. */
  static readonly BYTE_LENGTH = BYTES;
  /** Required alignment of `byteOffset`. */
  static readonly BYTE_ALIGNMENT = 4;

  /** Lock class name (for the verifier and stats); shared through the handle. */
  readonly name: string;
  /** Lock-order verifier class: `name`, or the construction site of an unnamed lock. */
  readonly lockClass: string;
  /** Verifier rank from the options or the handle (undefined: none). */
  readonly rank: number | undefined;
  /** For the verifier: false, a read may wait behind a queued writer (writer-preferring). */
  readonly readerPreferring = false;
  /** The buffer this lock lives in. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of this lock in `buffer`. */
  readonly byteOffset: number;
  readonly #a: Int32Array;
  readonly #i: number;
  /** Read holds taken through this object in this thread. */
  #readHolds = 0;
  /** The holder slot this thread's read holds were last recorded in (−1: none or untracked). */
  #slot = -1;
  /** `slotFrees` when #slot was cached: while equal, #slot is still this thread's slot. */
  #slotFrees = 0;
  /** The guard of the current write / upgradable hold taken through this object, if any. */
  #writeGuard: RWLockGuard | null = null;
  #upgradableGuard: RWLockGuard | null = null;
  #writer: Lockable | undefined;
  #reader: Lockable | undefined;
  /** Called by the raw layer when this thread reaped a dead holder (once per death). */
  readonly #onOwnerDied = (): void => noteOwnerDied(this);

  constructor(options?: RWLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: RWLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    const p = options === FROM_HANDLE ? attach('RWLock', handle, () => BYTES) : place('RWLock', BYTES, options);
    this.name = p.name;
    this.lockClass = p.lockClass;
    this.rank = p.rank;
    this.buffer = p.buffer;
    this.byteOffset = p.byteOffset;
    this.#a = p.i32;
    this.#i = p.base + 1;
  }

  /** Attaches to the RWLock a handle describes (from `rw.handle`, possibly another thread's). */
  static from(handle: Handle): RWLock {
    return new RWLock(FROM_HANDLE, handle);
  }

  /** Plain structured-cloneable description; `RWLock.from(handle)` attaches to the same lock. */
  get handle(): Handle {
    return makeHandle('RWLock', this);
  }

  // ---- read ---------------------------------------------------------------------------------------

  /** Blocks until this thread holds a read lock; returns a guard. */
  readLock(): RWLockGuard {
    // The verifier's only cost when off: this one branch (check/hooks.ts).
    if (checking) return this.#readLockChecked();
    if (!this.#fastRead()) this.#readContended('readLock', Infinity);
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
    if (checking) return this.#tryReadLockChecked(timeoutMs);
    return this.#tryReadLock(timeoutMs);
  }

  #tryReadLock(timeoutMs: number | undefined): boolean {
    if (!this.#fastRead()) {
      if (timeoutMs === undefined) {
        // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
        if (!this.#reaped() || !this.#fastRead()) return false;
      } else if (!this.#readContended('tryReadLock', deadlineAfter(timeoutMs))) return false;
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'read'); // observe
    this.#tookRead();
    return true;
  }

  /** Waits for a read lock on the event loop; rejects with TimeoutError or the signal's reason. */
  async readLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, true, true);
    // No recursion shortcut: another task of this thread may hold the read it would count on, and
    // that task can release it while this one waits, so this one queues behind waiting writers.
    if (!rawTryReadLock(this.#a, this.#i)) {
      const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
      // The hold is recorded in the acquiring turn (core/park.ts `won`), not after the await.
      const slow = readLockAsyncSlow(this.#a, this.#i, wait, this.name, false, this.#onOwnerDied, () => this.#tookRead());
      await (waitStart >= 0 ? observeAsync(this, waitStart, wait.signal, slow, 'read') : slow);
    } else {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'read'); // observe
      this.#tookRead();
    }
    if (checking) onAcquired(this, true, true);
    return new RWLockGuard(this, 'read');
  }

  /** Releases one read hold taken through this object. Throws ERR_LOCK_NOT_HELD if there is none. */
  readUnlock(): void {
    // The word does not name readers: "ours" is this object's count (0 = none, a not-owner release).
    if (checking) onRelease(this, true, this.#readHolds > 0 ? OWNER_ID : 0);
    if (this.#readHolds === 0) {
      throw new LockError(
        'ERR_LOCK_NOT_HELD',
        `${this.name}: readUnlock() by thread ${OWNER_ID - 1}, which holds no read lock on this RWLock`,
        this.name,
      );
    }
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
    checkCallback(fn);
    this.readLock();
    try {
      return fn();
    } finally {
      this.readUnlock();
    }
  }

  /** Awaits a read lock (see `readLockAsync`), runs `fn`, awaits its result, releases. */
  async withReadLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    checkCallback(fn);
    await this.readLockAsync(options);
    try {
      // Under the verifier, `fn` runs in an async scope holding the read lock (check/hooks.ts).
      return await (checking ? runHolding(this, true, fn) : fn());
    } finally {
      this.readUnlock();
    }
  }

  // ---- write --------------------------------------------------------------------------------------

  /** Blocks until this thread holds the write lock; returns a guard. */
  writeLock(): RWLockGuard {
    if (checking) return this.#writeLockChecked();
    // Fast path: one CAS from a completely free word.
    if (Atomics.compareExchange(this.#a, this.#i, 0, WRITE_LOCKED) !== 0) this.#writeContended(Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'write'); // observe: off = one test
    return this.#wrote();
  }

  /**
   * Without `timeoutMs`: takes the write lock if it is free. With it: waits up to `timeoutMs` ms,
   * blocking the thread. Returns whether this thread now holds the write lock.
   */
  tryWriteLock(timeoutMs?: number): boolean {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (checking) return this.#tryWriteLockChecked(timeoutMs);
    return this.#tryWriteLock(timeoutMs);
  }

  #tryWriteLock(timeoutMs: number | undefined): boolean {
    if (!rawTryWriteLock(this.#a, this.#i)) {
      if (timeoutMs === undefined) {
        // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
        if (!this.#reaped() || !rawTryWriteLock(this.#a, this.#i)) return false;
      } else if (!this.#writeContended(deadlineAfter(timeoutMs))) return false;
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'write'); // observe
    this.#wrote();
    return true;
  }

  /** Waits for the write lock on the event loop; rejects with TimeoutError or the signal's reason. */
  async writeLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, false, true);
    if (!rawTryWriteLock(this.#a, this.#i)) {
      const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
      // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
      const slow = writeLockAsyncSlow(this.#a, this.#i, wait, this.name, this.#onOwnerDied, () => this.#ownWrite());
      await (waitStart >= 0 ? observeAsync(this, waitStart, wait.signal, slow, 'write') : slow);
    } else {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'write'); // observe
      this.#ownWrite();
    }
    if (checking) onAcquired(this, false, true);
    return this.#writeGuardFor();
  }

  /** Releases the write lock. Throws ERR_LOCK_NOT_OWNER unless this thread holds it. */
  writeUnlock(): void {
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + WRITER_OWNER));
    // A reaped thread's write lock was released by its reaper: never twice (core/owner-death.ts).
    if (this.#a[this.#i + WRITER_OWNER] !== OWNER_ID && wasReaped()) return;
    this.#checkWriter('writeUnlock');
    this.#releaseWriteGuard()?._setMode('released');
    // Clear the owner before releasing, so the next owner's id is never overwritten.
    Atomics.store(this.#a, this.#i + WRITER_OWNER, 0);
    rawWriteUnlock(this.#a, this.#i);
    if (observing || releaseChannel.hasSubscribers) noteReleased(this, 'write'); // observe: off = one test
  }

  /** Runs `fn` holding the write lock; releases it when `fn` returns or throws. */
  withWriteLock<T>(fn: () => T): T {
    checkCallback(fn);
    this.writeLock();
    try {
      return fn();
    } finally {
      this.writeUnlock();
    }
  }

  /** Awaits the write lock (see `writeLockAsync`), runs `fn`, awaits its result, releases. */
  async withWriteLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    checkCallback(fn);
    await this.writeLockAsync(options);
    try {
      // Under the verifier, `fn` runs in an async scope holding the write lock (check/hooks.ts).
      return await (checking ? runHolding(this, false, fn) : fn());
    } finally {
      this.writeUnlock();
    }
  }

  /**
   * Write → read atomically: no writer can get in between, so the data this thread just wrote
   * is what it reads. Readers that waited may join at once. Returns the read guard (the write
   * guard of this hold, converted, if it was taken through this object).
   */
  downgrade(): RWLockGuard {
    // For the verifier: a write release, then a read acquisition that cannot wait.
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + WRITER_OWNER));
    this.#checkWriter('downgrade');
    const g = this.#releaseWriteGuard();
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
    if (checking) return this.#upgradableReadLockChecked();
    if (!this.#tryUpgradableFast()) this.#upgradableContended(Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'upgradable'); // observe
    return this.#tookUpgradable();
  }

  /** Like `tryReadLock`, for the upgradable read lock. */
  tryUpgradableReadLock(timeoutMs?: number): boolean {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (checking) return this.#tryUpgradableReadLockChecked(timeoutMs);
    return this.#tryUpgradableReadLock(timeoutMs);
  }

  #tryUpgradableReadLock(timeoutMs: number | undefined): boolean {
    if (!this.#tryUpgradableFast()) {
      if (timeoutMs === undefined) {
        // A plain try never waits, but a dead holder must not block it forever: reap, retry once.
        if (!this.#reaped() || !this.#tryUpgradableFast()) return false;
      } else if (!this.#upgradableContended(deadlineAfter(timeoutMs))) return false;
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'upgradable'); // observe
    this.#tookUpgradable();
    return true;
  }

  /** Waits for the upgradable read lock on the event loop. */
  async upgradableReadLockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, false, true);
    if (!this.#tryUpgradableFast()) {
      const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
      // The owner word is written in the acquiring turn (core/park.ts `won`), not after the await.
      const slow = readLockAsyncSlow(this.#a, this.#i, wait, this.name, true, this.#onOwnerDied, () => this.#ownUpgradable());
      await (waitStart >= 0 ? observeAsync(this, waitStart, wait.signal, slow, 'upgradable') : slow);
    } else {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'upgradable'); // observe
      this.#ownUpgradable();
    }
    if (checking) onAcquired(this, false, true);
    return this.#upgradableGuardFor();
  }

  /** Releases the upgradable read lock. Throws ERR_LOCK_NOT_HELD unless this thread holds it. */
  upgradableReadUnlock(): void {
    if (checking) onRelease(this, false, Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER));
    if (Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER) !== OWNER_ID && wasReaped()) return; // as writeUnlock
    this.#checkUpgradable('upgradableReadUnlock');
    this.#releaseUpgradableGuard()?._setMode('released');
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
    this.#checkUpgradable('upgrade');
    if (!rawTryUpgrade(this.#a, this.#i)) {
      if (this.#readsInThread()) throw this.#recursive('upgrade', 'a plain read lock as well');
      this.#upgradeWait(Infinity);
    }
    return this.#upgraded();
  }

  /**
   * Without `timeoutMs`: upgrades if no other reader is inside. With it: waits up to `timeoutMs`
   * ms. Returns whether this thread now holds the write lock; on false it still holds the
   * upgradable read lock.
   */
  tryUpgrade(timeoutMs?: number): boolean {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    this.#checkUpgradable('tryUpgrade');
    if (!rawTryUpgrade(this.#a, this.#i)) {
      if (timeoutMs === undefined || this.#readsInThread()) return false;
      if (!this.#upgradeWait(deadlineAfter(timeoutMs))) return false;
    }
    this.#upgraded();
    return true;
  }

  /** `upgrade` on the event loop; on rejection this thread still holds the upgradable read lock. */
  async upgradeAsync(options?: WaitOptions): Promise<RWLockGuard> {
    const wait = parseWaitOptions(options);
    this.#checkUpgradable('upgradeAsync');
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (!rawTryUpgrade(this.#a, this.#i)) {
      // The owner words move in the upgrading turn (core/park.ts `won`), not after the await.
      await upgradeAsyncSlow(this.#a, this.#i, wait, this.name, this.#onOwnerDied, () => this.#ownUpgraded());
    } else this.#ownUpgraded();
    return this.#upgradedGuardFor();
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
    if (!this.#holdsWrite()) {
      throw new LockError('ERR_LOCK_NOT_HELD', `${this.name}: markConsistent() needs the write lock held by this thread`, this.name);
    }
    clearOwnerDied(this.#a, this.#i);
  }

  /** The write side as a `Lockable` (for `Condition` and other helpers taking any lock). */
  get writer(): Lockable {
    return (this.#writer ??= Object.defineProperty({
      name: this.name,
      lock: () => this.writeLock(),
      unlock: () => this.writeUnlock(),
      tryLock: (ms?: number) => this.tryWriteLock(ms),
      lockAsync: (o?: WaitOptions) => this.writeLockAsync(o),
      isLocked: () => this.isWriteLocked(),
      ownerDied: false,
    }, 'ownerDied', { get: () => this.ownerDied }));
  }

  /** The read side as a `Lockable`: `lock()` takes a read hold, `unlock()` releases one. */
  get reader(): Lockable {
    return (this.#reader ??= {
      name: this.name,
      lock: () => this.readLock(),
      unlock: () => this.readUnlock(),
      tryLock: (ms?: number) => this.tryReadLock(ms),
      lockAsync: (o?: WaitOptions) => this.readLockAsync(o),
      isLocked: () => this.isLocked(),
    });
  }

  // ---- contended paths (observed; checked while the verifier is on) -------------------------------

  #readContended(op: string, deadline: number): boolean {
    this.#checkNotWriter(op);
    const waitStart = watching() ? now() : -1; // observe: time the wait, then record how it ended
    const ok = checking
      ? this.#waitChecked(true, deadline, (step) => readLockSlow(this.#a, this.#i, step, READ_BUDGET, false, this.#onOwnerDied))
      : readLockSlow(this.#a, this.#i, deadline, READ_BUDGET, false, this.#onOwnerDied);
    if (waitStart >= 0) {
      if (ok) noteAcquired(this, waitStart, PARKS.count, 'read');
      else noteTimeout(this, waitStart, 'read');
    }
    return ok;
  }

  #writeContended(deadline: number): boolean {
    this.#checkCanWaitForWrite();
    const waitStart = watching() ? now() : -1; // observe
    const ok = checking
      ? this.#waitChecked(false, deadline, (step) => writeLockSlow(this.#a, this.#i, step, WRITE_BUDGET, this.#onOwnerDied))
      : writeLockSlow(this.#a, this.#i, deadline, WRITE_BUDGET, this.#onOwnerDied);
    if (waitStart >= 0) {
      if (ok) noteAcquired(this, waitStart, PARKS.count, 'write');
      else noteTimeout(this, waitStart, 'write');
    }
    return ok;
  }

  #upgradableContended(deadline: number): boolean {
    this.#checkCanWaitForUpgradable();
    const waitStart = watching() ? now() : -1; // observe
    const ok = checking
      ? this.#waitChecked(false, deadline, (step) => readLockSlow(this.#a, this.#i, step, READ_BUDGET, true, this.#onOwnerDied))
      : readLockSlow(this.#a, this.#i, deadline, READ_BUDGET, true, this.#onOwnerDied);
    if (waitStart >= 0) {
      if (ok) noteAcquired(this, waitStart, PARKS.count, 'upgradable');
      else noteTimeout(this, waitStart, 'upgradable');
    }
    return ok;
  }

  #upgradeWait(deadline: number): boolean {
    if (!checking) return upgradeSlow(this.#a, this.#i, deadline, this.#onOwnerDied);
    return this.#waitChecked(false, deadline, (step) => upgradeSlow(this.#a, this.#i, step, this.#onOwnerDied));
  }

  // ---- the verifier's paths (only while check/hooks.ts `checking` is true) -------------------------

  #readLockChecked(): RWLockGuard {
    // A thread already reading never waits (readLockRecursive): no order edge, like tryLock().
    if (!this.#readsAlready()) onAcquire(this, true, false);
    if (!this.#fastRead()) this.#readContended('readLock', Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'read'); // observe
    onAcquired(this, true, false);
    this.#tookRead();
    return new RWLockGuard(this, 'read');
  }

  #tryReadLockChecked(timeoutMs: number | undefined): boolean {
    // A timed attempt can wait, so it orders like readLock(); a plain try cannot (lockdep's rule).
    if (timeoutMs !== undefined && !this.#readsAlready()) onAcquire(this, true, false);
    const taken = this.#tryReadLock(timeoutMs);
    if (taken) onAcquired(this, true, false);
    return taken;
  }

  #writeLockChecked(): RWLockGuard {
    onAcquire(this, false, false);
    if (Atomics.compareExchange(this.#a, this.#i, 0, WRITE_LOCKED) !== 0) this.#writeContended(Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'write'); // observe
    onAcquired(this, false, false);
    return this.#wrote();
  }

  #tryWriteLockChecked(timeoutMs: number | undefined): boolean {
    if (timeoutMs !== undefined) onAcquire(this, false, false);
    const taken = this.#tryWriteLock(timeoutMs);
    if (taken) onAcquired(this, false, false);
    return taken;
  }

  #upgradableReadLockChecked(): RWLockGuard {
    onAcquire(this, false, false);
    if (!this.#tryUpgradableFast()) this.#upgradableContended(Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this, -1, 0, 'upgradable'); // observe
    onAcquired(this, false, false);
    return this.#tookUpgradable();
  }

  #tryUpgradableReadLockChecked(timeoutMs: number | undefined): boolean {
    // A timed attempt can wait, so it orders like a blocking one; a plain try cannot (lockdep).
    if (timeoutMs !== undefined) onAcquire(this, false, false);
    const taken = this.#tryUpgradableReadLock(timeoutMs);
    if (taken) onAcquired(this, false, false);
    return taken;
  }

  /**
   * A blocking slow path in watchdog-sized steps, so the verifier can look for deadlocks while we
   * wait. The owner we wait for is the write holder, else the upgradable holder (readers have no
   * owner id: 0).
   * CORRECTNESS: a step that times out leaves the word as a timed-out `try*(ms)` does (a writer
   * withdraws WRITERS_WAITING and passes the wake on, an upgrader clears UPGRADING, a reader
   * leaves its READERS_WAITING for the release to clear); the next step re-reads the state word
   * and re-publishes its bit before it sleeps, so a release between two steps is not lost. It
   * only costs the waiter its place (readers may get in between a writer's steps).
   */
  #waitChecked(shared: boolean, deadline: number, attempt: (deadline: number) => boolean): boolean {
    return waitChecked(this, shared, deadline, true, attempt, () => {
      const w = Atomics.load(this.#a, this.#i + WRITER_OWNER);
      return w !== 0 ? w : Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER);
    });
  }

  /**
   * After any read acquisition: count it here and record it in our holder slot (raw/rwlock.ts
   * invariant 10). The slot stays ours at a count of 0 (one plain increment and decrement per
   * read, no claim), until some thread found every slot taken (SLOTS_WANTED): from then on slots
   * are freed at 0. The cached slot is known to be ours without reading shared memory while
   * `slotFrees` is unchanged: only this thread frees its own slot while it lives (a reaper frees
   * dead threads' slots only), and every free by this thread, through any RWLock object, bumps it.
   */
  #tookRead(): void {
    this.#readHolds++;
    if (this.#slot >= 0 && this.#slotFrees === slotFrees) {
      // Our count, a plain write: while we live nobody else writes or reads it (see #dropRead).
      this.#a[this.#i + READ_HOLDERS + 2 * this.#slot + 1]++;
    } else {
      this.#slot = this.#claimSlot();
      this.#slotFrees = slotFrees;
    }
  }

  #claimSlot(): number {
    const k = addHold(this.#a, this.#i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1);
    if (k >= 0) return k;
    // Every slot is taken: free dead readers' slots (giving their holds back), retry once, and
    // ask live readers to free theirs at a count of 0 from now on.
    // Ask for slots: holders that see this free their slot when their count drops to 0.
    Atomics.or(this.#a, this.#i + FLAGS, SLOTS_WANTED);
    reapDeadOwners(this.#a, this.#i, this.#onOwnerDied);
    return addHold(this.#a, this.#i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1); // −1: untracked
  }

  /**
   * Before releasing a read hold: drop it from our holder slot (raw/rwlock.ts invariant 10).
   * Returns true when our cached slot's count reached 0 (the caller may free it after the release).
   */
  #dropRead(): boolean {
    const k = this.#slot;
    if (k >= 0 && this.#slotFrees === slotFrees) {
      // Our count, written plainly: only we touch it while we live. A reaper reads it only after
      // our death is published (after this thread stopped: owner-death.ts invariant 1), and a
      // later claimer of the slot only after our SC store of the owner in #freeSlot, which orders it.
      const h = this.#i + READ_HOLDERS + 2 * k + 1;
      const c = this.#a[h] - 1;
      this.#a[h] = c;
      return c === 0;
    }
    // No cached slot (untracked, or freed by another object of this thread): search for ours.
    // dropHold frees the slot at 0, so the other objects' cached slots may be stale now.
    if (dropHold(this.#a, this.#i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1)) slotFrees++;
    this.#slot = -1;
    return false;
  }

  /**
   * After the release that followed a #dropRead to 0: give the slot back if readers asked for
   * slots (SLOTS_WANTED). FLAGS is read plainly, after the STATE RMW: the bit is advisory and
   * never cleared, so a stale 0 only delays the free to a later release, and an `Atomics.load`
   * here would be a builtin call that costs more than the rest of the release together.
   */
  #freeSlotIfWanted(): void {
    if ((this.#a[this.#i + FLAGS] & SLOTS_WANTED) === 0) return;
    // Our count is 0 and we are not dead: a reaper would find nothing to give back. Free the slot
    // (only we change its owner while we live); the SC store orders our count's plain writes
    // before any later claimer's.
    Atomics.store(this.#a, this.#i + READ_HOLDERS + 2 * this.#slot, 0);
    this.#slot = -1;
    slotFrees++;
  }

  /** A failed plain try: release a dead holder's hold if there is one; true if it did. */
  #reaped(): boolean {
    return reapDeadOwners(this.#a, this.#i, this.#onOwnerDied) > 0;
  }

  /**
   * Whether this thread holds a read lock on this RWLock through any object: ours, or its record
   * in the holder slots (only this thread writes its own slot while it lives, so the record is
   * exact here). An untracked read (every holder slot taken) through another object is missed.
   */
  #readsInThread(): boolean {
    return this.#readHolds > 0 || heldBy(this.#a, this.#i + READ_HOLDERS, READ_SLOTS, OWNER_ID) > 0;
  }

  /** A read or the upgradable lock held by this thread: a new read never waits (invariant 2). */
  #readsAlready(): boolean {
    return this.#readsInThread() || Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER) === OWNER_ID;
  }

  // ---- internals ----------------------------------------------------------------------------------

  /**
   * Read fast path: the raw one-CAS attempt (no load of the state line first, raw/rwlock.ts), or,
   * only when readers are kept out, an unconditional add for a thread that already reads.
   */
  #fastRead(): boolean {
    if (rawTryReadLock(this.#a, this.#i)) return true;
    // Kept out: a thread that already reads must not wait behind a writer that waits for it.
    if (this.#readsAlready()) {
      readLockRecursive(this.#a, this.#i);
      return true;
    }
    return false;
  }

  #tryUpgradableFast(): boolean {
    // One CAS from a free word to "one reader, upgradable".
    return Atomics.compareExchange(this.#a, this.#i, 0, 1 | UPGRADABLE) === 0 || rawTryUpgradableRead(this.#a, this.#i);
  }

  #holdsWrite(): boolean {
    return Atomics.load(this.#a, this.#i + WRITER_OWNER) === OWNER_ID;
  }

  #wrote(): RWLockGuard {
    this.#ownWrite();
    return this.#writeGuardFor();
  }

  /** Names us in WRITER_OWNER, for ownership checks and dead-owner reaping (invariant 9). */
  #ownWrite(): void {
    Atomics.store(this.#a, this.#i + WRITER_OWNER, OWNER_ID);
  }

  #writeGuardFor(): RWLockGuard {
    const g = new RWLockGuard(this, 'write');
    this.#writeGuard = g;
    return g;
  }

  #tookUpgradable(): RWLockGuard {
    this.#ownUpgradable();
    return this.#upgradableGuardFor();
  }

  /** Names us in UPGRADABLE_OWNER, for ownership checks and dead-owner reaping (invariant 9). */
  #ownUpgradable(): void {
    Atomics.store(this.#a, this.#i + UPGRADABLE_OWNER, OWNER_ID);
  }

  #upgradableGuardFor(): RWLockGuard {
    const g = new RWLockGuard(this, 'upgradable');
    this.#upgradableGuard = g;
    return g;
  }

  #upgraded(): RWLockGuard {
    this.#ownUpgraded();
    return this.#upgradedGuardFor();
  }

  #ownUpgraded(): void {
    // The write lock is ours now: move the owner id from one word to the other, clearing the old
    // one first so that no dead-owner reaper finds us named twice (raw/rwlock.ts invariant 9).
    Atomics.store(this.#a, this.#i + UPGRADABLE_OWNER, 0);
    // Named as the writer: from here a reaper releases the write lock on our behalf.
    Atomics.store(this.#a, this.#i + WRITER_OWNER, OWNER_ID);
  }

  #upgradedGuardFor(): RWLockGuard {
    const g = this.#releaseUpgradableGuard() ?? new RWLockGuard(this, 'write');
    g._setMode('write');
    this.#writeGuard = g;
    return g;
  }

  #releaseWriteGuard(): RWLockGuard | null {
    const g = this.#writeGuard;
    this.#writeGuard = null;
    return g;
  }

  #releaseUpgradableGuard(): RWLockGuard | null {
    const g = this.#upgradableGuard;
    this.#upgradableGuard = null;
    return g;
  }

  #checkWriter(op: string): void {
    // A plain read (an Atomics call costs more than the whole fast path around it): only this
    // thread writes its own id there, so it reads its own id exactly while it holds the write
    // lock; another thread's id, possibly stale, only goes into the error message.
    const owner = this.#a[this.#i + WRITER_OWNER];
    if (owner === OWNER_ID) return;
    throw new LockError(
      'ERR_LOCK_NOT_OWNER',
      owner === 0
        ? `${this.name}: ${op}() of an RWLock whose write lock is not held`
        : `${this.name}: ${op}() by thread ${OWNER_ID - 1} of an RWLock write-locked by thread ${owner - 1}`,
      this.name,
    );
  }

  #checkUpgradable(op: string): void {
    const owner = Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER);
    if (owner === OWNER_ID) return;
    throw new LockError(
      'ERR_LOCK_NOT_HELD',
      owner === 0
        ? `${this.name}: ${op}() without the upgradable read lock (nobody holds it)`
        : `${this.name}: ${op}() by thread ${OWNER_ID - 1}; the upgradable read lock is held by thread ${owner - 1}`,
      this.name,
    );
  }

  #checkNotWriter(op: string): void {
    if (this.#holdsWrite()) throw this.#recursive(op, 'the write lock');
  }

  #checkCanWaitForWrite(): void {
    if (this.#holdsWrite()) throw this.#recursive('writeLock', 'the write lock');
    if (this.#readsInThread()) throw this.#recursive('writeLock', 'a read lock');
    if (Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER) === OWNER_ID) {
      throw this.#recursive('writeLock', 'the upgradable read lock (use upgrade())');
    }
  }

  #checkCanWaitForUpgradable(): void {
    if (this.#holdsWrite()) throw this.#recursive('upgradableReadLock', 'the write lock');
    // A waiting writer (or upgrade) waits for our read hold while we would wait for it.
    if (this.#readsInThread()) throw this.#recursive('upgradableReadLock', 'a read lock (take the upgradable lock first)');
    if (Atomics.load(this.#a, this.#i + UPGRADABLE_OWNER) === OWNER_ID) {
      throw this.#recursive('upgradableReadLock', 'the upgradable read lock');
    }
  }

  #recursive(op: string, what: string): LockError {
    return new LockError(
      'ERR_LOCK_RECURSIVE',
      `${this.name}: ${op}() by thread ${OWNER_ID - 1}, which holds ${what}; waiting would deadlock`,
      this.name,
    );
  }
}
