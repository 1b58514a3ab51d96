/**
 * `TicketLock`: a FIFO spin lock. Each acquirer takes a ticket (`Atomics.add` on NEXT) and waits
 * until SERVING reaches it, so the lock is granted in arrival order. Like `SpinLock` it spins
 * only a bounded time (proportional to its place in the queue), then sleeps on SERVING.
 *
 * Layout (BYTE_LENGTH 20):
 * | word | name    | meaning |
 * |------|---------|---------|
 * | 0    | tag     | kind tag, written once by the constructor |
 * | 1    | NEXT    | next ticket to hand out (wraps around: compared with ===) |
 * | 2    | SERVING | ticket now allowed in; NEXT === SERVING means free |
 * | 3    | OWNER   | owner id of the holder, 0 when free (ownership checks) |
 * | 4    | SLEEPERS| threads asleep (or about to sleep) on SERVING |
 *
 * ## Invariants
 * 1. Tickets in [SERVING, NEXT) are held by queued or owning threads; only the holder of ticket
 *    SERVING may run its critical section, and only it advances SERVING.
 * 2. A ticket is never abandoned: timed (`tryLock(ms)`) and abortable acquisitions therefore do not
 *    take one while the lock is busy. They wait for SERVING to move and retry `tryLock()`, which
 *    only takes a ticket when the queue is empty. Timed waiters are thus not FIFO-ordered and give
 *    way to ticket holders.
 * 3. A sleeper increments SLEEPERS before its last check of SERVING; the releaser advances SERVING
 *    before reading SLEEPERS. With sequentially consistent Atomics one of them sees the other, so a
 *    release either is seen by the check or notifies the sleeper (no lost wakeup).
 *
 * ## Memory ordering
 * All shared accesses are Atomics (sequentially consistent). OWNER is written by the thread whose
 * ticket is served, after it observed SERVING, and cleared before SERVING advances.
 */
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { attach, place, type Handle, type PlacementOptions } from './core/layout.js';
import {
  checkTimeout,
  deadlineAfter,
  parseWaitOptions,
  throwIfOver,
  waitAsyncUntil,
  waitUntil,
  wake,
  now,
  type ParsedWait,
  type WaitOptions,
} from './core/futex.js';
import { relax, SpinBudget } from './core/spin.js';
import { abortReason } from './core/errors.js';
import { ExclusiveLock, LockGuard } from './exclusive.js';
import { checking, onAcquire, onAcquired, onRelease, waitChecked } from './check/hooks.js';

const NEXT = 0;
const SERVING = 1;
const OWNER = 2;
const SLEEPERS = 3;
const BYTES = 20;

/** Probes per queue position before sleeping; adaptive like the other spin locks. */
const TICKET_BUDGET = new SpinBudget(8, 512);

const FROM_HANDLE = Symbol('fromHandle');

export type TicketLockOptions = PlacementOptions;

/** A FIFO (ticket) spin lock in shared memory. */
export class TicketLock extends ExclusiveLock {
  /** Bytes one TicketLock occupies at a placement. */
  static readonly BYTE_LENGTH = BYTES;
  /** Required alignment of `byteOffset`. */
  static readonly BYTE_ALIGNMENT = 4;

  constructor(options?: TicketLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: TicketLockOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    super(
      'TicketLock',
      options === FROM_HANDLE ? attach('TicketLock', handle, () => BYTES) : place('TicketLock', BYTES, options),
    );
  }

  /** Attaches to the TicketLock a handle describes. */
  static from(handle: Handle): TicketLock {
    return new TicketLock(FROM_HANDLE, handle);
  }

  /** Takes a ticket and blocks until it is served. Throws ERR_LOCK_RECURSIVE if already held. */
  lock(): LockGuard {
    // The verifier's only cost when off: this one branch (check/hooks.ts).
    if (checking) return this.#lockChecked();
    const a = this._a;
    const i = this._i;
    if (Atomics.load(a, i + OWNER) === OWNER_ID) throw this._recursive();
    // Take the next ticket; the queue order is the order of these adds.
    const ticket = Atomics.add(a, i + NEXT, 1);
    // Served at once when the queue was empty (the uncontended path).
    if (Atomics.load(a, i + SERVING) !== ticket) this.#waitForTurn(ticket);
    // Record ownership only once served (invariant 1).
    Atomics.store(a, i + OWNER, OWNER_ID);
    return new LockGuard(this);
  }

  /** Serves the next ticket. Throws ERR_LOCK_NOT_OWNER unless this thread holds the lock. */
  unlock(): void {
    const a = this._a;
    const i = this._i;
    if (checking) onRelease(this, false, Atomics.load(a, i + OWNER));
    // Ownership check and clear in one step: only the holder's id is replaced by 0.
    const owner = Atomics.compareExchange(a, i + OWNER, OWNER_ID, 0);
    if (owner !== OWNER_ID) throw this._notOwner(owner);
    // Let the next ticket in.
    Atomics.add(a, i + SERVING, 1);
    // Wake sleepers (all: we cannot wake only the next ticket's thread) only if any (invariant 3).
    if (Atomics.load(a, i + SLEEPERS) !== 0) wake(a, i + SERVING, Infinity);
  }

  /**
   * Without `timeoutMs`: takes the lock only if nobody holds or waits for it. With it: retries
   * until the deadline (not FIFO, invariant 2). Returns whether this thread now holds the lock.
   */
  tryLock(timeoutMs?: number): boolean {
    if (checking) return this.#tryLockChecked(timeoutMs);
    if (this.#tryTicket()) return true;
    if (timeoutMs === undefined) return false;
    checkTimeout(timeoutMs, 'timeoutMs');
    if (Atomics.load(this._a, this._i + OWNER) === OWNER_ID) throw this._recursive();
    return this.#retryUntil(deadlineAfter(timeoutMs));
  }

  /** Retries `tryLock()` whenever SERVING moves, until `deadline` (invariant 2: no ticket taken). */
  #retryUntil(deadline: number): boolean {
    const a = this._a;
    const s = this._i + SERVING;
    for (;;) {
      const serving = Atomics.load(a, s);
      if (this.#tryTicket()) return true;
      if (now() >= deadline) return false;
      // Announce the sleep before sleeping (invariant 3), then sleep until SERVING moves.
      Atomics.add(a, this._i + SLEEPERS, 1);
      waitUntil(a, s, serving, deadline);
      // Done sleeping.
      Atomics.sub(a, this._i + SLEEPERS, 1);
    }
  }

  /**
   * Waits on the event loop. Without timeout or signal it takes a ticket (FIFO); with either it
   * retries `tryLock()` whenever the lock is released (invariant 2).
   */
  async lockAsync(options?: WaitOptions): Promise<LockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, false, true);
    if (!this.#tryTicket()) {
      if (wait.signal === undefined && wait.deadline === Infinity) await this.#ticketAsync();
      else await this.#pollAsync(wait);
    }
    if (checking) onAcquired(this, false, true);
    return new LockGuard(this);
  }

  /** Snapshot: is anyone holding or queued? For diagnostics only. */
  isLocked(): boolean {
    return Atomics.load(this._a, this._i + NEXT) !== Atomics.load(this._a, this._i + SERVING);
  }

  /** Takes a ticket only if it would be served at once. */
  #tryTicket(): boolean {
    const a = this._a;
    const i = this._i;
    const serving = Atomics.load(a, i + SERVING);
    // Take ticket `serving` only if it is the next one to hand out, i.e. the queue is empty.
    if (Atomics.compareExchange(a, i + NEXT, serving, (serving + 1) | 0) !== serving) return false;
    // Served: record ownership.
    Atomics.store(a, i + OWNER, OWNER_ID);
    return true;
  }

  #waitForTurn(ticket: number, deadline = Infinity): boolean {
    const a = this._a;
    const s = this._i + SERVING;
    const limit = TICKET_BUDGET.limit;
    // Spin proportionally to our distance from the head of the queue, loads only.
    for (let probe = 0; probe < limit; probe++) {
      const serving = Atomics.load(a, s);
      if (serving === ticket) {
        TICKET_BUDGET.succeeded(probe);
        return true;
      }
      relax(16 * ((ticket - serving) | 0));
    }
    TICKET_BUDGET.failed();
    // Announce the sleep before the last check (invariant 3).
    Atomics.add(a, this._i + SLEEPERS, 1);
    let served = false;
    for (;;) {
      const serving = Atomics.load(a, s);
      if ((served = serving === ticket)) break;
      // A finite deadline only comes from the verifier's watchdog steps: the ticket stays ours,
      // the caller calls again (invariant 2 holds: the ticket is not abandoned).
      // CORRECTNESS: between two steps SLEEPERS is briefly lowered; a release then may skip its
      // notify, but the next step raises SLEEPERS again before re-reading SERVING (invariant 3).
      if (deadline !== Infinity && now() >= deadline) break;
      // Sleep until a release moves SERVING.
      waitUntil(a, s, serving, deadline);
    }
    // No longer asleep.
    Atomics.sub(a, this._i + SLEEPERS, 1);
    return served;
  }

  // ---- the verifier's paths (only while check/hooks.ts `checking` is true) ---------------------------

  #lockChecked(): LockGuard {
    const a = this._a;
    const i = this._i;
    onAcquire(this, false, false);
    if (Atomics.load(a, i + OWNER) === OWNER_ID) throw this._recursive();
    // Announce the wait (main-thread-block may throw) before taking a ticket: once taken, a ticket
    // can never be given back (invariant 2), so nothing may throw after that.
    if (!this.#tryTicket()) {
      let ticket = -1;
      waitChecked(this, false, Infinity, false, (step) => {
        if (ticket === -1) ticket = Atomics.add(a, i + NEXT, 1); // take our place in the queue, once
        if (Atomics.load(a, i + SERVING) === ticket) return true;
        return this.#waitForTurn(ticket, step);
      }, () => Atomics.load(a, i + OWNER));
      Atomics.store(a, i + OWNER, OWNER_ID);
    }
    onAcquired(this, false, false);
    return new LockGuard(this);
  }

  #tryLockChecked(timeoutMs: number | undefined): boolean {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    // A timed attempt can wait, so it orders like lock(); a plain tryLock() cannot (lockdep's rule).
    if (timeoutMs !== undefined) onAcquire(this, false, false);
    let taken = this.#tryTicket();
    if (!taken && timeoutMs !== undefined) {
      if (Atomics.load(this._a, this._i + OWNER) === OWNER_ID) throw this._recursive();
      taken = waitChecked(
        this,
        false,
        deadlineAfter(timeoutMs),
        true,
        (step) => this.#retryUntil(step),
        () => Atomics.load(this._a, this._i + OWNER),
      );
    }
    if (taken) onAcquired(this, false, false);
    return taken;
  }

  async #ticketAsync(): Promise<void> {
    const a = this._a;
    const s = this._i + SERVING;
    // Take a ticket: from now on we must be served (tickets are never abandoned, invariant 2).
    const ticket = Atomics.add(a, this._i + NEXT, 1);
    // Announce the sleep before checking (invariant 3).
    Atomics.add(a, this._i + SLEEPERS, 1);
    for (;;) {
      const serving = Atomics.load(a, s);
      if (serving === ticket) break;
      // Sleep on the event loop until a release moves SERVING; nothing can abort this wait.
      await waitAsyncUntil(a, s, serving, Infinity, undefined, noop);
    }
    // No longer asleep.
    Atomics.sub(a, this._i + SLEEPERS, 1);
    Atomics.store(a, this._i + OWNER, OWNER_ID);
  }

  async #pollAsync(wait: ParsedWait): Promise<void> {
    const a = this._a;
    const s = this._i + SERVING;
    for (;;) {
      const serving = Atomics.load(a, s);
      if (this.#tryTicket()) return;
      throwIfOver(wait, this.name);
      // Announce, then sleep until SERVING moves (invariant 3); wake-all means no forwarding needed.
      Atomics.add(a, this._i + SLEEPERS, 1);
      try {
        await waitAsyncUntil(a, s, serving, wait.deadline, wait.signal, noop);
      } finally {
        // No longer asleep (also when aborted: a leftover wait only absorbs part of a wake-all).
        Atomics.sub(a, this._i + SLEEPERS, 1);
      }
    }
  }
}

const noop = (): void => {};
