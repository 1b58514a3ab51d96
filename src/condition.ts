/**
 * `Condition`: a condition variable in shared memory that works with any exclusive lock (Mutex,
 * SpinLock, TicketLock, or anything with `lock`/`unlock`/`lockAsync`: the `Lockable` protocol).
 * The algorithm (Rust std's futex condvar), its word table and invariants are in
 * `raw/condition.ts` (invariant numbers below refer to it); this file is the API: handles,
 * argument checks, releasing and re-taking the caller's lock, the verifier's hook.
 *
 * Layout (BYTE_LENGTH 12): word 0 is the kind tag, written once by the constructor; words 1–2 are
 * the state words of `raw/condition.ts` (SEQ, WAITERS). All zero is a valid condition variable
 * with nobody waiting.
 *
 * ## Lock-order verifier
 * The lock's own `unlock`/`lock` call the verifier's hooks (the Condition is not a lock). While the
 * verifier is on (`checking`, tested once), the blocking sleep of `wait` runs under `waitChecked`
 * (main-thread-block report, a waits-for entry naming the Condition with owner 0) in watchdog-sized
 * steps. CORRECTNESS: every step sleeps on the SEQ value read under the lock, so a notify between
 * two steps makes the next step return 'not-equal' at once: nothing is lost (such a notify may also
 * wake another waiter: a spurious wakeup, which callers tolerate).
 */
import { describe, FROM_HANDLE, placeOrAttach, Primitive, type ConditionOptions, type Handle } from './core/layout.js';
import { checkTimeout, deadlineAfter, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { abortReason, LockError } from './core/errors.js';
import { checking, waitChecked } from './core/hooks.js';
import type { Lockable } from './exclusive.js';
import {
  CONDITION_WORDS,
  finishWait,
  notify as notifyWaiters,
  prepareWait,
  sleep,
  sleepAsync,
  waitsOf,
  WAITERS,
  type CondWait,
} from './raw/condition.js';

const BYTES = 4 * (1 + CONDITION_WORDS);

/**
 * What a Condition needs of a lock: the part of the one `Lockable` protocol it uses. `lock` and
 * `unlock` always; `lockAsync` only for `waitAsync`; `isHeldByCurrentThread`, if present, to
 * reject waiting without the lock (LockError ERR_LOCK_NOT_HELD); `name` for messages (`'lock'`
 * when absent). Every sablock lock and lock view (`RWLock.writer`) is one.
 */
export type ConditionLock = Pick<Lockable, 'lock' | 'unlock' | 'isHeldByCurrentThread'> & Partial<Pick<Lockable, 'lockAsync' | 'name'>>;

/** A condition variable for worker_threads, used with any exclusive lock. */
export class Condition extends Primitive {
  /** Bytes one Condition occupies at a placement. */
  static readonly BYTE_LENGTH = BYTES;

  readonly #a: Int32Array;
  readonly #i: number;

  constructor(options?: ConditionOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: ConditionOptions | typeof FROM_HANDLE, handle?: unknown) {
    const p = placeOrAttach('Condition', BYTES, options, handle);
    super('Condition', p);
    this.#a = p.i32;
    this.#i = p.base + 1;
  }

  /** Attaches to the Condition a handle describes (from `cv.handle`, possibly another thread's). */
  static from(handle: Handle): Condition {
    return attachHandle(handle);
  }

  /** Counts this thread as a waiter, reads SEQ (before unlocking: invariant 1), then unlocks. */
  #releaseForWait(lock: ConditionLock): CondWait {
    const w = prepareWait(this.#a, this.#i);
    try {
      lock.unlock();
    } catch (e) {
      finishWait(this.#a, this.#i);
      throw e;
    }
    return w;
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
    const w = this.#releaseForWait(lock);
    let notified: boolean;
    try {
      // Sleep until a notify bumps SEQ (or one already did since our read: 'not-equal').
      if (!checking) notified = sleep(a, i, w, deadline);
      else notified = waitChecked(this, false, deadline, true, (step) => sleep(a, i, w, step), () => 0);
    } finally {
      finishWait(a, i);
      lock.lock(); // invariant 3
    }
    return notified;
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
    const w = this.#releaseForWait(lock);
    let notified = false;
    let failed = false;
    let error: unknown;
    try {
      // Sleep on the event loop; an aborted wait stays queued and forwards its notify (invariant 4).
      notified = await sleepAsync(a, i, w, wait, this.name);
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      finishWait(a, i);
    }
    await lock.lockAsync!(); // invariant 3
    if (failed) throw error;
    return notified;
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
    return notifyWaiters(this.#a, this.#i, n);
  }

  /** Wakes every waiter; returns how many were woken. */
  notifyAll(): number {
    return notifyWaiters(this.#a, this.#i, Infinity);
  }

  /** Snapshot of the number of waits in progress, for diagnostics only. */
  waiters(): number {
    return waitsOf(Atomics.load(this.#a, this.#i + WAITERS));
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

/**
 * `Condition.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_Condition` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): Condition {
  return new Condition(FROM_HANDLE, handle);
}
