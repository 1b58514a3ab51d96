/**
 * `TicketLock`: a FIFO spin lock. Each acquirer takes a ticket and waits until it is served, so the
 * lock is granted in arrival order; it spins only a bounded time, then sleeps. The state machine,
 * its word table and invariants are in `raw/ticketlock.ts` (invariant numbers below refer to it);
 * this file is the API: handles, guards, options, the verifier's and observer's hooks.
 *
 * Layout (BYTE_LENGTH 136): word 0 is the kind tag, written once by the constructor; words 1–33
 * are the state words of `raw/ticketlock.ts` (NEXT, SERVING, OWNER, SLEEPERS, POLLERS, SLOT0–3,
 * QUEUED).
 */
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { contendedAsync, contendedWait } from './core/acquire.js';
import { FROM_HANDLE, placeOrAttach, type Handle, type TicketLockOptions } from './core/layout.js';
import { checkTimeout, deadlineAfter, parseWaitOptions, now, type WaitOptions } from './core/futex.js';
import { PARKS } from './core/park.js';
import { abortReason, LockError } from './core/errors.js';
import { ExclusiveLock, LockGuard } from './exclusive.js';
import { OWNER_DIED } from './raw/mutex.js';
import { wasReaped } from './core/owner-death.js';
import {
  clearOwnerDied,
  enqueue,
  hasPendingTicket,
  isLocked,
  lockTicket,
  lockTicketAsync,
  NEXT,
  OWNER,
  ownerOf,
  pollAsync,
  pollUntil,
  reapDeadOwner,
  RELEASED,
  served,
  SERVING,
  TICKETLOCK_BYTES,
  tryTicket,
  unlock,
  waitForTurn,
} from './raw/ticketlock.js';
import { noteAcquired, noteOwnerDied, noteReleased, observing, watching } from './core/observe.js';
import { acquireChannel, releaseChannel } from './core/events.js';
import { checking, onAcquire, onAcquired, onRelease, tryChecked, waitChecked } from './core/hooks.js';

/** A FIFO (ticket) spin lock in shared memory. */
export class TicketLock extends ExclusiveLock {
  /** Bytes one TicketLock occupies at a placement. */
  static readonly BYTE_LENGTH = TICKETLOCK_BYTES;

  /** Reports a reaped owner or queued waiter to stats and events (once per death). */
  readonly #onOwnerDied = (): void => noteOwnerDied(this);

  constructor(options?: TicketLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: TicketLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    super('TicketLock', placeOrAttach('TicketLock', TICKETLOCK_BYTES, options, handle));
  }

  /** Attaches to the TicketLock a handle describes. */
  static from(handle: Handle): TicketLock {
    return attachHandle(handle);
  }

  /** Takes a ticket and blocks until it is served. Throws ERR_LOCK_RECURSIVE if already held. */
  lock(): LockGuard {
    // The verifier's only cost when off: this one branch (core/hooks.ts).
    if (checking) return this.#lockChecked();
    const a = this._a;
    const i = this._i;
    if (ownerOf(a, i) === OWNER_ID) throw this._recursive();
    if (hasPendingTicket(a, i, OWNER_ID)) throw this.#behindOwnTicket();
    // Take the next ticket; the queue order is the order of these adds.
    const ticket = Atomics.add(a, i + NEXT, 1);
    // Served at once when the queue was empty (the uncontended path).
    if (Atomics.load(a, i + SERVING) !== ticket) {
      this.#lockContended(ticket);
      return new LockGuard(this);
    }
    // Record ownership only once served (invariant 1); `or` keeps OWNER_DIED (invariant 4).
    Atomics.or(a, i + OWNER, OWNER_ID);
    if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    return new LockGuard(this);
  }

  /** Serves the next ticket. Throws ERR_LOCK_NOT_OWNER unless this thread holds the lock. */
  unlock(): void {
    if (checking) onRelease(this, false, ownerOf(this._a, this._i));
    const owner = unlock(this._a, this._i, OWNER_ID);
    if (owner !== RELEASED) {
      // A reaped thread's hold was already served on by its reaper: never serve twice.
      if (wasReaped()) return;
      throw this._notOwner(owner);
    }
    if (observing || releaseChannel.hasSubscribers) noteReleased(this); // observe: off = one test
  }

  /**
   * Without `timeoutMs`: takes the lock only if nobody holds or waits for it. With it: retries
   * until the deadline (not FIFO, invariant 2). Returns whether this thread now holds the lock.
   */
  tryLock(timeoutMs?: number): boolean {
    // A bad timeout is an error whether or not the lock happens to be free.
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (checking) return tryChecked(this, false, timeoutMs !== undefined, () => this.#tryLock(timeoutMs));
    return this.#tryLock(timeoutMs);
  }

  /**
   * `tryLock()`'s work, the same with the verifier on or off (the checked path adds only its
   * hooks around it): the same acquisitions, stats, events and reaping either way.
   */
  #tryLock(timeoutMs: number | undefined): boolean {
    const a = this._a;
    const i = this._i;
    // A plain try also takes over from a dead holder, once (invariant 4).
    if (tryTicket(a, i, OWNER_ID) || (timeoutMs === undefined && reapDeadOwner(a, i, this.#onOwnerDied) && tryTicket(a, i, OWNER_ID))) {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
      return true;
    }
    if (timeoutMs === undefined) return false;
    if (ownerOf(a, i) === OWNER_ID) throw this._recursive();
    return this.#pollContended(deadlineAfter(timeoutMs));
  }

  /**
   * A timed `tryLock` that found the lock busy: retries until `deadline` (invariant 2), in the
   * verifier's watchdog steps when it is on; observed once, whatever the number of steps.
   */
  #pollContended(deadline: number): boolean {
    let parks = 0;
    // No `won`: tryTicket records OWNER in the step that takes the lock (core/acquire.ts).
    return contendedWait(
      {
        lock: this,
        slow: (until) => {
          const ok = pollUntil(this._a, this._i, OWNER_ID, until, this.#onOwnerDied);
          parks += PARKS.count; // sleeps summed over the verifier's steps
          return ok;
        },
        owner: () => ownerOf(this._a, this._i),
        parks: () => parks,
      },
      deadline,
    );
  }

  /**
   * Waits on the event loop. Without timeout or signal it takes a ticket (FIFO); with either it
   * retries `tryLock()` whenever the lock is released (invariant 2).
   */
  async lockAsync(options?: WaitOptions): Promise<LockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, false, true);
    const a = this._a;
    const i = this._i;
    if (!tryTicket(a, i, OWNER_ID)) {
      // Both record OWNER in the acquiring turn (core/acquire.ts, core/park.ts `won`).
      await contendedAsync(this, wait.signal, () =>
        wait.signal === undefined && wait.deadline === Infinity
          ? lockTicketAsync(a, i, OWNER_ID, wait, this.name, this.#onOwnerDied)
          : pollAsync(a, i, OWNER_ID, wait, this.name, this.#onOwnerDied),
      );
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    if (checking) onAcquired(this, false, true);
    return new LockGuard(this);
  }

  /** Snapshot: is anyone holding or queued? For diagnostics only. */
  isLocked(): boolean {
    return isLocked(this._a, this._i);
  }

  /** True if this thread holds the lock (its owner id is in OWNER). */
  isHeldByCurrentThread(): boolean {
    return ownerOf(this._a, this._i) === OWNER_ID;
  }

  /** True when a holder died holding the lock and nobody has called `markConsistent()` since. */
  get ownerDied(): boolean {
    return (Atomics.load(this._a, this._i + OWNER) & OWNER_DIED) !== 0;
  }

  /** Declares the protected data repaired after an owner death; this thread must hold the lock. */
  markConsistent(): void {
    if (ownerOf(this._a, this._i) !== OWNER_ID) {
      throw new LockError('ERR_LOCK_NOT_HELD', `${this.name}: markConsistent() needs the lock held by this thread`, this.name);
    }
    clearOwnerDied(this._a, this._i);
  }

  /**
   * `lock()` once the lock was found busy: waits for `ticket` to be served and records ownership,
   * observed once if anyone watches. Under the verifier `ticket` is -1: the wait runs in watchdog
   * steps, and the ticket is taken in the first one, after the wait was announced (`onWait` may
   * throw, e.g. main-thread-block, and a ticket can never be given back, invariant 2).
   * Not through core/acquire.ts `contendedWait`: a FIFO lock takes this path on nearly every
   * contended acquisition, and routing it there (a record and four closures per wait) halved
   * 2-worker throughput (cs10-out0: 1.7–2.7 M → 1.0–1.4 M ops/s, same-run A/B, 2026-12-05).
   */
  #lockContended(ticket: number): void {
    const a = this._a;
    const i = this._i;
    const waitStart = watching() ? now() : -1; // observe: time the wait
    let parks: number;
    if (!checking) parks = lockTicket(a, i, OWNER_ID, ticket, this.#onOwnerDied);
    else {
      let entry = -1;
      parks = 0;
      waitChecked(
        this,
        false,
        Infinity,
        false,
        (step) => {
          if (ticket === -1) {
            ticket = Atomics.add(a, i + NEXT, 1); // take our place in the queue, once
            entry = enqueue(a, i, OWNER_ID, ticket);
          }
          // Served already (a step may end just as our turn came): nothing to wait for.
          if (Atomics.load(a, i + SERVING) === ticket) return true;
          const ok = waitForTurn(a, i, ticket, step, entry, this.#onOwnerDied);
          parks += PARKS.count; // sleeps summed over the watchdog steps
          return ok;
        },
        () => ownerOf(a, i),
      );
      served(a, i, OWNER_ID, entry);
    }
    if (waitStart >= 0) noteAcquired(this, waitStart, parks); // observe
  }

  /** The refusal of a lock() while a lockAsync() ticket of this thread waits: it could only deadlock (invariant 7). */
  #behindOwnTicket(): LockError {
    return new LockError(
      'ERR_LOCK_RECURSIVE',
      `${this.name}: thread ${OWNER_ID - 1} already waits for this TicketLock in lockAsync(); a blocking lock() would queue behind its own earlier ticket and never get in (use lockAsync, or tryLock(ms), which takes no ticket)`,
      this.name,
    );
  }

  // ---- the verifier's paths (only while core/hooks.ts `checking` is true) ---------------------------

  // Each adds only the verifier's hooks around the same work as the unchecked path, so turning the
  // verifier on changes no count, no event and no recovery.

  #lockChecked(): LockGuard {
    onAcquire(this, false, false);
    if (ownerOf(this._a, this._i) === OWNER_ID) throw this._recursive();
    if (hasPendingTicket(this._a, this._i, OWNER_ID)) throw this.#behindOwnTicket();
    // Busy: #lockContended announces the wait (which may throw) before it takes a ticket.
    if (!tryTicket(this._a, this._i, OWNER_ID)) this.#lockContended(-1);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe
    onAcquired(this, false, false);
    return new LockGuard(this);
  }
}

/**
 * `TicketLock.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_TicketLock` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): TicketLock {
  return new TicketLock(FROM_HANDLE, handle);
}
