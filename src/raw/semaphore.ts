/**
 * Raw counting semaphore: permits in one word, sleepers on a sequence word, and a one-slot "head"
 * gate that makes a long-waiting request (typically a large one) first in line.
 *
 * Algorithm: the count is a plain futex counter (acquire = CAS count → count − n, release =
 * add). Sleepers do not sleep on the count but on SEQ, a sequence word that every release (and
 * every opening of the gate) bumps after changing the state, exactly as a futex condvar does
 * (Rust std's `condvar/futex.rs`): a sleeper reads SEQ *before* checking the count, so any change
 * after its check makes its `Atomics.wait` return 'not-equal'.
 *
 * Fairness for large requests: with barging, a request for n permits can starve while a stream of
 * small acquirers keeps the count below n. As in Go's mutex starvation mode (and parking_lot's
 * eventual fairness), a waiter that has waited longer than `SEM_FAIR_AFTER_MS` claims the HEAD slot
 * (CAS 0 → n). While HEAD is set nobody else may take permits — new acquirers, fast path included,
 * queue behind it — so released permits accumulate until the head's n are there; the head takes
 * them, clears HEAD and wakes everyone. This is Go's `semaphore.Weighted` rule ("a large request
 * is never overtaken by later small ones") applied to the oldest starving waiter instead of to a
 * strict queue, which shared memory does not have. One head at a time; the others wait their turn.
 *
 * ## Words (relative to the state index)
 * | word | name     | meaning |
 * |------|----------|---------|
 * | 0    | COUNT    | permits available now, 0 … MAX_PERMITS |
 * | 1    | SEQ      | bumped after every release and every gate opening; sleepers wait on it |
 * | 2    | SLEEPERS | threads/tasks asleep or about to sleep on SEQ (release skips notify at 0) |
 * | 3    | WEIGHTED | of those, how many want more than one permit |
 * | 4    | HEAD     | 0 = gate open; n = a starving waiter for n permits goes first |
 * | 5    | MAX      | declared maximum count; 0 until the constructor has written it |
 *
 * | HEAD | COUNT ≥ n | who may take n permits |
 * |------|-----------|------------------------|
 * | 0    | yes       | anyone (fast path: one load of HEAD, one CAS on COUNT) |
 * | 0    | no        | nobody: sleep on SEQ |
 * | h≠0  | any       | only the head (its request, h permits); everyone else sleeps |
 *
 * ## Wake policy
 * A release of n permits wakes n sleepers when every sleeper wants one permit and the gate is
 * open: each permit can satisfy one of them, and a woken sleeper that loses its permit to a
 * barger leaves it with a holder whose release wakes another. Otherwise (a weighted sleeper or a
 * head exists) it wakes every sleeper, because only they can tell whose request now fits; a
 * release cannot pick the right one out of a FIFO futex queue.
 *
 * ## Invariants
 * 1. COUNT only changes by CAS (acquire: c → c − n with c ≥ n) and CAS (release: c → c + n with
 *    c + n ≤ MAX): it is never negative and never above MAX.
 * 2. A sleeper reads SEQ, then checks COUNT/HEAD, then increments SLEEPERS (and WEIGHTED), then
 *    sleeps on the SEQ value it read. A releaser changes COUNT, then bumps SEQ, then reads
 *    SLEEPERS/WEIGHTED/HEAD. So either the releaser sees the sleeper counted (and wakes it by
 *    policy), or the sleeper's SEQ read or COUNT check came after the release (it saw the permits,
 *    or its wait returns 'not-equal'). No lost wakeup.
 * 3. Only the waiter that won the CAS 0 → n on HEAD clears it, when it takes its permits or gives
 *    up (timeout, abort); clearing bumps SEQ and wakes every sleeper (they were held at the gate).
 * 4. A sleeper woken by a notify always re-tries the take before it looks at its deadline, so a
 *    wake-n notify is never spent on a waiter that then leaves without trying. An aborted async
 *    waiter cannot leave the futex queue; if a notify reaches it later, it wakes every sleeper
 *    in its place (CORRECTNESS: the notify it swallowed may have been the only one).
 *
 * ## Memory ordering
 * Every access to these words is an Atomics operation (sequentially consistent), which invariant 2
 * relies on: the sleeper's "increment SLEEPERS, then wait" and the releaser's "bump SEQ, then read
 * SLEEPERS" are a Dekker pair. A semaphore guards no data by itself; a holder's writes are ordered
 * before its release's CAS like any lock's.
 */
import { now, throwIfOver, waitAsyncUntil, waitUntil, wake, type ParsedWait } from '../core/futex.js';

export const COUNT = 0;
export const SEQ = 1;
export const SLEEPERS = 2;
export const WEIGHTED = 3;
export const HEAD = 4;
export const MAX = 5;
/** State words after the tag word. */
export const SEMAPHORE_WORDS = 6;

/** The largest count (and request) an Int32 count word can hold. */
export const MAX_PERMITS = 0x7fff_ffff;

/** How long a waiter waits before it claims the head slot and closes the gate behind it. */
export const SEM_FAIR_AFTER_MS = 1;

/** Writes the declared maximum once; returns true for the one caller that did (it adds the initial permits). */
export function initialize(a: Int32Array, i: number, permits: number, max: number): boolean {
  // 0 → max marks the semaphore initialized; a loser attaches to the existing one and writes nothing.
  if (Atomics.compareExchange(a, i + MAX, 0, max) !== 0) return false;
  if (permits > 0) release(a, i, permits);
  return true;
}

/** The declared maximum (MAX_PERMITS until the constructor's write is visible). */
export function maxOf(a: Int32Array, i: number): number {
  return Atomics.load(a, i + MAX) || MAX_PERMITS;
}

/**
 * Takes n permits if there are n and the gate lets this caller through (`isHead`: it is the
 * head). Never waits.
 */
export function tryTake(a: Int32Array, i: number, n: number, isHead: boolean): boolean {
  for (;;) {
    const c = Atomics.load(a, i + COUNT);
    if (c < n) return false;
    if (!isHead && Atomics.load(a, i + HEAD) !== 0) return false;
    // c → c − n: only if nobody changed the count since we looked (invariant 1).
    if (Atomics.compareExchange(a, i + COUNT, c, c - n) === c) return true;
  }
}

/**
 * Adds n permits (the caller has checked n) and wakes sleepers by the wake policy. Returns false,
 * changing nothing, if the count would exceed the declared maximum.
 */
export function release(a: Int32Array, i: number, n: number): boolean {
  const max = maxOf(a, i);
  for (;;) {
    const c = Atomics.load(a, i + COUNT);
    if (c > max - n) return false;
    // c → c + n, never past MAX (invariant 1).
    if (Atomics.compareExchange(a, i + COUNT, c, c + n) === c) break;
  }
  // CORRECTNESS: bump SEQ after the count changed and before reading SLEEPERS (invariant 2).
  Atomics.add(a, i + SEQ, 1);
  if (Atomics.load(a, i + SLEEPERS) === 0) return true;
  const unitOnly = Atomics.load(a, i + HEAD) === 0 && Atomics.load(a, i + WEIGHTED) === 0;
  // Unit sleepers only: one per permit; else everyone re-checks (wake policy).
  wake(a, i + SEQ, unitOnly ? n : Infinity);
  return true;
}

/** The head took its permits or gave up: open the gate and let every sleeper re-check (invariant 3). */
export function clearHead(a: Int32Array, i: number): void {
  Atomics.store(a, i + HEAD, 0);
  // CORRECTNESS: bump after opening the gate, so a sleeper that saw it closed gets 'not-equal'.
  Atomics.add(a, i + SEQ, 1);
  // Everyone held at the gate may proceed now.
  if (Atomics.load(a, i + SLEEPERS) !== 0) wake(a, i + SEQ, Infinity);
}

/** Tries to become the head for n permits (after waiting too long). */
function claimHead(a: Int32Array, i: number, n: number): boolean {
  // 0 → n: one head at a time; the winner alone may clear it (invariant 3).
  return Atomics.compareExchange(a, i + HEAD, 0, n) === 0;
}

function announceSleep(a: Int32Array, i: number, n: number): void {
  // Counted before sleeping, so a release that follows notifies (invariant 2).
  Atomics.add(a, i + SLEEPERS, 1);
  // Weighted sleepers switch releases to wake-all (wake policy).
  if (n > 1) Atomics.add(a, i + WEIGHTED, 1);
}

function retractSleep(a: Int32Array, i: number, n: number): void {
  // Awake again: no longer needs a notify.
  if (n > 1) Atomics.sub(a, i + WEIGHTED, 1);
  // Awake again.
  Atomics.sub(a, i + SLEEPERS, 1);
}

/** Blocking acquisition after the fast path failed. Returns false if `deadline` passed. */
export function acquireSlow(a: Int32Array, i: number, n: number, deadline: number): boolean {
  const since = now();
  let head = false;
  for (;;) {
    // SEQ before the check (invariant 2).
    const seq = Atomics.load(a, i + SEQ);
    // Always try before looking at the deadline (invariant 4).
    if (tryTake(a, i, n, head)) {
      if (head) clearHead(a, i);
      return true;
    }
    if (deadline !== Infinity && now() >= deadline) {
      if (head) clearHead(a, i);
      return false;
    }
    if (!head && now() - since >= SEM_FAIR_AFTER_MS && claimHead(a, i, n)) {
      head = true;
      continue;
    }
    announceSleep(a, i, n);
    // Sleep until a release or gate opening bumps SEQ (or it already did: 'not-equal').
    waitUntil(a, i + SEQ, seq, deadline);
    retractSleep(a, i, n);
  }
}

/** Wakes every sleeper in place of an aborted async wait that swallowed a notify (invariant 4). */
export function forwardAbandonedWake(a: Int32Array, i: number): void {
  // CORRECTNESS: the swallowed notify may have been a release's only wake; everyone re-checks.
  wake(a, i + SEQ, Infinity);
}

/**
 * Async acquisition after the fast path failed: the same loop on `Atomics.waitAsync`. Rejects with
 * TimeoutError or the signal's reason; a head that gives up opens the gate first.
 */
export async function acquireAsyncSlow(
  a: Int32Array,
  i: number,
  n: number,
  wait: ParsedWait,
  lockName: string,
): Promise<void> {
  const since = now();
  let head = false;
  const forward = (): void => forwardAbandonedWake(a, i);
  try {
    for (;;) {
      // SEQ before the check (invariant 2).
      const seq = Atomics.load(a, i + SEQ);
      // Always try before looking at the deadline or signal (invariant 4).
      if (tryTake(a, i, n, head)) {
        if (head) {
          head = false;
          clearHead(a, i);
        }
        return;
      }
      throwIfOver(wait, lockName);
      if (!head && now() - since >= SEM_FAIR_AFTER_MS && claimHead(a, i, n)) {
        head = true;
        continue;
      }
      announceSleep(a, i, n);
      try {
        // Sleep on the event loop until SEQ moves; an abort leaves the wait queued (forwarded).
        await waitAsyncUntil(a, i + SEQ, seq, wait.deadline, wait.signal, forward);
      } finally {
        retractSleep(a, i, n);
      }
    }
  } finally {
    // Giving up (timeout, abort) as head: open the gate for the others (invariant 3).
    if (head) clearHead(a, i);
  }
}
