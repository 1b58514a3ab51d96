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
 * | 2    | WAITERS | bits 0–15: waits between their SEQ read and their return (W); bits 16–31: wakeups granted by notifies and not yet taken (G ≤ W) |
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
 * 5. Bounded sleeps and grants. The forwarding in 4 runs on the aborted waiter's event loop, which
 *    may be blocked for good (its thread now sleeps in `wait` on this very word). So every sleep
 *    lasts at most `WAKE_SLICE_MS`, and a notify also grants wakeups: `notify(n)` adds
 *    `min(n, W − G)` to G before it bumps SEQ. A waiter returns `true` when it was notified (its
 *    sleep ended in a notify, or SEQ had moved before its first sleep) and then takes a grant if
 *    one is left. A waiter whose slice ran out and finds SEQ moved re-reads SEQ and sleeps on (the
 *    notify most likely woke someone else, who takes its grant within moments); if its next slice
 *    passes with SEQ unmoved and a grant is still left, that wakeup went astray and it takes the
 *    grant and returns. CORRECTNESS: a notify after the re-read added its grant before its bump,
 *    so the sleep returns at once and the grant is there. So a stranded wait ends within two
 *    slices, and `notify(1)` ends one wait (plus a spurious one only if the woken waiter is
 *    descheduled for a whole slice) instead of every wait. A waiter that leaves (timeout, abort)
 *    lowers G to at most the waiters left.
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
  now,
  parseWaitOptions,
  WAKE_SLICE_MS,
  waitAsyncUntil,
  waitUntil,
  wake,
  type ParsedWait,
  type WaitOptions,
  type WaitResult,
} from './core/futex.js';
import { abortReason, LockError } from './core/errors.js';
import { checking, waitChecked } from './check/hooks.js';

const SEQ = 0;
const WAITERS = 1;
/** WAITERS: the count of waits (W) in the low half, the wakeups granted (G) in the high half. */
const W_MASK = 0xffff;
const G_ONE = 0x1_0000;
const waitsOf = (v: number): number => v & W_MASK;
const grantsOf = (v: number): number => v >>> 16;
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
  if (waitsOf(Atomics.add(a, i + WAITERS, 1)) === W_MASK) {
    // The count would spill into the grants: undo, refuse.
    Atomics.sub(a, i + WAITERS, 1);
    throw new LockError('ERR_LOCK_STATE', `Condition: more than ${W_MASK - 1} waits at once`);
  }
  return seq;
}

/** The wait is over (woken, timed out, aborted or failed to start); grants stay ≤ waits (invariant 5). */
export function finishWait(a: Int32Array, i: number): void {
  for (;;) {
    const v = Atomics.load(a, i + WAITERS);
    const w = waitsOf(v) - 1;
    const g = Math.min(grantsOf(v), w);
    // One wait fewer; a grant it leaves behind would only cause a spurious wakeup later.
    if (Atomics.compareExchange(a, i + WAITERS, v, ((g << 16) | w) | 0) === v) return;
  }
}

/** Takes one granted wakeup if one is left (invariant 5). */
function takeGrant(a: Int32Array, i: number): boolean {
  for (;;) {
    const v = Atomics.load(a, i + WAITERS);
    if (grantsOf(v) === 0) return false;
    // One grant fewer, from exactly what we saw.
    if (Atomics.compareExchange(a, i + WAITERS, v, (v - G_ONE) | 0) === v) return true;
  }
}

/** Wakes up to `count` waiters; returns how many `Atomics.notify` woke. */
export function notifyRaw(a: Int32Array, i: number, count: number): number {
  let v = Atomics.load(a, i + WAITERS);
  for (;;) {
    const add = Math.min(count, waitsOf(v) - grantsOf(v));
    if (add <= 0) break;
    // Grant the wakeups before the bump, so a waiter that re-reads SEQ after it finds them (invariant 5).
    const seen = Atomics.compareExchange(a, i + WAITERS, v, (v + add * G_ONE) | 0);
    if (seen === v) break;
    v = seen;
  }
  // CORRECTNESS: bump, then look for waiters (invariant 2); waiters that read SEQ before this get 'not-equal'.
  Atomics.add(a, i + SEQ, 1);
  if (waitsOf(Atomics.load(a, i + WAITERS)) === 0) return 0;
  // Wake the first `count` sleepers of the FIFO futex queue.
  return wake(a, i + SEQ, count);
}

/**
 * A wait in progress (invariant 5): `seq` is the SEQ value slept on; `slept` is false until the
 * first sleep slice has run out (before that, SEQ moving means this wait was notified); `moved`:
 * the last slice ended with SEQ moved, and nothing has moved since it was re-read.
 */
interface Sleeper {
  seq: number;
  slept: boolean;
  moved: boolean;
}

/**
 * What one sleep's result means for a wait: true (notified: return), false (sleep on; `sl.seq` may
 * have been re-read), or 'timed-out' once `deadline` passed.
 */
function afterSleep(a: Int32Array, i: number, sl: Sleeper, r: WaitResult, deadline: number): boolean | 'timed-out' {
  if (r === 'ok' || (r === 'not-equal' && !sl.slept)) {
    // Notified: take the grant meant for us if it is still there.
    takeGrant(a, i);
    return true;
  }
  if (r === 'timed-out') {
    sl.slept = true;
    if (now() >= deadline) return 'timed-out';
    if (Atomics.load(a, i + SEQ) === sl.seq) {
      // A whole slice without news since SEQ last moved: a grant still left now was not taken by
      // the waiter its notify woke (that one takes it within moments): the wakeup went astray, to an
      // abandoned async wait. Take it in its place. (Taking it at once, when SEQ is first seen
      // moved, would race the woken waiter and end two waits for one notify.)
      const lost = sl.moved && takeGrant(a, i);
      sl.moved = false;
      return lost;
    }
  }
  // SEQ moved while we slept and no notify reached us: most likely it woke someone else. Sleep on
  // from the new value (a later notify grants before it bumps) and look at the grants next slice.
  sl.moved = true;
  sl.seq = Atomics.load(a, i + SEQ);
  return false;
}

/** Sleeps for `sl` until notified (true) or `deadline` (false). */
function sleepSync(a: Int32Array, i: number, sl: Sleeper, deadline: number): boolean {
  for (;;) {
    // One slice at most: a wakeup swallowed by an abandoned async wait must not strand us.
    const r = waitUntil(a, i + SEQ, sl.seq, Math.min(deadline, now() + WAKE_SLICE_MS));
    const done = afterSleep(a, i, sl, r, deadline);
    if (done !== false) return done === true;
  }
}

/** `sleepSync` on the event loop; rejects with the signal's reason on abort. */
async function sleepAsync(a: Int32Array, i: number, sl: Sleeper, wait: ParsedWait, forward: () => void): Promise<boolean> {
  for (;;) {
    const r = await waitAsyncUntil(a, i + SEQ, sl.seq, Math.min(wait.deadline, now() + WAKE_SLICE_MS), wait.signal, forward);
    const done = afterSleep(a, i, sl, r, wait.deadline);
    if (done !== false) return done === true;
  }
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
    const sl: Sleeper = { seq: this.#releaseForWait(lock), slept: false, moved: false };
    let notified: boolean;
    try {
      // Sleep until a notify bumps SEQ (or one already did since our read: 'not-equal').
      if (!checking) notified = sleepSync(a, i, sl, deadline);
      else notified = waitChecked(this, false, deadline, true, (step) => sleepSync(a, i, sl, step), () => 0);
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
    const sl: Sleeper = { seq: this.#releaseForWait(lock), slept: false, moved: false };
    let notified = false;
    let failed = false;
    let error: unknown;
    try {
      // Sleep on the event loop; an aborted wait stays queued and forwards its notify (invariant 4).
      notified = await sleepAsync(a, i, sl, wait, () => this.#forward());
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
    return notifyRaw(this.#a, this.#i, n);
  }

  /** Wakes every waiter; returns how many were woken. */
  notifyAll(): number {
    return notifyRaw(this.#a, this.#i, Infinity);
  }

  /** Snapshot of the number of waits in progress, for diagnostics only. */
  waiters(): number {
    return waitsOf(Atomics.load(this.#a, this.#i + WAITERS));
  }

  #forward(): void {
    // CORRECTNESS: an aborted wait swallowed this wakeup; give it to another waiter (invariant 4).
    if (waitsOf(Atomics.load(this.#a, this.#i + WAITERS)) !== 0) wake(this.#a, this.#i + SEQ, 1);
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
