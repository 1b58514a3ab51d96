/**
 * Raw ticket lock: FIFO tickets, partitioned sleeper slots and owner / queued-waiter reaping, as
 * pure functions over `(Int32Array, index of NEXT)`. Used by `TicketLock` (`src/ticketlock.ts`).
 *
 * Algorithm: Mellor-Crummey & Scott's ticket lock. Each acquirer takes a ticket (`Atomics.add` on
 * NEXT) and waits until SERVING reaches it, so the lock is granted in arrival order. It spins only
 * a bounded time, then sleeps; only the thread next in line spins, the rest sleep at once.
 * Sleepers are spread over four slot words by ticket (Dice's partitioned ticket lock), so a
 * release wakes the served ticket's slot and the one after it (which starts spinning: it is now
 * next in line), not every sleeper. Every wait parks through `core/park.ts`.
 *
 * ## Words (relative to the state index; the kind tag sits in the word before it)
 * | word  | name     | meaning |
 * |-------|----------|---------|
 * | 0     | NEXT     | next ticket to hand out (wraps around: compared with ===) |
 * | 1     | SERVING  | ticket now allowed in; NEXT === SERVING means free |
 * | 2     | OWNER    | owner id of the holder (bits 0–27), 0 when free; bit 31 OWNER_DIED |
 * | 3     | SLEEPERS | ticket holders asleep (or about to sleep) on their slot |
 * | 4     | POLLERS  | timed/abortable waiters asleep on SERVING (they hold no ticket) |
 * | 5–8   | SLOT0–3  | ticket t sleeps on SLOT[t & 3]; bumped when SERVING reaches t |
 * | 9–32  | QUEUED   | 8 entries `(owner id, ticket, asleep)`: who waits with which ticket (invariant 5) |
 *
 * | NEXT − SERVING | OWNER id | state |
 * |----------------|----------|-------|
 * | 0              | 0        | free: `tryTicket` takes ticket SERVING with one CAS on NEXT |
 * | k > 0          | 0        | ticket SERVING is served, its thread has not written OWNER yet (or died: invariant 5) |
 * | k > 0          | t        | held by t; k − 1 tickets queued behind it |
 * | k > 0          | dead     | held by a thread that died: a waiter reaps it (invariant 4) |
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
 * 7. A thread's own tickets. A blocking `lock()` of a thread whose `lockAsync` ticket is still
 *    pending would take a later ticket and block; the earlier one is then served to a task that can
 *    never run, and the thread waits for itself for ever. `hasPendingTicket` tells the API layer to
 *    refuse (before a ticket is taken: a ticket, once taken, is never given back).
 *
 * ## Memory ordering
 * All shared accesses are Atomics (sequentially consistent). OWNER is written by the thread whose
 * ticket is served, after it observed SERVING, and cleared before SERVING advances.
 */
import { now, sliceEnd, wake, type ParsedWait } from '../core/futex.js';
import { park, parkAsync, PARKS, type Parking } from '../core/park.js';
import { relax } from '../core/spin.js';
import { isDeadOwner } from '../core/owner-death.js';
import { OWNER_DIED, OWNER_MASK } from './mutex.js';

export const NEXT = 0;
export const SERVING = 1;
export const OWNER = 2;
export const SLEEPERS = 3;
export const POLLERS = 4;
export const SLOT0 = 5;
const SLOT_MASK = 3;
/** QUEUED entries (invariant 5): owner id (0 free, −1 being reaped), ticket, asleep (1 = counted in SLEEPERS). */
export const QUEUED = 9;
const Q_ENTRIES = 8;
const Q_MASK = Q_ENTRIES - 1;
const Q_WORDS = 3;
const Q_OWNER = 0;
const Q_TICKET = 1;
const Q_ASLEEP = 2;
/** State words after the tag word. */
export const TICKETLOCK_WORDS = QUEUED + Q_ENTRIES * Q_WORDS;
/** Bytes of one TicketLock at a placement: the tag word and the state words. */
export const TICKETLOCK_BYTES = 4 * (1 + TICKETLOCK_WORDS);

/** How long the thread next in line spins before sleeping: about one futex wake-up latency. */
const NEXT_IN_LINE_SPIN_MS = 0.05;

/** The owner id OWNER names (0: none). */
export const ownerOf = (a: Int32Array, i: number): number => Atomics.load(a, i + OWNER) & OWNER_MASK;
/** Anyone holding or queued? */
export const isLocked = (a: Int32Array, i: number): boolean => Atomics.load(a, i + NEXT) !== Atomics.load(a, i + SERVING);
const slotOf = (i: number, ticket: number): number => i + SLOT0 + (ticket & SLOT_MASK);
const entryOf = (i: number, ticket: number): number => i + QUEUED + Q_WORDS * (ticket & Q_MASK);

// ---- acquiring and releasing ---------------------------------------------------------------------

/** Takes a ticket only if it would be served at once (the queue is empty); never waits. */
export function tryTicket(a: Int32Array, i: number, me: number): boolean {
  const serving = Atomics.load(a, i + SERVING);
  // Take ticket `serving` only if it is the next one to hand out, i.e. the queue is empty.
  if (Atomics.compareExchange(a, i + NEXT, serving, (serving + 1) | 0) !== serving) return false;
  // Served: record ownership, keeping OWNER_DIED (invariant 4).
  Atomics.or(a, i + OWNER, me);
  return true;
}

/** `unlock` released the lock (else it returns the owner id OWNER named: not ours). */
export const RELEASED = -1;

/**
 * Clears `me` from OWNER and serves the next ticket. Returns RELEASED, or the owner id OWNER named
 * if `me` does not hold the lock (the caller decides: a reaped thread's late release, or misuse).
 */
export function unlock(a: Int32Array, i: number, me: number): number {
  // Ownership check and clear in one step: only the holder's id is replaced by 0.
  const owner = Atomics.compareExchange(a, i + OWNER, me, 0);
  if (owner !== me) {
    // After an owner death the word is me | OWNER_DIED: clear our id, keep the flag.
    if (owner !== (me | OWNER_DIED) || Atomics.compareExchange(a, i + OWNER, owner, OWNER_DIED) !== owner) {
      return owner & OWNER_MASK;
    }
  }
  serveNext(a, i);
  return RELEASED;
}

/**
 * Advances SERVING and wakes whoever it concerns. The holder's release passes no `turn`; a
 * reaper acting for a dead thread passes the turn it acts for and serves only from exactly that
 * turn (invariant 6), returning false when another reaper already served it.
 */
function serveNext(a: Int32Array, i: number, turn?: number): boolean {
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
    const served = slotOf(i, next);
    const onDeck = slotOf(i, next + 1);
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

/** Clears OWNER_DIED; the caller holds the lock. */
export function clearOwnerDied(a: Int32Array, i: number): void {
  // Only the owner writes OWNER while it holds the lock; and() keeps the id.
  Atomics.and(a, i + OWNER, ~OWNER_DIED);
}

// ---- a ticket holder's wait ----------------------------------------------------------------------

/**
 * Records thread `me` as the waiter with `ticket` (invariant 5); returns the entry's word index,
 * or −1 if the entry is taken by another queued thread (untracked: not recovered if we die).
 */
export function enqueue(a: Int32Array, i: number, me: number, ticket: number): number {
  const e = entryOf(i, ticket);
  const o = Atomics.load(a, e + Q_OWNER);
  // A leftover of a thread that died after its turn passed may be reused.
  if (o > 0 && !(isDeadOwner(o) && ((Atomics.load(a, e + Q_TICKET) - Atomics.load(a, i + SERVING)) | 0) < 0)) return -1;
  if (o < 0) return -1; // being reaped right now
  // Claim the entry from exactly what we saw (free, or that dead leftover).
  if (Atomics.compareExchange(a, e + Q_OWNER, o, me) !== o) return -1;
  // Not asleep yet, then our ticket: a reaper compares it with SERVING only after seeing us dead.
  Atomics.store(a, e + Q_ASLEEP, 0);
  Atomics.store(a, e + Q_TICKET, ticket);
  return e;
}

/** Our ticket is served: record ownership, then free our queue entry `e` (invariant 5). */
export function served(a: Int32Array, i: number, me: number, e: number): void {
  // Record ownership only once served (invariant 1); `or` keeps OWNER_DIED (invariant 4).
  Atomics.or(a, i + OWNER, me);
  // After OWNER: a death from here on is an owner death (invariant 4), not a queued one.
  if (e >= 0) Atomics.store(a, e + Q_OWNER, 0);
}

/** About to sleep for the ticket with queue entry `e`: counted in SLEEPERS, and the entry says so. */
function asleep(a: Int32Array, i: number, e: number): void {
  // Announce the sleep before the last check (invariant 3).
  Atomics.add(a, i + SLEEPERS, 1);
  // Tell a reaper our sleep is counted (invariant 5).
  if (e >= 0) Atomics.store(a, e + Q_ASLEEP, 1);
}

/** Done sleeping: undoes `asleep`, the entry first (a reaper must not take our count back twice). */
function awake(a: Int32Array, i: number, e: number): void {
  // The entry first: from here a reaper does not take our SLEEPERS count back.
  if (e >= 0) Atomics.store(a, e + Q_ASLEEP, 0);
  // No longer asleep (invariant 3).
  Atomics.sub(a, i + SLEEPERS, 1);
}

/**
 * Load-only spin for the thread next in line, bounded in time rather than in probes: a FIFO
 * lock cannot let anyone else in while its next thread sleeps, so once the next thread gives up
 * spinning every handoff costs a futex wake-up (tens of µs) and the lock convoys. Spinning about
 * one wake-up latency lets a running holder hand over directly; only one thread ever spins.
 */
function spinUntilServed(a: Int32Array, i: number, ticket: number): boolean {
  const until = now() + NEXT_IN_LINE_SPIN_MS;
  for (;;) {
    for (let probe = 0; probe < 64; probe++) {
      // Load-only probe of SERVING: cheap while the holder works.
      if (Atomics.load(a, i + SERVING) === ticket) return true;
      relax(16);
    }
    if (now() >= until) return false;
  }
}

/**
 * Waits until `ticket` (queue entry `e`) is served (true), or `deadline` passed first (false);
 * `PARKS.count` then holds its sleeps. A finite deadline only comes from the verifier's watchdog
 * steps: the ticket stays ours and the caller calls again (invariant 2: a ticket is never
 * abandoned). Does not record ownership (`served` does).
 */
export function waitForTurn(
  a: Int32Array,
  i: number,
  ticket: number,
  deadline: number,
  e: number,
  onOwnerDied?: () => void,
): boolean {
  const slot = slotOf(i, ticket);
  let sleeping = false;
  const p: Parking = {
    index: slot,
    attempt() {
      // Only the next in line spins: further back, spinning would only steal the holder's core.
      if (((ticket - Atomics.load(a, i + SERVING)) | 0) === 1 && spinUntilServed(a, i, ticket)) return null;
      if (!sleeping) {
        asleep(a, i, e);
        sleeping = true;
      }
      // Slot value first, then SERVING (invariant 3).
      const seen = Atomics.load(a, slot);
      // CORRECTNESS: between two watchdog steps SLEEPERS is briefly lowered; a release may then
      // skip its notify, but the next step raises SLEEPERS again before re-reading SERVING.
      return Atomics.load(a, i + SERVING) === ticket ? null : seen;
    },
    // Until a release bumps our slot (next in line or served), or one owner-death slice passes.
    sleepUntil: sliceEnd,
    afterSleep: () => reapDead(a, i, onOwnerDied), // invariants 4 and 5
  };
  const ok = park(a, p, deadline);
  if (sleeping) awake(a, i, e);
  return ok;
}

/**
 * A blocking acquisition that took `ticket` and found it not served: records itself in QUEUED,
 * waits for its turn, records ownership. Returns how often it slept.
 */
export function lockTicket(a: Int32Array, i: number, me: number, ticket: number, onOwnerDied?: () => void): number {
  const e = enqueue(a, i, me, ticket);
  waitForTurn(a, i, ticket, Infinity, e, onOwnerDied);
  const parks = PARKS.count;
  served(a, i, me, e);
  return parks;
}

/**
 * This thread's `lockAsync` tickets not served yet, per lock (buffer → state index → count), for
 * invariant 7. `pendingTicketCount` keeps the check to one load when there are none.
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

/** Does thread `me` (this thread) wait for this lock with a `lockAsync` ticket (invariant 7)? */
export function hasPendingTicket(a: Int32Array, i: number, me: number): boolean {
  if (pendingTicketCount === 0) return false;
  // Our pending tickets on this lock: this thread's record of them (per buffer object), or its
  // QUEUED entries in shared memory, which name it whatever attachment (another object, a buffer
  // object from another message) took the ticket. No sync wait of this thread is pending while
  // it runs this, so an entry naming it is an async ticket.
  let mine = (pendingTickets.get(a.buffer)?.get(i) ?? 0) > 0;
  for (let k = 0; !mine && k < Q_ENTRIES; k++) mine = Atomics.load(a, i + QUEUED + Q_WORDS * k + Q_OWNER) === me;
  return mine;
}

/**
 * `lockAsync` without timeout or signal once the lock was found busy: takes a ticket (FIFO) and
 * awaits its turn on the event loop, then records ownership. Resolves to how often it slept.
 */
export async function lockTicketAsync(
  a: Int32Array,
  i: number,
  me: number,
  wait: ParsedWait,
  lockName: string,
  onOwnerDied?: () => void,
): Promise<number> {
  // Take a ticket: from now on we must be served (tickets are never abandoned, invariant 2).
  const ticket = Atomics.add(a, i + NEXT, 1);
  // A blocking lock() of this thread would now wait behind this ticket for ever: it refuses (invariant 7).
  notePendingTicket(a, i, 1);
  const slot = slotOf(i, ticket);
  const e = enqueue(a, i, me, ticket);
  asleep(a, i, e);
  const parks = await parkAsync(
    a,
    {
      index: slot,
      // Slot value first, then SERVING (invariant 3).
      attempt: () => {
        const seen = Atomics.load(a, slot);
        return Atomics.load(a, i + SERVING) === ticket ? null : seen;
      },
      // Until our slot is bumped or one owner-death slice passes; nothing can abort this wait, and
      // releases wake the whole slot, so there is no wakeup to forward.
      sleepUntil: sliceEnd,
      afterSleep: () => reapDead(a, i, onOwnerDied), // invariants 4 and 5
      // Served: record ownership in this turn, before any other microtask runs (core/park.ts `won`).
      won: () => {
        awake(a, i, e);
        served(a, i, me, e);
        notePendingTicket(a, i, -1);
      },
    },
    wait,
    lockName,
  );
  return parks;
}

// ---- timed and abortable waits (no ticket: invariant 2) ------------------------------------------

/**
 * One timed or abortable acquisition's parking: retries `tryTicket` whenever SERVING moves,
 * announced in POLLERS around each sleep (invariant 3), reaping the dead after each (4 and 5).
 */
function polling(a: Int32Array, i: number, me: number, onOwnerDied: (() => void) | undefined): Parking {
  return {
    index: i + SERVING,
    attempt() {
      // SERVING before the try: a release after it changes the word we sleep on.
      const serving = Atomics.load(a, i + SERVING);
      return tryTicket(a, i, me) ? null : serving;
    },
    // One owner-death slice at a time (invariant 4).
    sleepUntil: sliceEnd,
    // Announce the sleep before the wait's own last check of SERVING (invariant 3).
    beforeSleep: () => Atomics.add(a, i + POLLERS, 1),
    afterSleep(r) {
      // Done sleeping (also when aborted: a leftover wait only absorbs part of a wake-all).
      Atomics.sub(a, i + POLLERS, 1);
      if (r !== 'aborted') reapDead(a, i, onOwnerDied); // invariants 4 and 5
    },
  };
}

/** Retries `tryTicket` whenever SERVING moves, until `deadline`; `PARKS.count` then holds its sleeps. */
export function pollUntil(a: Int32Array, i: number, me: number, deadline: number, onOwnerDied?: () => void): boolean {
  return park(a, polling(a, i, me, onOwnerDied), deadline);
}

/**
 * `pollUntil` on the event loop, with `wait`'s deadline and signal. Resolves to how often it
 * slept; rejects with TimeoutError or the signal's reason. Releases wake every poller, so an
 * aborted wait has no wakeup to forward.
 */
export function pollAsync(a: Int32Array, i: number, me: number, wait: ParsedWait, lockName: string, onOwnerDied?: () => void): Promise<number> {
  return parkAsync(a, polling(a, i, me, onOwnerDied), wait, lockName);
}

// ---- reaping the dead ----------------------------------------------------------------------------

/**
 * If OWNER names a dead thread, takes its place and serves the next ticket for it (invariant 4).
 * Returns true if this call did so; `onOwnerDied` runs once per death.
 */
export function reapDeadOwner(a: Int32Array, i: number, onOwnerDied?: () => void): boolean {
  const s = Atomics.load(a, i + OWNER);
  const owner = s & OWNER_MASK;
  if (owner === 0 || !isDeadOwner(owner)) return false;
  // The dead holder's turn. SERVING cannot move while OWNER names it: its release never comes,
  // and a queued-waiter reaper acts only on an OWNER without id (invariant 6).
  const turn = Atomics.load(a, i + SERVING);
  // One reaper per death: from exactly the dead-owner value (ids are never reused); keep only the flag.
  if (Atomics.compareExchange(a, i + OWNER, s, OWNER_DIED) !== s) return false;
  if (serveNext(a, i, turn)) onOwnerDied?.(); // once per death (stats, events)
  return true;
}

/**
 * If the ticket being served belongs to a queued thread that died, serves the next ticket on its
 * behalf (invariant 5). Returns true if this call did so.
 */
function reapDeadWaiter(a: Int32Array, i: number, onOwnerDied: (() => void) | undefined): boolean {
  // A holder (live or dead) is the owner-death path's business.
  if ((Atomics.load(a, i + OWNER) & OWNER_MASK) !== 0) return false;
  const serving = Atomics.load(a, i + SERVING);
  const e = entryOf(i, serving);
  const o = Atomics.load(a, e + Q_OWNER);
  if (o <= 0 || !isDeadOwner(o) || Atomics.load(a, e + Q_TICKET) !== serving) return false;
  // One reaper per death: the CAS from the dead id (ids are never reused; the dead cannot move).
  if (Atomics.compareExchange(a, e + Q_OWNER, o, -1) !== o) return false;
  // Still its turn? (SERVING only moves when ticket `serving` is served and released.)
  if (Atomics.load(a, i + SERVING) === serving && (Atomics.load(a, i + OWNER) & OWNER_MASK) === 0) {
    // Take back its sleep announcement, as its own wake-up would have (invariant 3).
    if (Atomics.load(a, e + Q_ASLEEP) === 1) Atomics.sub(a, i + SLEEPERS, 1);
    // From exactly that turn: an owner reaper acting for the same turn may beat us (invariant 6).
    if (serveNext(a, i, serving)) onOwnerDied?.(); // once per death (stats, events)
  }
  // Free the entry.
  Atomics.store(a, e + Q_OWNER, 0);
  return true;
}

/** After each sleep slice: a dead holder (invariant 4) or a dead queued waiter (invariant 5). */
function reapDead(a: Int32Array, i: number, onOwnerDied: (() => void) | undefined): void {
  if (!reapDeadOwner(a, i, onOwnerDied)) reapDeadWaiter(a, i, onOwnerDied);
}
