/**
 * The parking loop every primitive waits in, sync and async, in the manner of parking_lot_core's
 * `park(key, validate, before_sleep, timed_out)`: the lock supplies a small `Parking` (one attempt
 * of its state machine, and what to do around a sleep), the loop owns the rest: the deadline, the
 * sleep itself (bounded slices, `core/futex.ts`), abort, forwarding of a swallowed wakeup, and the
 * thread's one sleep counter (`PARKS`, read by the observability layer).
 *
 * One round of the loop:
 * 1. `attempt(parked, woken)`: try to take the lock (or finish the wait); `null` when done, else the
 *    value `a[index]` must still hold for the sleep to be worth it. The attempt publishes whatever
 *    makes a release wake this waiter (a PARKED bit, a SLEEPERS count…) before returning it:
 *    CORRECTNESS: a release after that either sees the waiter or changes the word, so the sleep
 *    returns at once ('not-equal') or is notified.
 * 2. The deadline: past it, `giveUp()` undoes the waiter's claims and the loop reports a timeout
 *    (sync: `false`; async: rejects with `TimeoutError`, or the signal's reason on abort).
 * 3. `beforeSleep()`, one sleep until `sleepUntil(deadline)` (a primitive's re-check or lease slice;
 *    the futex layer slices every sleep anyway), then `afterSleep(result)`: reap dead owners,
 *    withdraw a sleep announcement, act on a slice that ran out.
 * `parked` is true once the waiter has slept at all (a timed-out slice counts); `woken` is true
 * when its last sleep ended in a notify, that is, a release chose to wake it.
 *
 * An async wait that is aborted stays in V8's wait list (`waitAsync` cannot be withdrawn); if a
 * notify reaches it later, `forward()` passes the wakeup on (`core/futex.ts`).
 */
import { now, throwIfOver, waitAsyncUntil, waitUntil, type ParsedWait, type WaitResult } from './futex.js';

/** What a primitive tells the parking loop about one acquisition (see the module comment). */
export interface Parking {
  /** The word waiters sleep on (an index into the primitive's Int32Array). */
  readonly index: number;
  /** One attempt: `null` when done, else the value `a[index]` must still hold to sleep. */
  attempt(parked: boolean, woken: boolean): number | null;
  /** Until when one sleep may last, given the caller's deadline (default: the deadline). */
  sleepUntil?(deadline: number): number;
  /** Right before each sleep. */
  beforeSleep?(): void;
  /** Right after each sleep (also after an aborted async one, before the rejection). */
  afterSleep?(result: WaitResult | 'aborted'): void;
  /** The wait ends without success (deadline or abort): undo the waiter's claims. */
  giveUp?(): void;
  /** An aborted async wait was notified after all: pass the wakeup on. */
  forward?(): void;
  /**
   * Right after the attempt that succeeded, in the same turn: record the ownership a lock keeps
   * outside its state word (an owner word, a holder slot). Async waits need it: between the
   * acquisition and the caller's `await` resuming, other microtasks of this thread run, and a
   * thread that stops there (terminated, or blocked for good by another task) would otherwise hold
   * the lock with no record of it, which no dead-owner reaper can give back.
   */
  won?(): void;
}

/**
 * The one fairness threshold: a waiter that has waited (slept) longer than this is owed the next
 * turn. Mutex hands off to it (HANDOFF), RWLock reserves the lock for a starving writer
 * (WRITER_STARVING, HANDOFF), Semaphore lets it claim the HEAD slot and close the gate.
 */
export const FAIR_AFTER_MS = 1;

/** This thread's sleeps in its last parking (sync: set on return; async waits resolve to theirs). */
export const PARKS = { count: 0 };

const noForward = (): void => {};

/** Blocks until `p.attempt` succeeds (true) or `deadline` passes (false, after `p.giveUp`). */
export function park(a: Int32Array, p: Parking, deadline: number): boolean {
  let parked = false;
  let woken = false;
  let parks = 0;
  for (;;) {
    const expected = p.attempt(parked, woken);
    PARKS.count = parks;
    if (expected === null) {
      p.won?.();
      return true;
    }
    if (deadline !== Infinity && now() >= deadline) {
      p.giveUp?.();
      return false;
    }
    p.beforeSleep?.();
    // Sleep until a release notifies, the word already moved on, or the slice is up.
    const r = waitUntil(a, p.index, expected, p.sleepUntil ? p.sleepUntil(deadline) : deadline);
    p.afterSleep?.(r);
    parked = true;
    woken = r === 'ok';
    parks++;
  }
}

/**
 * `park` on the event loop. Resolves to how often it slept; rejects with `TimeoutError` (named
 * `lockName`) or the signal's reason, after `p.giveUp`.
 */
export async function parkAsync(a: Int32Array, p: Parking, wait: ParsedWait, lockName: string): Promise<number> {
  let parked = false;
  let woken = false;
  let parks = 0;
  const forward = p.forward ?? noForward;
  for (;;) {
    const expected = p.attempt(parked, woken);
    if (expected === null) {
      p.won?.(); // the record in the acquiring turn, before any other microtask (see Parking.won)
      return parks;
    }
    let r: WaitResult;
    try {
      throwIfOver(wait, lockName);
      p.beforeSleep?.();
      try {
        // Sleep on the event loop until a release notifies (or the word moved, or the slice is up).
        r = await waitAsyncUntil(a, p.index, expected, p.sleepUntil ? p.sleepUntil(wait.deadline) : wait.deadline, wait.signal, forward);
      } catch (e) {
        p.afterSleep?.('aborted');
        throw e;
      }
    } catch (e) {
      p.giveUp?.();
      throw e;
    }
    p.afterSleep?.(r);
    parked = true;
    woken = r === 'ok';
    parks++;
  }
}
