/**
 * The one contended acquisition, sync and async, that every primitive runs once its fast path
 * failed (the state machine's own steps are in `raw/`, the parking in `core/park.ts`):
 * 1. time the wait, if anything observes (`watching()`), before the slow path's first step;
 * 2. run the slow path, in the verifier's watchdog steps while it is on (`waitChecked`);
 * 3. record the hold (`won`) before anything observes it (a thread stopped in an event
 *    subscriber must not hold what no reaper knows of); async slow paths record in the acquiring
 *    turn themselves (`Parking.won`);
 * 4. report how the wait ended (stats, events).
 */
import { now } from './futex.js';
import { checking, waitChecked, type CheckedLock } from './hooks.js';
import { noteWaitEnded, observeAsync, watching, type ObservedLock } from './observe.js';
import type { LockEventMode } from './events.js';
import { PARKS } from './park.js';

/** What a blocking contended acquisition needs (see the module comment). */
export interface ContendedWait {
  /** The lock, as the verifier and the observers see it. */
  readonly lock: CheckedLock & ObservedLock;
  /** A shared (read) acquisition, for the verifier. */
  readonly shared?: boolean;
  /** RW locks: the hold in the events. */
  readonly mode?: LockEventMode;
  /** False for a lock that records no stats or events of its own (SeqLock's writers). Default true. */
  readonly observed?: boolean;
  /** The blocking slow path up to `deadline`; true once the lock is taken. */
  slow(deadline: number): boolean;
  /** The owner id it waits for, for the verifier's waits-for graph (0: unknown). */
  owner(): number;
  /** Records the hold (an owner word, a holder slot) before anything observes it. */
  won?(): void;
  /** Sleeps of the whole wait (default: the last parking's, `PARKS.count`). */
  parks?(): number;
}

/** Runs a blocking contended acquisition up to `deadline` (see the module comment); true if taken. */
export function contendedWait(w: ContendedWait, deadline: number): boolean {
  const waitStart = w.observed !== false && watching() ? now() : -1; // observe: time the wait, then record how it ended
  const ok = checking
    ? waitChecked(w.lock, w.shared === true, deadline, true, (d) => w.slow(d), () => w.owner())
    : w.slow(deadline);
  if (ok) w.won?.();
  if (waitStart >= 0) noteWaitEnded(w.lock, waitStart, ok, w.parks ? w.parks() : PARKS.count, w.mode);
  return ok;
}

/**
 * Runs an async contended acquisition: `start()` begins the slow path (which records the hold in
 * its acquiring turn); observed from before its first step when anything watches. Rejects as the
 * slow path does (TimeoutError, the signal's reason).
 */
export function contendedAsync(
  lock: ObservedLock,
  signal: AbortSignal | undefined,
  start: () => Promise<number>,
  mode?: LockEventMode,
): Promise<unknown> {
  const waitStart = watching() ? now() : -1; // observe: before the slow path runs its first steps
  const slow = start();
  return waitStart >= 0 ? observeAsync(lock, waitStart, signal, slow, mode) : slow;
}
