/**
 * `Condition`: a condition variable in shared memory that works with any exclusive lock (Mutex,
 * SpinLock, TicketLock, or anything with `lock`/`unlock`/`lockAsync`: the `Lockable` protocol).
 *
 * Algorithm: Rust std's futex condvar (`library/std/src/sys/sync/condvar/futex.rs`): a sequence
 * word that every notify bumps. `wait` reads the sequence *while still holding the lock*, unlocks,
 * and sleeps on the value it read; a notify after that read changes the word, so the sleep either
 * is woken by the notify or returns 'not-equal' at once. A WAITERS count lets a notify skip the
 * `Atomics.notify` call when nobody waits.
 *
 * Layout (BYTE_LENGTH 12):
 * | word | name    | meaning |
 * |------|---------|---------|
 * | 0    | tag     | kind tag, written once by the constructor |
 * | 1    | SEQ     | notify counter (wraps; compared with ===); waiters sleep on it |
 * | 2    | WAITERS | waits between their SEQ read and their wakeup |
 *
 * All zero is a valid condition variable with nobody waiting.
 *
 * ## Invariants
 * 1. A waiter reads SEQ before it releases the lock. A notifier changes the predicate's state
 *    under the lock, so its notify (bump SEQ, then read WAITERS) comes after the waiter's SEQ read
 *    whenever the waiter saw the old state. CORRECTNESS: reading SEQ after unlocking instead would
 *    let a whole lock/change/notify/unlock happen in between and the waiter would sleep on the
 *    already-bumped value: a lost wakeup (the negative control in `test/condition.test.ts`).
 * 2. A waiter increments WAITERS before it unlocks and decrements it after it wakes. A notifier
 *    bumps SEQ, then reads WAITERS; if it reads 0, the waiter's increment (and so its sleep) comes
 *    after the bump, and either its SEQ read also did (it started waiting after this notify) or
 *    its sleep returns 'not-equal'. Skipping the notify call is therefore safe.
 * 3. `wait` relocks in every case (notified, timed out, spurious, aborted) before it returns or
 *    throws, as callers re-check their predicate under the lock.
 * 4. An aborted `waitAsync` stays in the futex queue; a notify that later reaches it is passed on
 *    to one other waiter (CORRECTNESS: else `notify(1)` could wake nobody).
 *
 * Spurious wakeups are possible (a notify that lands between a waiter's SEQ read and its sleep
 * wakes it as well as the one it woke; wrap-around after 2³² notifies during one wait could
 * delay one): callers loop on their predicate, as with every condition variable.
 *
 * ## Memory ordering
 * All accesses to SEQ and WAITERS are Atomics (sequentially consistent); invariant 2 is a Dekker
 * pair between "increment WAITERS, sleep on SEQ" and "bump SEQ, read WAITERS". The protected data
 * is ordered by the lock itself.
 *
 * ## Lock-order verifier
 * The lock's own `unlock`/`lock` call the verifier's hooks (the Condition is not a lock). While the
 * verifier is on (`checking`, tested once), the blocking sleep of `wait` runs under `waitChecked`
 * (main-thread-block report, a waits-for entry naming the Condition with owner 0) in watchdog-sized
 * steps. CORRECTNESS: every step sleeps on the SEQ value read under the lock, so a notify between
 * two steps makes the next step return 'not-equal' at once: nothing is lost (such a notify may also
 * wake another waiter: a spurious wakeup, which callers tolerate).
 */
import { attach, describe, makeHandle, place, type Handle, type PlacementOptions } from './core/layout.js';
import {
  checkTimeout,
  deadlineAfter,
  parseWaitOptions,
  waitAsyncUntil,
  waitUntil,
  wake,
  type WaitOptions,
} from './core/futex.js';
import { abortReason, LockError } from './core/errors.js';
import { checking, waitChecked } from './check/hooks.js';

const SEQ = 0;
const WAITERS = 1;
const BYTES = 12;
const FROM_HANDLE = Symbol('fromHandle');

/** What a Condition needs from a lock: `lockAsync` only for `waitAsync`. */
export interface ConditionLock {
  /** Re-acquires the lock after `wait` (blocking). */
  lock(): unknown;
  /** Releases the lock when `wait`/`waitAsync` starts waiting. */
  unlock(): void;
  /** Re-acquires the lock after `waitAsync`; required only by `waitAsync`. */
  lockAsync?(options?: WaitOptions): Promise<unknown>;
  /** If present, used to reject waiting without holding the lock (LockError ERR_LOCK_NOT_HELD). */
  isHeldByCurrentThread?(): boolean;
  /** Lock name used in error messages (`'lock'` when absent). */
  readonly name?: string;
}

/** Options of `new Condition()`: placement, class name and verifier rank. */
export type ConditionOptions = PlacementOptions;

// ---- raw layer: pure functions over (Int32Array, index of SEQ) ---------------------------------

/** First half of a wait, called holding the lock: returns the SEQ value to sleep on. */
export function prepareWait(a: Int32Array, i: number): number {
  // Read while the lock is held (invariant 1).
  const seq = Atomics.load(a, i + SEQ);
  // Counted before the unlock, so a notify that follows does not skip the wake (invariant 2).
  Atomics.add(a, i + WAITERS, 1);
  return seq;
}

/** The wait is over (woken, timed out, aborted or failed to start). */
export function finishWait(a: Int32Array, i: number): void {
  // No longer needs a notify.
  Atomics.sub(a, i + WAITERS, 1);
}

/** Wakes up to `count` waiters; returns how many `Atomics.notify` woke. */
export function notifyRaw(a: Int32Array, i: number, count: number): number {
  // CORRECTNESS: bump first, then look for waiters (invariant 2); waiters that read SEQ before this get 'not-equal'.
  Atomics.add(a, i + SEQ, 1);
  if (Atomics.load(a, i + WAITERS) === 0) return 0;
  // Wake the first `count` sleepers of the FIFO futex queue.
  return wake(a, i + SEQ, count);
}

// ---- API ------------------------------------------------------------------------------------------

/** A condition variable for worker_threads, used with any exclusive lock. */
export class Condition {
  /** Bytes one Condition occupies at a placement. */
  static readonly BYTE_LENGTH = BYTES;
  /** Required alignment of `byteOffset`. */
  static readonly BYTE_ALIGNMENT = 4;

  /** Class name (for the verifier and stats); shared through the handle. */
  readonly name: string;
  /** The buffer this condition variable lives in. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of this condition variable in `buffer`. */
  readonly byteOffset: number;
  readonly #a: Int32Array;
  readonly #i: number;

  constructor(options?: ConditionOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: ConditionOptions | typeof FROM_HANDLE, handle?: unknown) {
    const p = options === FROM_HANDLE ? attach('Condition', handle, () => BYTES) : place('Condition', BYTES, options);
    this.name = p.name;
    this.buffer = p.buffer;
    this.byteOffset = p.byteOffset;
    this.#a = p.i32;
    this.#i = p.base + 1;
  }

  /** Attaches to the Condition a handle describes (from `cv.handle`, possibly another thread's). */
  static from(handle: Handle): Condition {
    return new Condition(FROM_HANDLE, handle);
  }

  /** Plain structured-cloneable description; `Condition.from(handle)` attaches to the same one. */
  get handle(): Handle {
    return makeHandle('Condition', this);
  }

  /** Counts this thread as a waiter, reads SEQ (before unlocking: invariant 1), then unlocks. */
  #releaseForWait(lock: ConditionLock): number {
    const seq = prepareWait(this.#a, this.#i);
    try {
      lock.unlock();
    } catch (e) {
      finishWait(this.#a, this.#i);
      throw e;
    }
    return seq;
  }

  /**
   * Releases `lock` (which this thread must hold), blocks until notified or `timeoutMs` passed,
   * and locks it again, in every case, before returning. Returns false on timeout, true otherwise
   * (notified or spurious: re-check the predicate in a loop). Throws LockError ERR_LOCK_NOT_HELD
   * if `lock` can tell this thread does not hold it.
   */
  wait(lock: ConditionLock, timeoutMs?: number): boolean {
    this.#checkLock(lock, false);
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    this.#checkHeld(lock);
    const deadline = deadlineAfter(timeoutMs);
    const a = this.#a;
    const i = this.#i;
    const seq = this.#releaseForWait(lock);
    let r;
    try {
      // Sleep until a notify bumps SEQ (or one already did since our read: 'not-equal').
      if (!checking) r = waitUntil(a, i + SEQ, seq, deadline);
      else {
        const attempt = (step: number): boolean => waitUntil(a, i + SEQ, seq, step) !== 'timed-out';
        r = waitChecked(this, false, deadline, true, attempt, () => 0) ? 'ok' : 'timed-out';
      }
    } finally {
      finishWait(a, i);
      lock.lock(); // invariant 3
    }
    return r !== 'timed-out';
  }

  /**
   * `wait` on the event loop: releases `lock`, waits for a notify, then re-acquires it with
   * `lock.lockAsync()` (always, also after a timeout or abort). Resolves to false when
   * `options.timeout` ms passed, true otherwise; rejects with the signal's reason on abort (the
   * lock is held again by then).
   */
  async waitAsync(lock: ConditionLock, options?: WaitOptions): Promise<boolean> {
    this.#checkLock(lock, true);
    const wait = parseWaitOptions(options);
    this.#checkHeld(lock);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    const a = this.#a;
    const i = this.#i;
    const seq = this.#releaseForWait(lock);
    let r: string | undefined;
    let failed = false;
    let error: unknown;
    try {
      // Sleep on the event loop; an aborted wait stays queued and forwards its notify (invariant 4).
      r = await waitAsyncUntil(a, i + SEQ, seq, wait.deadline, wait.signal, () => this.#forward());
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      finishWait(a, i);
    }
    await lock.lockAsync!(); // invariant 3
    if (failed) throw error;
    return r !== 'timed-out';
  }

  /**
   * Wakes up to `n` waiters (default 1). Call it after changing the predicate's state under the
   * lock (holding the lock while notifying is allowed but not required). Returns how many were
   * woken; waiters that were just about to sleep also return, as a spurious wakeup.
   */
  notify(n = 1): number {
    if (typeof n !== 'number') throw new TypeError(`n must be a number of waiters, got ${describe(n)}`);
    if (n !== Infinity && (!Number.isSafeInteger(n) || n < 1)) {
      throw new RangeError(`n must be a positive integer or Infinity, got ${n}`);
    }
    return notifyRaw(this.#a, this.#i, n);
  }

  /** Wakes every waiter; returns how many were woken. */
  notifyAll(): number {
    return notifyRaw(this.#a, this.#i, Infinity);
  }

  /** Snapshot of the number of waits in progress, for diagnostics only. */
  waiters(): number {
    return Atomics.load(this.#a, this.#i + WAITERS);
  }

  #forward(): void {
    // CORRECTNESS: an aborted wait swallowed this wakeup; give it to another waiter (invariant 4).
    if (Atomics.load(this.#a, this.#i + WAITERS) !== 0) wake(this.#a, this.#i + SEQ, 1);
  }

  #checkLock(lock: unknown, needsAsync: boolean): asserts lock is ConditionLock {
    if (
      lock === null ||
      typeof lock !== 'object' ||
      typeof (lock as ConditionLock).lock !== 'function' ||
      typeof (lock as ConditionLock).unlock !== 'function' ||
      (needsAsync && typeof (lock as ConditionLock).lockAsync !== 'function')
    ) {
      throw new TypeError(
        `lock must be a lock with lock()${needsAsync ? ', lockAsync()' : ''} and unlock() methods, got ${describe(lock)}`,
      );
    }
  }

  #checkHeld(lock: ConditionLock): void {
    if (typeof lock.isHeldByCurrentThread === 'function' && !lock.isHeldByCurrentThread()) {
      const lockName = typeof lock.name === 'string' ? lock.name : 'lock';
      throw new LockError(
        'ERR_LOCK_NOT_HELD',
        `${this.name}: wait needs ${lockName} held by this thread, and it is not`,
        lockName,
      );
    }
  }
}
