/**
 * Raw condition variable: a notify sequence word and a waits/grants word, as pure functions over
 * `(Int32Array, index of SEQ)`. Used by `Condition` (`src/condition.ts`).
 *
 * Algorithm: Rust std's futex condvar (`library/std/src/sys/sync/condvar/futex.rs`): a sequence
 * word that every notify bumps. A wait reads the sequence *while still holding the lock*, unlocks,
 * and sleeps on the value it read; a notify after that read changes the word, so the sleep either
 * is woken by the notify or returns 'not-equal' at once. A WAITERS count lets a notify skip the
 * `Atomics.notify` call when nobody waits. Every sleep parks through `core/park.ts`.
 *
 * ## Words (relative to the state index; the kind tag sits in the word before it)
 * | word | name    | meaning |
 * |------|---------|---------|
 * | 0    | SEQ     | notify counter (wraps; compared with ===); waiters sleep on it |
 * | 1    | WAITERS | bits 0–15: waits between their SEQ read and their return (W); bits 16–31: wakeups granted by notifies and not yet taken (G ≤ W) |
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
 * 3. A wait relocks in every case (notified, timed out, spurious, aborted) before it returns or
 *    throws, as callers re-check their predicate under the lock (the API layer's job).
 * 4. An aborted async wait stays in the futex queue; a notify that later reaches it is passed on
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
 * 6. A timeout is decided only at the end of a slice, after the checks of invariant 5 (a notify
 *    that ended the last slice still counts, and so does a stray grant found after a quiet slice,
 *    even at the deadline). So a wait keeps its own deadline (`CondWait.deadline`) and parks
 *    without one: the loop never ends it in between. The verifier's checked waits call `sleep`
 *    in short steps, each with its own deadline: a notify that lands between two steps reaches no
 *    sleeper, and is found as a stray grant at the end of the next quiet slice (a step is a
 *    slice); deciding the step's timeout first lost it for good (a 5 s timeout in the checked
 *    ping-pong test; `test/raw/condition.test.ts`).
 *
 * Spurious wakeups are possible (a notify that lands between a waiter's SEQ read and its sleep
 * wakes it as well as the one it woke; wrap-around after 2³² notifies during one wait could
 * delay one): callers loop on their predicate, as with every condition variable.
 *
 * ## Memory ordering
 * All accesses to SEQ and WAITERS are Atomics (sequentially consistent); invariant 2 is a Dekker
 * pair between "increment WAITERS, sleep on SEQ" and "bump SEQ, read WAITERS". The protected data
 * is ordered by the lock itself.
 */
import { now, sliceEnd, wake, type ParsedWait, type WaitResult } from '../core/futex.js';
import { park, parkAsync, type Parking } from '../core/park.js';
import { LockError } from '../core/errors.js';

export const SEQ = 0;
export const WAITERS = 1;
/** State words after the tag word. */
export const CONDITION_WORDS = 2;
/** WAITERS: the count of waits (W) in the low half, the wakeups granted (G) in the high half. */
const W_MASK = 0xffff;
const G_ONE = 0x1_0000;
export const waitsOf = (v: number): number => v & W_MASK;
const grantsOf = (v: number): number => v >>> 16;

/**
 * A wait in progress (invariant 5): `seq` is the SEQ value slept on; `slept` is false until the
 * first sleep slice has run out (before that, SEQ moving means this wait was notified); `moved`:
 * the last slice ended with SEQ moved, and nothing has moved since it was re-read. `deadline`
 * (invariant 6) and `result` (true: notified, false: timed out, undefined: sleep on) belong to the
 * sleep in progress.
 */
export interface CondWait {
  seq: number;
  slept: boolean;
  moved: boolean;
  deadline: number;
  result: boolean | undefined;
}

/** First half of a wait, called holding the lock: counts it and returns its state (its SEQ value). */
export function prepareWait(a: Int32Array, i: number): CondWait {
  // Read while the lock is held (invariant 1).
  const seq = Atomics.load(a, i + SEQ);
  // Counted before the unlock, so a notify that follows does not skip the wake (invariant 2).
  if (waitsOf(Atomics.add(a, i + WAITERS, 1)) === W_MASK) {
    // The count would spill into the grants: undo, refuse.
    Atomics.sub(a, i + WAITERS, 1);
    throw new LockError('ERR_LOCK_STATE', `Condition: more than ${W_MASK - 1} waits at once`);
  }
  return { seq, slept: false, moved: false, deadline: Infinity, result: undefined };
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
export function notify(a: Int32Array, i: number, count: number): number {
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

/** Passes on a wakeup that an aborted async wait swallowed (invariant 4). */
export function forwardAbandonedWake(a: Int32Array, i: number): void {
  // CORRECTNESS: an aborted wait swallowed this wakeup; give it to another waiter (invariant 4).
  if (waitsOf(Atomics.load(a, i + WAITERS)) !== 0) wake(a, i + SEQ, 1);
}

/**
 * What one sleep's result means for a wait: true (notified), false (timed out, once `w.deadline`
 * passed), or undefined (sleep on; `w.seq` may have been re-read).
 */
function afterSleep(a: Int32Array, i: number, w: CondWait, r: WaitResult): boolean | undefined {
  if (r === 'ok' || (r === 'not-equal' && !w.slept)) {
    // Notified: take the grant meant for us if it is still there.
    takeGrant(a, i);
    return true;
  }
  if (r === 'timed-out') {
    w.slept = true;
    if (Atomics.load(a, i + SEQ) === w.seq) {
      // A whole slice without news since SEQ last moved: a grant still left now was not taken by
      // the waiter its notify woke (that one takes it within moments): the wakeup went astray, to an
      // abandoned async wait, or reached nobody (it landed while this wait was between two of the
      // verifier's steps). Take it in its place, even at the deadline: at worst a spurious wakeup,
      // never a lost one. (Taking it at once, when SEQ is first seen moved, would race the woken
      // waiter and end two waits for one notify.)
      const lost = w.moved && takeGrant(a, i);
      w.moved = false;
      if (lost) return true;
      return now() >= w.deadline ? false : undefined;
    }
    if (now() >= w.deadline) return false;
  }
  // SEQ moved while we slept and no notify reached us: most likely it woke someone else. Sleep on
  // from the new value (a later notify grants before it bumps) and look at the grants next slice.
  w.moved = true;
  w.seq = Atomics.load(a, i + SEQ);
  return undefined;
}

/** A wait's parking (`core/park.ts`): sleep on `w.seq` one slice at a time until a result. */
function parking(a: Int32Array, i: number, w: CondWait): Parking {
  return {
    index: i + SEQ,
    attempt: () => (w.result === undefined ? w.seq : null),
    // One slice at most: a wakeup swallowed by an abandoned async wait must not strand us (invariant 5).
    sleepUntil: () => sliceEnd(w.deadline),
    afterSleep(r) {
      if (r !== 'aborted') w.result = afterSleep(a, i, w, r);
    },
    forward: () => forwardAbandonedWake(a, i),
  };
}

/** Sleeps for `w` until notified (true) or `deadline` (false). Callable again after a timeout. */
export function sleep(a: Int32Array, i: number, w: CondWait, deadline: number): boolean {
  w.deadline = deadline;
  w.result = undefined;
  // No deadline for the loop: the wait decides its timeout at a slice's end (invariant 6).
  park(a, parking(a, i, w), Infinity);
  return w.result === true;
}

/** `sleep` on the event loop until `wait`'s deadline; rejects with its signal's reason on abort. */
export async function sleepAsync(a: Int32Array, i: number, w: CondWait, wait: ParsedWait, lockName: string): Promise<boolean> {
  w.deadline = wait.deadline;
  w.result = undefined;
  // The signal only: the wait decides its timeout at a slice's end (invariant 6).
  await parkAsync(a, parking(a, i, w), { deadline: Infinity, timeout: undefined, signal: wait.signal }, lockName);
  return w.result === true;
}
