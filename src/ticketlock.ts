/**
 * `TicketLock`: a FIFO spin lock. Each acquirer takes a ticket (`Atomics.add` on NEXT) and waits
 * until SERVING reaches it, so the lock is granted in arrival order (Mellor-Crummey & Scott's
 * ticket lock). Like `SpinLock` it spins only a bounded time (proportional to its place in the
 * queue), then sleeps. Only the thread next in line spins; the rest sleep at once. Sleepers are spread over four slot words by ticket (Dice's partitioned
 * ticket lock), so a release wakes the served ticket's slot and the one after it (which starts
 * spinning: it is now next in line), not every sleeper.
 *
 * Layout (BYTE_LENGTH 136):
 * | word | name     | meaning |
 * |------|----------|---------|
 * | 0    | tag      | kind tag, written once by the constructor |
 * | 1    | NEXT     | next ticket to hand out (wraps around: compared with ===) |
 * | 2    | SERVING  | ticket now allowed in; NEXT === SERVING means free |
 * | 3    | OWNER    | owner id of the holder (bits 0–27), 0 when free; bit 31 OWNER_DIED |
 * | 4    | SLEEPERS | ticket holders asleep (or about to sleep) on their slot |
 * | 5    | POLLERS  | timed/abortable waiters asleep on SERVING (they hold no ticket) |
 * | 6–9  | SLOT0–3  | ticket t sleeps on SLOT[t & 3]; bumped when SERVING reaches t |
 * | 10–33 | QUEUED  | 8 entries `(owner id, ticket, asleep)`: who waits with which ticket (invariant 5) |
 *
 * ## Invariants
 * 1. Tickets in [SERVING, NEXT) are held by queued or owning threads; only the holder of ticket
 *    SERVING may run its critical section, and only it advances SERVING.
 * 2. A ticket is never abandoned: timed (`tryLock(ms)`) and abortable acquisitions therefore do not
 *    take one while the lock is busy. They wait for SERVING to move and retry `tryLock()`, which
 *    only takes a ticket when the queue is empty. Timed waiters are thus not FIFO-ordered and give
 *    way to ticket holders.
 * 3. A sleeper increments SLEEPERS (POLLERS) before its last check of SERVING, and reads its slot
 *    (SERVING) value before that check; the releaser advances SERVING before reading SLEEPERS
 *    (POLLERS) and bumps the slot after. With sequentially consistent Atomics either the check sees
 *    the new SERVING or the sleep sees a changed slot / is notified (no lost wakeup).
 * 4. Owner death (`core/owner-death.ts`): every wait is at most ROBUST_SLICE_MS long. A waiter that
 *    finds OWNER naming a dead thread CASes OWNER from exactly that value to OWNER_DIED (one
 *    reaper wins; ids are never reused) and serves the next ticket on the dead holder's behalf.
 *    OWNER_DIED stays set through later acquisitions (they `or` their id in) and releases (they
 *    clear only the id) until an owner calls `markConsistent()`.
 * 5. Queued death. A thread that waits for its ticket records itself in QUEUED entry
 *    `ticket & 7` (CAS of the entry's owner from 0, or from a dead owner whose ticket has already
 *    passed: a leftover), then writes the ticket; it clears the entry after it has written OWNER.
 *    A waiter that finds OWNER empty, SERVING = t and entry `t & 7` naming a dead thread with
 *    ticket t knows t's turn will never be taken: one CAS of the entry's owner from that dead id
 *    elects it, and it serves the next ticket on the dead thread's behalf (taking back the dead
 *    thread's SLEEPERS count if the entry says it was asleep). Only dead owners are reaped, so a
 *    live but slow waiter is never skipped. Not covered: a waiter that dies before its entry is
 *    written (between its `Atomics.add` on NEXT and the CAS), a thread served at once (it never
 *    records itself) that dies before writing OWNER, and waiters whose entry was taken (more than
 *    8 queued at once): their turn is never taken (docs/robustness.md, "Limits").
 * 6. One serve per turn. A holder that dies between recording OWNER and freeing its QUEUED entry
 *    looks both like a dead owner (invariant 4) and, once a reaper has replaced OWNER by the bare
 *    OWNER_DIED flag, like a dead queued waiter of the turn SERVING still shows (invariant 5).
 *    Reapers therefore advance SERVING by a CAS from exactly the turn they act for (the owner
 *    reaper reads it before its takeover CAS, while OWNER still names the dead holder, so it cannot
 *    have moved): of two reapers of one turn one wins, and no ticket is skipped or let in twice.
 *    Only the holder's own release advances SERVING by an add.
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
import { relax } from './core/spin.js';
import { abortReason } from './core/errors.js';
import { ExclusiveLock, LockGuard } from './exclusive.js';
import { LockError } from './core/errors.js';
import { OWNER_DIED, OWNER_MASK } from './raw/mutex.js';
import { isDeadOwner, sliceDeadline, wasReaped } from './core/owner-death.js';
import { noteAcquired, noteOwnerDied, noteReleased, noteTimeout, observeAsync, observing, watching } from './observe/hooks.js';
import { acquireChannel, releaseChannel } from './observe/events.js';
import { checking, onAcquire, onAcquired, onRelease, waitChecked } from './check/hooks.js';

const NEXT = 0;
const SERVING = 1;
const OWNER = 2;
const SLEEPERS = 3;
const POLLERS = 4;
const SLOT0 = 5;
const SLOT_MASK = 3;
/** QUEUED entries (invariant 5): owner id (0 free, −1 being reaped), ticket, asleep (1 = counted in SLEEPERS). */
const QUEUED = 9;
const Q_ENTRIES = 8;
const Q_MASK = Q_ENTRIES - 1;
const Q_WORDS = 3;
const Q_OWNER = 0;
const Q_TICKET = 1;
const Q_ASLEEP = 2;
const BYTES = 4 * (1 + QUEUED + Q_ENTRIES * Q_WORDS);

/** How long the thread next in line spins before sleeping: about one futex wake-up latency. */
const NEXT_IN_LINE_SPIN_MS = 0.05;

const FROM_HANDLE = Symbol('fromHandle');

/**
 * This thread's `lockAsync` tickets not served yet, per lock (buffer → state index → count). A
 * blocking `lock()` of a thread that holds one would take a later ticket and block; the earlier
 * one is then served to a task that can never run, and the thread waits for itself for ever. So
 * such a `lock()` throws ERR_LOCK_RECURSIVE instead (checked before it takes a ticket: a ticket,
 * once taken, is never given back). `pendingTicketCount` keeps the check to one load when none.
 */
const pendingTickets = new WeakMap<ArrayBufferLike, Map<number, number>>();
let pendingTicketCount = 0;

function notePendingTicket(a: Int32Array, i: number, delta: 1 | -1): void {
  let m = pendingTickets.get(a.buffer);
  if (!m) pendingTickets.set(a.buffer, (m = new Map()));
  const n = (m.get(i) ?? 0) + delta;
  if (n === 0) m.delete(i);
  else m.set(i, n);
  pendingTicketCount += delta;
}

/** Options of `new TicketLock()`: placement, class name and verifier rank. */
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
    if ((Atomics.load(a, i + OWNER) & OWNER_MASK) === OWNER_ID) throw this._recursive();
    if (pendingTicketCount !== 0) this.#refuseBehindOwnTicket();
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
    const a = this._a;
    const i = this._i;
    if (checking) onRelease(this, false, Atomics.load(a, i + OWNER) & OWNER_MASK);
    // Ownership check and clear in one step: only the holder's id is replaced by 0.
    const owner = Atomics.compareExchange(a, i + OWNER, OWNER_ID, 0);
    if (owner !== OWNER_ID) {
      // After an owner death the word is OWNER_ID | OWNER_DIED: clear our id, keep the flag.
      if (owner !== (OWNER_ID | OWNER_DIED) || Atomics.compareExchange(a, i + OWNER, owner, OWNER_DIED) !== owner) {
        // A reaped thread's hold was already served on by its reaper: never serve twice.
        if (wasReaped()) return;
        throw this._notOwner(owner & OWNER_MASK);
      }
    }
    this.#serveNext();
    if (observing || releaseChannel.hasSubscribers) noteReleased(this); // observe: off = one test
  }

  /**
   * Advances SERVING and wakes whoever it concerns. The holder's release passes no `turn`; a
   * reaper acting for a dead thread passes the turn it acts for and serves only from exactly that
   * turn (invariant 6), returning false when another reaper already served it.
   */
  #serveNext(turn?: number): boolean {
    const a = this._a;
    const i = this._i;
    let next: number;
    if (turn === undefined) {
      // Let the next ticket in (only the holder advances SERVING: invariant 1).
      next = (Atomics.add(a, i + SERVING, 1) + 1) | 0;
    } else {
      next = (turn + 1) | 0;
      // CORRECTNESS: an owner reaper and a queued-waiter reaper may both act for one turn (a holder
      // that died between recording OWNER and freeing its QUEUED entry); one CAS wins, so no
      // ticket is skipped and no two tickets are let in.
      if (Atomics.compareExchange(a, i + SERVING, turn, next) !== turn) return false;
    }
    if (Atomics.load(a, i + SLEEPERS) !== 0) {
      const served = i + SLOT0 + (next & SLOT_MASK);
      const onDeck = i + SLOT0 + ((next + 1) & SLOT_MASK);
      // Bump the served ticket's slot so a sleeper that read it before our SERVING add cannot sleep (invariant 3).
      Atomics.add(a, served, 1);
      // Wake the served ticket's thread (tickets ≡ next mod 4 further back re-sleep).
      wake(a, served, Infinity);
      // Also bump and wake the ticket after it, now next in line, so it spins instead of sleeping through its turn.
      Atomics.add(a, onDeck, 1);
      wake(a, onDeck, Infinity);
    }
    // Timed waiters poll on SERVING; wake them only if there are any (invariant 3).
    if (Atomics.load(a, i + POLLERS) !== 0) wake(a, i + SERVING, Infinity);
    return true;
  }

  /**
   * Without `timeoutMs`: takes the lock only if nobody holds or waits for it. With it: retries
   * until the deadline (not FIFO, invariant 2). Returns whether this thread now holds the lock.
   */
  tryLock(timeoutMs?: number): boolean {
    // A bad timeout is an error whether or not the lock happens to be free.
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (checking) return this.#tryLockChecked(timeoutMs);
    return this.#tryLock(timeoutMs);
  }

  /**
   * `tryLock()`'s work, the same with the verifier on or off (the checked path adds only its
   * hooks around it): the same acquisitions, stats, events and reaping either way.
   */
  #tryLock(timeoutMs: number | undefined): boolean {
    // A plain try also takes over from a dead holder, once (invariant 4).
    if (this.#tryTicket() || (timeoutMs === undefined && this.#reapDeadOwner() && this.#tryTicket())) {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
      return true;
    }
    if (timeoutMs === undefined) return false;
    if ((Atomics.load(this._a, this._i + OWNER) & OWNER_MASK) === OWNER_ID) throw this._recursive();
    return this.#pollContended(deadlineAfter(timeoutMs));
  }

  /**
   * A timed `tryLock` that found the lock busy: retries until `deadline` (invariant 2), in the
   * verifier's watchdog steps when it is on; observed once, whatever the number of steps.
   */
  #pollContended(deadline: number): boolean {
    const waitStart = watching() ? now() : -1; // observe: time the wait, then record how it ended
    const sleeps: Sleeps = { parks: 0 };
    const ok = checking
      ? waitChecked(
          this,
          false,
          deadline,
          true,
          (step) => this.#retryUntil(step, sleeps),
          () => Atomics.load(this._a, this._i + OWNER) & OWNER_MASK,
        )
      : this.#retryUntil(deadline, sleeps);
    if (waitStart >= 0) {
      if (ok) noteAcquired(this, waitStart, sleeps.parks);
      else noteTimeout(this, waitStart);
    }
    return ok;
  }

  /**
   * Retries `tryLock()` whenever SERVING moves, until `deadline` (invariant 2: no ticket taken);
   * adds its sleeps to `sleeps.parks`.
   */
  #retryUntil(deadline: number, sleeps: Sleeps): boolean {
    const a = this._a;
    const s = this._i + SERVING;
    for (;;) {
      const serving = Atomics.load(a, s);
      if (this.#tryTicket()) return true;
      if (now() >= deadline) return false;
      // Announce the sleep before the last check (invariant 3), then sleep until SERVING moves.
      Atomics.add(a, this._i + POLLERS, 1);
      if (Atomics.load(a, s) === serving) {
        waitUntil(a, s, serving, sliceDeadline(deadline)); // a slice: see invariant 4
        sleeps.parks++;
      }
      // Done sleeping.
      Atomics.sub(a, this._i + POLLERS, 1);
      this.#reapDead(); // invariants 4 and 5
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
      const waitStart = watching() ? now() : -1; // observe
      const slow = wait.signal === undefined && wait.deadline === Infinity ? this.#ticketAsync() : this.#pollAsync(wait);
      await (waitStart >= 0 ? observeAsync(this, waitStart, wait.signal, slow) : slow); // observe
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    if (checking) onAcquired(this, false, true);
    return new LockGuard(this);
  }

  /** Snapshot: is anyone holding or queued? For diagnostics only. */
  isLocked(): boolean {
    return Atomics.load(this._a, this._i + NEXT) !== Atomics.load(this._a, this._i + SERVING);
  }

  /** True if this thread holds the lock (its owner id is in OWNER). */
  isHeldByCurrentThread(): boolean {
    return (Atomics.load(this._a, this._i + OWNER) & OWNER_MASK) === OWNER_ID;
  }

  /** True when a holder died holding the lock and nobody has called `markConsistent()` since. */
  get ownerDied(): boolean {
    return (Atomics.load(this._a, this._i + OWNER) & OWNER_DIED) !== 0;
  }

  /** Declares the protected data repaired after an owner death; this thread must hold the lock. */
  markConsistent(): void {
    if ((Atomics.load(this._a, this._i + OWNER) & OWNER_MASK) !== OWNER_ID) {
      throw new LockError('ERR_LOCK_NOT_HELD', `${this.name}: markConsistent() needs the lock held by this thread`, this.name);
    }
    // Only the owner writes OWNER while it holds the lock; and() keeps the id.
    Atomics.and(this._a, this._i + OWNER, ~OWNER_DIED);
  }

  /**
   * If OWNER names a dead thread, takes its place and serves the next ticket for it (invariant 4).
   * Returns true if this call did so.
   */
  #reapDeadOwner(): boolean {
    const a = this._a;
    const s = Atomics.load(a, this._i + OWNER);
    const owner = s & OWNER_MASK;
    if (owner === 0 || !isDeadOwner(owner)) return false;
    // The dead holder's turn. SERVING cannot move while OWNER names it: its release never comes,
    // and a queued-waiter reaper acts only on an OWNER without id (invariant 6).
    const turn = Atomics.load(a, this._i + SERVING);
    // One reaper per death: from exactly the dead-owner value (ids are never reused); keep only the flag.
    if (Atomics.compareExchange(a, this._i + OWNER, s, OWNER_DIED) !== s) return false;
    if (this.#serveNext(turn)) noteOwnerDied(this); // once per death (stats, events)
    return true;
  }

  /** Takes a ticket only if it would be served at once. */
  #tryTicket(): boolean {
    const a = this._a;
    const i = this._i;
    const serving = Atomics.load(a, i + SERVING);
    // Take ticket `serving` only if it is the next one to hand out, i.e. the queue is empty.
    if (Atomics.compareExchange(a, i + NEXT, serving, (serving + 1) | 0) !== serving) return false;
    // Served: record ownership, keeping OWNER_DIED (invariant 4).
    Atomics.or(a, i + OWNER, OWNER_ID);
    return true;
  }

  /**
   * `lock()` once the lock was found busy: waits for `ticket` to be served and records ownership,
   * observed once if anyone watches. Under the verifier `ticket` is -1: the wait runs in watchdog
   * steps, and the ticket is taken in the first one, after the wait was announced (`onWait` may
   * throw, e.g. main-thread-block, and a ticket can never be given back, invariant 2).
   */
  #lockContended(ticket: number): void {
    const a = this._a;
    const i = this._i;
    const waitStart = watching() ? now() : -1; // observe: time the wait
    const sleeps: Sleeps = { parks: 0 };
    let entry = -1;
    if (!checking) {
      entry = this.#enqueue(ticket);
      this.#waitForTurn(ticket, Infinity, entry, sleeps);
    } else {
      waitChecked(
        this,
        false,
        Infinity,
        false,
        (step) => {
          if (ticket === -1) {
            ticket = Atomics.add(a, i + NEXT, 1); // take our place in the queue, once
            entry = this.#enqueue(ticket);
          }
          return Atomics.load(a, i + SERVING) === ticket || this.#waitForTurn(ticket, step, entry, sleeps);
        },
        () => Atomics.load(a, i + OWNER) & OWNER_MASK,
      );
    }
    this.#served(entry);
    if (waitStart >= 0) noteAcquired(this, waitStart, sleeps.parks); // observe
  }

  /**
   * Records this thread as the waiter with `ticket` (invariant 5); returns the entry's word index,
   * or −1 if the entry is taken by another queued thread (untracked: not recovered if we die).
   */
  #enqueue(ticket: number): number {
    const a = this._a;
    const e = this._i + QUEUED + Q_WORDS * (ticket & Q_MASK);
    const o = Atomics.load(a, e + Q_OWNER);
    // A leftover of a thread that died after its turn passed may be reused.
    if (o > 0 && !(isDeadOwner(o) && ((Atomics.load(a, e + Q_TICKET) - Atomics.load(a, this._i + SERVING)) | 0) < 0)) return -1;
    if (o < 0) return -1; // being reaped right now
    // Claim the entry from exactly what we saw (free, or that dead leftover).
    if (Atomics.compareExchange(a, e + Q_OWNER, o, OWNER_ID) !== o) return -1;
    // Not asleep yet, then our ticket: a reaper compares it with SERVING only after seeing us dead.
    Atomics.store(a, e + Q_ASLEEP, 0);
    Atomics.store(a, e + Q_TICKET, ticket);
    return e;
  }

  /** Our ticket is served: record ownership, then free our queue entry (invariant 5). */
  #served(e: number): void {
    // Record ownership only once served (invariant 1); `or` keeps OWNER_DIED (invariant 4).
    Atomics.or(this._a, this._i + OWNER, OWNER_ID);
    // After OWNER: a death from here on is an owner death (invariant 4), not a queued one.
    if (e >= 0) Atomics.store(this._a, e + Q_OWNER, 0);
  }

  /** About to sleep for ticket with queue entry `e`: counted in SLEEPERS, and the entry says so. */
  #asleep(e: number): void {
    // Announce the sleep before the last check (invariant 3).
    Atomics.add(this._a, this._i + SLEEPERS, 1);
    // Tell a reaper our sleep is counted (invariant 5).
    if (e >= 0) Atomics.store(this._a, e + Q_ASLEEP, 1);
  }

  /** Done sleeping: undoes #asleep, the entry first (a reaper must not take our count back twice). */
  #awake(e: number): void {
    // The entry first: from here a reaper does not take our SLEEPERS count back.
    if (e >= 0) Atomics.store(this._a, e + Q_ASLEEP, 0);
    // No longer asleep (invariant 3).
    Atomics.sub(this._a, this._i + SLEEPERS, 1);
  }

  /**
   * If the ticket being served belongs to a queued thread that died, serves the next ticket on its
   * behalf (invariant 5). Returns true if this call did so.
   */
  #reapDeadWaiter(): boolean {
    const a = this._a;
    const i = this._i;
    // A holder (live or dead) is the owner-death path's business.
    if ((Atomics.load(a, i + OWNER) & OWNER_MASK) !== 0) return false;
    const serving = Atomics.load(a, i + SERVING);
    const e = i + QUEUED + Q_WORDS * (serving & Q_MASK);
    const o = Atomics.load(a, e + Q_OWNER);
    if (o <= 0 || !isDeadOwner(o) || Atomics.load(a, e + Q_TICKET) !== serving) return false;
    // One reaper per death: the CAS from the dead id (ids are never reused; the dead cannot move).
    if (Atomics.compareExchange(a, e + Q_OWNER, o, -1) !== o) return false;
    // Still its turn? (SERVING only moves when ticket `serving` is served and released.)
    if (Atomics.load(a, i + SERVING) === serving && (Atomics.load(a, i + OWNER) & OWNER_MASK) === 0) {
      // Take back its sleep announcement, as its own wake-up would have (invariant 3).
      if (Atomics.load(a, e + Q_ASLEEP) === 1) Atomics.sub(a, i + SLEEPERS, 1);
      // From exactly that turn: an owner reaper acting for the same turn may beat us (invariant 6).
      if (this.#serveNext(serving)) noteOwnerDied(this); // once per death (stats, events)
    }
    // Free the entry.
    Atomics.store(a, e + Q_OWNER, 0);
    return true;
  }

  /** After each sleep slice: a dead holder (invariant 4) or a dead queued waiter (invariant 5). */
  #reapDead(): void {
    if (!this.#reapDeadOwner()) this.#reapDeadWaiter();
  }

  /**
   * Waits until `ticket` is served (true), or `deadline` passed first (false); adds its sleeps to
   * `sleeps.parks`. A finite deadline only comes from the verifier's watchdog steps: the ticket
   * stays ours and the caller calls again (invariant 2: a ticket is never abandoned).
   */
  #waitForTurn(ticket: number, deadline: number, entry: number, sleeps: Sleeps): boolean {
    const a = this._a;
    const s = this._i + SERVING;
    const slot = this._i + SLOT0 + (ticket & SLOT_MASK);
    let sleeping = false;
    let served = true;
    for (;;) {
      // Only the next in line spins: further back, spinning would only steal the holder's core.
      if (((ticket - Atomics.load(a, s)) | 0) === 1 && this.#spinUntilServed(ticket)) break;
      if (!sleeping) {
        this.#asleep(entry);
        sleeping = true;
      }
      // Slot value first, then SERVING (invariant 3).
      const seen = Atomics.load(a, slot);
      if (Atomics.load(a, s) === ticket) break;
      // CORRECTNESS: between two watchdog steps SLEEPERS is briefly lowered; a release may then
      // skip its notify, but the next step raises SLEEPERS again before re-reading SERVING.
      if (deadline !== Infinity && now() >= deadline) {
        served = false;
        break;
      }
      // Sleep until a release bumps our slot (next in line or served), or a slice passes.
      waitUntil(a, slot, seen, sliceDeadline(deadline));
      sleeps.parks++;
      this.#reapDead(); // invariants 4 and 5
    }
    if (sleeping) this.#awake(entry);
    return served;
  }

  /**
   * Load-only spin for the thread next in line, bounded in time rather than in probes: a FIFO
   * lock cannot let anyone else in while its next thread sleeps, so once the next thread gives up
   * spinning every handoff costs a futex wake-up (tens of µs) and the lock convoys. Spinning about
   * one wake-up latency lets a running holder hand over directly; only one thread ever spins.
   */
  #spinUntilServed(ticket: number): boolean {
    const a = this._a;
    const s = this._i + SERVING;
    const until = now() + NEXT_IN_LINE_SPIN_MS;
    for (;;) {
      for (let probe = 0; probe < 64; probe++) {
        // Load-only probe of SERVING: cheap while the holder works.
        if (Atomics.load(a, s) === ticket) return true;
        relax(16);
      }
      if (now() >= until) return false;
    }
  }

  // ---- the verifier's paths (only while check/hooks.ts `checking` is true) ---------------------------

  // Each adds only the verifier's hooks around the same work as the unchecked path, so turning the
  // verifier on changes no count, no event and no recovery.

  #lockChecked(): LockGuard {
    onAcquire(this, false, false);
    if ((Atomics.load(this._a, this._i + OWNER) & OWNER_MASK) === OWNER_ID) throw this._recursive();
    if (pendingTicketCount !== 0) this.#refuseBehindOwnTicket();
    // Busy: #lockContended announces the wait (which may throw) before it takes a ticket.
    if (!this.#tryTicket()) this.#lockContended(-1);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe
    onAcquired(this, false, false);
    return new LockGuard(this);
  }

  #tryLockChecked(timeoutMs: number | undefined): boolean {
    // A timed attempt can wait, so it orders like lock(); a plain tryLock() cannot (lockdep's rule).
    if (timeoutMs !== undefined) onAcquire(this, false, false);
    const taken = this.#tryLock(timeoutMs);
    if (taken) onAcquired(this, false, false);
    return taken;
  }

  async #ticketAsync(): Promise<number> {
    const a = this._a;
    const s = this._i + SERVING;
    // Take a ticket: from now on we must be served (tickets are never abandoned, invariant 2).
    const ticket = Atomics.add(a, this._i + NEXT, 1);
    // A blocking lock() of this thread would now wait behind this ticket for ever: it refuses.
    notePendingTicket(a, this._i, 1);
    const slot = this._i + SLOT0 + (ticket & SLOT_MASK);
    const entry = this.#enqueue(ticket);
    this.#asleep(entry);
    let parks = 0;
    for (;;) {
      // Slot value first, then SERVING (invariant 3).
      const seen = Atomics.load(a, slot);
      if (Atomics.load(a, s) === ticket) break;
      // Sleep on the event loop until our slot is bumped or a slice passes; nothing can abort it.
      await waitAsyncUntil(a, slot, seen, sliceDeadline(Infinity), undefined, noop);
      parks++;
      this.#reapDead(); // invariants 4 and 5
    }
    this.#awake(entry);
    this.#served(entry);
    notePendingTicket(a, this._i, -1);
    return parks;
  }

  /** lock() while a lockAsync() ticket of this thread waits: it could only deadlock (see pendingTickets). */
  #refuseBehindOwnTicket(): void {
    const a = this._a;
    // Our pending tickets on this lock: this thread's record of them (per buffer object), or its
    // QUEUED entries in shared memory, which name it whatever attachment (another object, a buffer
    // object from another message) took the ticket. No sync wait of this thread is pending while
    // it runs this, so an entry naming it is an async ticket.
    let mine = (pendingTickets.get(a.buffer)?.get(this._i) ?? 0) > 0;
    for (let k = 0; !mine && k < Q_ENTRIES; k++) mine = Atomics.load(a, this._i + QUEUED + Q_WORDS * k + Q_OWNER) === OWNER_ID;
    if (!mine) return;
    throw new LockError(
      'ERR_LOCK_RECURSIVE',
      `${this.name}: thread ${OWNER_ID - 1} already waits for this TicketLock in lockAsync(); a blocking lock() would queue behind its own earlier ticket and never get in (use lockAsync, or tryLock(ms), which takes no ticket)`,
      this.name,
    );
  }

  async #pollAsync(wait: ParsedWait): Promise<number> {
    const a = this._a;
    const s = this._i + SERVING;
    for (let parks = 0; ; parks++) {
      const serving = Atomics.load(a, s);
      if (this.#tryTicket()) return parks;
      throwIfOver(wait, this.name);
      // Announce, then sleep until SERVING moves (invariant 3); wake-all means no forwarding needed.
      Atomics.add(a, this._i + POLLERS, 1);
      try {
        await waitAsyncUntil(a, s, serving, sliceDeadline(wait.deadline), wait.signal, noop);
      } finally {
        // No longer asleep (also when aborted: a leftover wait only absorbs part of a wake-all).
        Atomics.sub(a, this._i + POLLERS, 1);
      }
      this.#reapDead(); // invariants 4 and 5
    }
  }
}

const noop = (): void => {};

/** Sleeps of one sync wait, summed over the verifier's watchdog steps (for stats and events). */
interface Sleeps {
  parks: number;
}
