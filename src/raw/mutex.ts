/**
 * Raw exclusive lock: one Int32 word, owner id + flag bits. Used by `Mutex` (short adaptive spin,
 * eventual fairness) and `SpinLock` (longer test-and-test-and-set spin with backoff, no handoff),
 * and by anything that needs an exclusive lock without an object (lock arrays, the lock manager).
 *
 * Algorithm: the futex mutex of Drepper's "Futexes Are Tricky" (mutex3: a "contended" flag, so an
 * uncontended release never calls notify), with the owner id in the word as in Linux's robust
 * futexes (so ownership checks are free), and Go's starvation mode for eventual fairness: a waiter
 * that has been parked longer than `fairAfterMs` sets FAIR, and the next release hands the lock
 * to the longest-parked waiter (the futex queue is FIFO) instead of letting a running thread
 * barge in. parking_lot reaches the same bound with a timer per bucket.
 *
 * ## State word
 * | bits  | name       | meaning |
 * |-------|------------|---------|
 * | 0–27  | OWNER_MASK | owner id (`threadId + 1`); 0 = no owner |
 * | 28    | PARKED     | a thread may be asleep on the word: release must notify |
 * | 29    | FAIR       | a waiter has been parked too long: the next release hands off |
 * | 30    | HANDOFF    | released to the parked waiters only: locked for everyone else |
 * | 31    | OWNER_DIED | a holder died holding it; kept until `markConsistent` clears it |
 *
 * | owner | PARKED | FAIR | HANDOFF | state |
 * |-------|--------|------|---------|-------|
 * | 0     | 0      | 0    | 0       | free (the only free state, OWNER_DIED aside) |
 * | t     | 0      | 0    | 0       | held by t, nobody parked: release is one CAS, no notify |
 * | t     | 1      | 0    | 0       | held by t, waiters may sleep: release frees and wakes one |
 * | t     | 1      | 1    | 0       | held by t, a waiter is starving: release hands off |
 * | 0     | 1      | any  | 1       | handed off: the first parked waiter to look claims it |
 * | dead  | any    | any  | 0       | held by a thread that died: a waiter takes over (invariant 6) |
 *
 * OWNER_DIED (bit 31) rides along in every row once set: acquisition keeps it, release keeps it,
 * only `markConsistent()` (the owner) clears it.
 *
 * ## Invariants
 * 1. Only the owner clears the owner field (release) and only from a word that names it; the one
 *    exception is a takeover from a dead owner (invariant 6), which replaces the id in one CAS.
 * 2. A free word never has PARKED, FAIR or HANDOFF set: release clears them all.
 * 3. Anyone who sleeps on the word first makes PARKED visible in the value it sleeps on, so a
 *    release after that sees PARKED and notifies (no lost wakeup); a release before that changes
 *    the word and the sleep returns 'not-equal'.
 * 4. A thread that has slept once sets PARKED again when it acquires: it cannot know whether
 *    others still sleep, so the next release must wake one (the chain of wakeups continues).
 * 5. A HANDOFF word is claimed by a thread that has parked, or returned to free by the releaser
 *    when its notify woke nobody, or by an aborted async waiter that swallowed the notify.
 * 6. Owner death (`core/owner-death.ts`): waiters sleep at most ROBUST_SLICE_MS at a time. A waiter
 *    (or `tryLock`) that reads a word whose owner id is published dead CASes it from exactly that
 *    value to `me | OWNER_DIED`, keeping PARKED and FAIR (other sleepers still need their wakeup).
 *    Ids are never reused, so the word cannot change from that value except by a rival takeover;
 *    one CAS wins. A waiter killed after a release's notify reached it leaves a HANDOFF word or an
 *    unwoken sleeper; the other sleepers' slices end and they claim it (parked ones may).
 *
 * ## Memory ordering
 * Every access to the word is an Atomics operation (sequentially consistent). Acquiring CAS and
 * releasing CAS/store order the critical section's plain reads and writes, as a lock must.
 */
import { now, sliceEnd, wake, type ParsedWait } from '../core/futex.js';
import { park, parkAsync, type Parking } from '../core/park.js';
import { LockError } from '../core/errors.js';
import { spinWhile, type SpinBudget } from '../core/spin.js';
import { takeOverIfDead } from '../core/owner-death.js';

export const OWNER_MASK = 0x0fff_ffff;
export const PARKED = 1 << 28;
export const FAIR = 1 << 29;
export const HANDOFF = 1 << 30;
export const OWNER_DIED = 1 << 31;

/**
 * What this thread's last release did, for `observe/` (stats and events): a plain field of a
 * thread-local object, written only on the slow path. `handedOff`: set by `unlockSlow` when it
 * handed the lock to a parked waiter (the observer clears it). Sleeps are counted by `core/park.ts`.
 */
export const SLOW_PATH = { handedOff: false };

export const ownerOf = (s: number): number => s & OWNER_MASK;
/** Free for anyone: no owner, not handed off. */
export const isFree = (s: number): boolean => (s & (OWNER_MASK | HANDOFF)) === 0;
/** Handed off to the parked waiters. */
export const isHandedOff = (s: number): boolean => (s & HANDOFF) !== 0;
/** Somebody may be asleep on the word. */
export const hasParked = (s: number): boolean => (s & PARKED) !== 0;

/** Tuning of one family of raw exclusive locks. */
export interface ExclusivePolicy {
  /** Spin budget for this thread (adaptive). */
  readonly budget: SpinBudget;
  /** Longest pause between two spin probes, in relax() iterations. */
  readonly maxBackoff: number;
  /** A parked waiter older than this asks for a handoff; Infinity disables handoff. */
  readonly fairAfterMs: number;
}

/**
 * One CAS from free to owned; the fast path. Returns true if taken.
 * (Inline this exact CAS in hot callers rather than calling it.)
 */
export function tryLockFast(a: Int32Array, i: number, me: number): boolean {
  // 0 → me: takes a free, flag-less word; any other state goes to the slow paths.
  return Atomics.compareExchange(a, i, 0, me) === 0;
}

/** tryLock() for any free state (e.g. free with OWNER_DIED); never waits. */
export function tryLockSlow(a: Int32Array, i: number, me: number, onOwnerDied?: () => void): boolean {
  for (;;) {
    const s = Atomics.load(a, i);
    if (!isFree(s)) return takeOverFromDead(a, i, me, false, onOwnerDied); // robust: invariant 6
    // Take a free word, keeping only OWNER_DIED (invariant 2: nothing else is set when free).
    if (Atomics.compareExchange(a, i, s, me | (s & OWNER_DIED)) === s) return true;
  }
}

/**
 * Acquires the word or makes it ready to sleep on. Returns 0 if this thread now owns it, else the
 * value to sleep on (PARKED is set in it, invariant 3). `parked`: this thread has slept before;
 * `starving`: it has slept longer than the policy's fairness bound.
 */
export function acquireOrPrepareToPark(
  a: Int32Array,
  i: number,
  me: number,
  parked: boolean,
  starving: boolean,
  onOwnerDied?: () => void,
): number {
  for (;;) {
    const s = Atomics.load(a, i);
    if (isFree(s) || (parked && isHandedOff(s))) {
      // Take it. A thread that slept re-arms PARKED (invariant 4); a handoff's FAIR is consumed.
      const next = me | (s & OWNER_DIED) | (parked ? PARKED : 0);
      if (Atomics.compareExchange(a, i, s, next) === s) return 0;
      continue;
    }
    // Owner death (invariant 6): the id in the word is dead, so nobody else will ever release it.
    // (If the word moved meanwhile, `s` is stale: the CAS below fails or the sleep returns 'not-equal'.)
    if (takeOverFromDead(a, i, me, parked, onOwnerDied)) return 0;
    const want = s | PARKED | (starving ? FAIR : 0);
    // Publish PARKED (and FAIR) before sleeping so the releaser knows to wake us.
    if (want === s || Atomics.compareExchange(a, i, s, want) === s) return want;
  }
}

/**
 * Blocking acquisition after the fast path failed (recursion already ruled out by the caller).
 * Spins briefly while nobody is parked, then sleeps. Returns false if `deadline` passed.
 */
export function lockSlow(
  a: Int32Array,
  i: number,
  me: number,
  deadline: number,
  policy: ExclusivePolicy,
  onOwnerDied?: () => void,
): boolean {
  const s = Atomics.load(a, i);
  if (!hasParked(s) && !isFree(s)) {
    // Spin only while the holder runs and nobody sleeps: once someone is parked, queue up behind.
    spinWhile(a, i, spinWhileHeldAndUnparked, isFree, policy.budget, policy.maxBackoff);
  }
  return park(a, parking(a, i, me, policy, onOwnerDied), deadline);
}

/**
 * One acquisition's parking (`core/park.ts`): take the word or publish PARKED (and FAIR once this
 * waiter has slept longer than the policy's bound), sleep on the word itself, one owner-death slice
 * at a time (invariant 6). `whenAcquired` runs right after the acquiring CAS (see lockAsyncSlow).
 */
function parking(
  a: Int32Array,
  i: number,
  me: number,
  policy: ExclusivePolicy,
  onOwnerDied: (() => void) | undefined,
  whenAcquired?: () => void,
): Parking {
  let parkedSince = 0;
  return {
    index: i,
    attempt(parked) {
      const starving = parked && now() - parkedSince > policy.fairAfterMs;
      const w = acquireOrPrepareToPark(a, i, me, parked, starving, onOwnerDied);
      if (w === 0) {
        whenAcquired?.();
        return null;
      }
      if (!parked) parkedSince = now();
      return w;
    },
    // At most one slice: a dead owner never releases, and is noticed after waking (invariant 6).
    sleepUntil: sliceEnd,
    forward: () => forwardAbandonedWake(a, i),
  };
}

/**
 * Takes the lock from a dead owner (invariant 6): if the word names a dead owner, CAS it to
 * `me | OWNER_DIED`, keeping PARKED/FAIR and re-arming PARKED if this thread has slept (invariant 4).
 * The winner calls `onOwnerDied` (the API layer's stats/events hook).
 */
function takeOverFromDead(
  a: Int32Array,
  i: number,
  me: number,
  parked: boolean,
  onOwnerDied: (() => void) | undefined,
): boolean {
  if (!takeOverIfDead(a, i, OWNER_MASK, PARKED | FAIR, me | OWNER_DIED | (parked ? PARKED : 0))) return false;
  onOwnerDied?.(); // once per death: only the winning takeover reports it (stats, events)
  return true;
}

const spinWhileHeldAndUnparked = (s: number): boolean => !isFree(s) && !hasParked(s);

/**
 * Release after the fast-path CAS (me → 0) failed. Returns false if `me` is not the owner (the
 * caller throws). Wakes one sleeper if PARKED; hands off if FAIR.
 */
export function unlockSlow(a: Int32Array, i: number, me: number): boolean {
  for (;;) {
    const s = Atomics.load(a, i);
    if (ownerOf(s) !== me || isHandedOff(s)) return false;
    if ((s & FAIR) !== 0) {
      // Hand off: the word stays unavailable to bargers; the woken (oldest) waiter claims it.
      if (Atomics.compareExchange(a, i, s, HANDOFF | PARKED | (s & OWNER_DIED)) !== s) continue;
      SLOW_PATH.handedOff = true;
      // Wake the head of the FIFO futex queue to claim it; if nobody was asleep, undo (invariant 5).
      if (wake(a, i, 1) === 0) revertHandoff(a, i);
      return true;
    }
    // Free the word, clearing PARKED (invariant 2); the woken thread re-arms it (invariant 4).
    if (Atomics.compareExchange(a, i, s, s & OWNER_DIED) !== s) continue;
    // Wake one sleeper if any may be asleep.
    if (hasParked(s)) wake(a, i, 1);
    return true;
  }
}

/**
 * Takes an internal mutex word (a lock manager's partition, allocator or fast-path group lock):
 * no deadline, no verifier. One CAS, else spin briefly and park (`lockSlow`).
 *
 * Owner death: such a word guards a multi-word update of a shared table, and a thread terminated
 * while holding it may have left that update half done. The waiter's takeover (invariant 6)
 * marks the word OWNER_DIED, and then `whole()`, the caller's own knowledge of the data, decides:
 * - true: the data is whole (the dead holder only read it, or made a single store, or the
 *   caller has just undone its half-done update: manager/table.ts "Undo journal"). The takeover
 *   stands, OWNER_DIED is cleared again (the fast path comes back) and the caller proceeds.
 * - false, or no `whole` given: nothing can tell, so the word is never used again. OWNER_DIED
 *   stays for good (only `markConsistent` on a user lock clears it; internal words have none),
 *   and this and every later `lockWord` of it releases it again and throws `LockError`
 *   `ERR_LOCK_BROKEN`: no hang, and no work on a possibly torn structure, which (one lock manager
 *   partition, say) is out of service until it is recreated.
 * Words that never saw a death keep the one-CAS fast path (the flag keeps a dead word off it).
 */
export function lockWord(
  a: Int32Array,
  i: number,
  me: number,
  policy: ExclusivePolicy,
  what = 'an internal lock word',
  whole?: () => boolean,
): void {
  // Fast path: free → ours in one CAS; otherwise spin briefly and park (taking over a dead owner).
  if (Atomics.compareExchange(a, i, 0, me) === 0) return;
  lockSlow(a, i, me, Infinity, policy);
  if ((Atomics.load(a, i) & OWNER_DIED) === 0) return;
  // Nothing is torn (or the caller repaired it): clear the flag (we hold the word) and go on.
  if (whole?.()) {
    clearOwnerDied(a, i);
    return;
  }
  // A holder died with the guarded data possibly half updated (see above): refuse, never use it.
  unlockWord(a, i, me);
  throw new LockError(
    'ERR_LOCK_BROKEN',
    `${what} was held by a thread that died (terminated in the middle of an update): the data it guards may be half updated, so it is out of service`,
  );
}

/** Releases what `lockWord` took. */
export function unlockWord(a: Int32Array, i: number, me: number): void {
  // Fast path: ours and nobody parked → free in one CAS; otherwise wake or hand off (`unlockSlow`).
  if (Atomics.compareExchange(a, i, me, 0) !== me) unlockSlow(a, i, me);
}

/** Turns a HANDOFF word that nobody will claim back into a free one, waking one sleeper. */
export function revertHandoff(a: Int32Array, i: number): void {
  for (;;) {
    const s = Atomics.load(a, i);
    if (!isHandedOff(s)) return; // somebody claimed it after all
    // Free it; threads that slept on the handoff value must hear about it.
    if (Atomics.compareExchange(a, i, s, s & OWNER_DIED) === s) {
      // Wake one: it re-arms PARKED for any others (invariant 4).
      wake(a, i, 1);
      return;
    }
  }
}

/**
 * An aborted async waiter was notified after giving up: pass the wakeup on (invariant 5).
 * CORRECTNESS: the notify it swallowed was either a release's wake-one or a handoff's.
 */
export function forwardAbandonedWake(a: Int32Array, i: number): void {
  if (isHandedOff(Atomics.load(a, i))) revertHandoff(a, i);
  // Re-issue the wake-one that reached a waiter who is no longer there.
  else wake(a, i, 1);
}

/** Clears OWNER_DIED; the caller holds the lock. */
export function clearOwnerDied(a: Int32Array, i: number): void {
  // Flag bits next to it may change under us (PARKED, FAIR), so clear with an atomic and.
  Atomics.and(a, i, ~OWNER_DIED);
}

/**
 * Async acquisition after the fast path failed: the same state machine, sleeping with
 * `Atomics.waitAsync` so the event loop keeps running. Rejects with TimeoutError or the signal's
 * reason. No spinning: it would block the event loop. Resolves to how often it slept.
 * `whenAcquired` (must not throw) runs synchronously right after the acquiring CAS, in the same
 * turn: a holder that needs the lock only for synchronous work (SeqLock's `writeAsync`) does it
 * there and releases, so the lock is never held across the microtask hops of the promise chain,
 * during which another task of this thread would find it held by its own thread.
 */
export function lockAsyncSlow(
  a: Int32Array,
  i: number,
  me: number,
  wait: ParsedWait,
  policy: ExclusivePolicy,
  lockName: string,
  onOwnerDied?: () => void,
  whenAcquired?: () => void,
): Promise<number> {
  return parkAsync(a, parking(a, i, me, policy, onOwnerDied, whenAcquired), wait, lockName);
}
