/**
 * Raw counting semaphore: permits in one word, sleepers on a sequence word, and a one-slot "head"
 * gate that makes a long-waiting request (typically a large one) first in line.
 *
 * Algorithm: the count is a plain futex counter (acquire = CAS count → count − n, release =
 * add). Sleepers do not sleep on the count but on SEQ, a sequence word that every release (and
 * every opening of the gate) bumps after changing the state, as a futex condvar does (Rust std's
 * `condvar/futex.rs`): a sleeper reads SEQ *before* checking the count, so any change after its
 * check makes its `Atomics.wait` return 'not-equal'.
 *
 * Fairness for large requests: with barging, a request for n permits can starve while a stream of
 * small acquirers keeps the count below n. As in Go's mutex starvation mode (and parking_lot's
 * eventual fairness), a waiter that has waited longer than `FAIR_AFTER_MS` claims the HEAD slot
 * with a fresh token. While HEAD is set nobody else may take permits — new acquirers, fast path
 * included, queue behind it — so released permits accumulate until the head's n are there; the
 * head takes them, clears HEAD and wakes everyone. This is Go's `semaphore.Weighted` rule ("a large
 * request is never overtaken by later small ones") applied to the oldest starving waiter instead of
 * a strict queue, which shared memory does not have. One head at a time; the others wait their turn.
 *
 * The head is a lease, not a lock: the head renews HEAD_STAMP at least every `HEAD_RENEW_MS` (it
 * sleeps no longer than that), and a gate whose stamp is older than `HEAD_LEASE_MS` is ignored and
 * may be taken over. So a head that dies (a terminated worker) or stalls (a blocked event loop)
 * costs fairness for a moment, never progress. Gated sleepers sleep at most one lease at a time
 * for the same reason.
 *
 * ## Words (relative to the state index)
 * | word | name       | meaning |
 * |------|------------|---------|
 * | 0    | COUNT      | permits available now, 0 … MAX |
 * | 1    | SEQ        | bumped after every release and every gate opening; sleepers wait on it |
 * | 2    | SLEEPERS   | waits asleep or about to sleep on SEQ (a release skips notify at 0) |
 * | 3    | WEIGHTED   | of those, how many want more than one permit |
 * | 4    | HEAD       | 0 = gate open; else the token of the waiter that goes first |
 * | 5    | HEAD_STAMP | when the head last renewed its lease (`Date.now()` ms, 30 bits, wraps) |
 * | 6    | TOKENS     | last head token handed out (tokens are never 0) |
 * | 7    | MAX        | declared maximum count; 0 until the constructor has written it |
 * | 8    | TRACK      | bit 2 TRACK_INIT: claimed by the constructor that initializes (0 before); bit 0 TRACK_OWNERS: permits are owned and recorded per thread (`trackOwners`), decided in the same CAS and never changed after; bit 1 TRACK_OWNER_DIED: a dead thread's permits were given back |
 * | 9…   | HOLDERS    | SEM_SLOTS holder slots `(owner id, permits)` (core/holders.ts), used when TRACK |
 *
 * | HEAD | lease | COUNT ≥ n | who may take n permits |
 * |------|-------|-----------|------------------------|
 * | 0    | –     | yes       | anyone (fast path: one load of HEAD, one CAS on COUNT) |
 * | any  | –     | no        | nobody: sleep on SEQ |
 * | t≠0  | fresh | yes       | only the head holding token t; everyone else sleeps (≤ one lease) |
 * | t≠0  | stale | yes       | anyone; a starving waiter may take the head over |
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
 * 3. HEAD is cleared only by CAS from the clearer's own token: a head that lost its lease to a
 *    taker-over cannot open the new head's gate. Opening bumps SEQ and wakes every sleeper (they
 *    were held at the gate).
 * 4. A sleeper woken by a notify always re-tries the take before it looks at its deadline, so a
 *    wake-n notify is never spent on a waiter that then leaves without trying. An aborted async
 *    waiter cannot leave the futex queue; if a notify reaches it later, it wakes every sleeper
 *    in its place (CORRECTNESS: the notify it swallowed may have been the only one).
 * 5. Nobody sleeps past a fresh lease without re-checking it (gated sleepers: at most
 *    `HEAD_LEASE_MS`; the head: at most `HEAD_RENEW_MS`), so a dead head cannot strand anyone.
 * 6. Owner death (TRACK_OWNERS; docs/robustness.md). The API layer records permits in HOLDERS after
 *    the CAS that took them and drops them before the release that returns them. Sleepers then
 *    sleep at most ROBUST_SLICE_MS and, after each wake-up, `reapDeadPermits` frees the slots of
 *    dead threads (one CAS per slot, from the dead id: each returned once) and releases what they
 *    held like a `release` (bump SEQ, wake). A thread that dies between the take and the record
 *    leaks its permits (the safe side: never more than MAX); so do untracked ones (slots full).
 *
 * ## Memory ordering
 * Every access to these words is an Atomics operation (sequentially consistent), which invariant 2
 * relies on: the sleeper's "increment SLEEPERS, then wait" and the releaser's "bump SEQ, then read
 * SLEEPERS" are a Dekker pair. A semaphore guards no data by itself; a holder's writes are ordered
 * before its release's CAS like any lock's. The lease clock is `Date.now()`, shared by all threads
 * of a process; a clock step only shortens or lengthens one lease (fairness, never safety).
 */
import { now, wake, type ParsedWait } from '../core/futex.js';
import { FAIR_AFTER_MS, park, parkAsync, type Parking } from '../core/park.js';
import { reapDeadHolds } from '../core/holders.js';
import { ROBUST_SLICE_MS } from '../core/owner-death.js';

export const COUNT = 0;
export const SEQ = 1;
export const SLEEPERS = 2;
export const WEIGHTED = 3;
export const HEAD = 4;
export const HEAD_STAMP = 5;
export const TOKENS = 6;
export const MAX = 7;
export const TRACK = 8;
export const HOLDERS = 9;
/** TRACK bit: permits are recorded per thread (`trackOwners`); fixed by the initializing CAS. */
export const TRACK_OWNERS = 1;
/** TRACK bit: a dead thread's permits were given back (never cleared; `sem.ownerDied`). */
export const TRACK_OWNER_DIED = 2;
/** TRACK bit: the semaphore was claimed by the constructor that initializes it. */
export const TRACK_INIT = 4;
/** Threads whose permits a tracking semaphore records at once (beyond: untracked). */
export const SEM_SLOTS = 8;
/** State words after the tag word. */
export const SEMAPHORE_WORDS = HOLDERS + 2 * SEM_SLOTS;

/** The largest count (and request) an Int32 count word can hold. */
export const MAX_PERMITS = 0x7fff_ffff;

/** A head that has not renewed its lease for this long is presumed dead or stalled. */
export const HEAD_LEASE_MS = 500;
/** The head renews its lease at least this often (it never sleeps longer). */
export const HEAD_RENEW_MS = 100;

const STAMP_MASK = 0x3fff_ffff;
const stamp = (): number => Date.now() & STAMP_MASK;

/**
 * Claims and initializes the semaphore once; returns true for the one caller that did. Any other
 * caller attaches to the existing one and writes nothing.
 */
export function initialize(a: Int32Array, i: number, permits: number, max: number, track: boolean): boolean {
  // 0 → INIT (+ OWNERS) claims it and decides tracking in one step: a constructor that loses this
  // CAS, and every attachment after, reads a decided TRACK_OWNERS, so it can keep it (never changes).
  if (Atomics.compareExchange(a, i + TRACK, 0, TRACK_INIT | (track ? TRACK_OWNERS : 0)) !== 0) return false;
  // Only the claimer writes MAX, then adds the permits. Until this store, a constructor that lost
  // the CAS just now reads MAX_PERMITS (maxOf): for that moment a release above the declared max
  // is not refused and `sem.max` is 2³¹ − 1 (a misuse check missed, never a second holder). The
  // old order (MAX as the claim) had the same window for TRACK, whose misreading did refuse
  // legitimate releases; permits are 0 in that window either way.
  Atomics.store(a, i + MAX, max);
  if (permits > 0) release(a, i, permits);
  return true;
}

/** The declared maximum (MAX_PERMITS until the constructor's write is visible). */
export function maxOf(a: Int32Array, i: number): number {
  return Atomics.load(a, i + MAX) || MAX_PERMITS;
}

/** Is the head's lease still running? */
function leaseIsFresh(a: Int32Array, i: number): boolean {
  return ((stamp() - Atomics.load(a, i + HEAD_STAMP)) & STAMP_MASK) < HEAD_LEASE_MS;
}

/** Does a live head other than `token` hold the gate closed? */
export function isGated(a: Int32Array, i: number, token: number): boolean {
  const h = Atomics.load(a, i + HEAD);
  return h !== 0 && h !== token && leaseIsFresh(a, i);
}

/**
 * Takes n permits if there are n and the gate lets this caller through (`token`: its head token,
 * 0 if it is not the head). Never waits.
 */
export function tryTake(a: Int32Array, i: number, n: number, token: number): boolean {
  for (;;) {
    const c = Atomics.load(a, i + COUNT);
    if (c < n) return false;
    if (isGated(a, i, token)) return false;
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

/**
 * Claims the head slot if it is free or its lease ran out; returns the new token, or 0.
 */
function claimHead(a: Int32Array, i: number): number {
  const h = Atomics.load(a, i + HEAD);
  if (h !== 0 && leaseIsFresh(a, i)) return 0;
  // A fresh token, never 0, so a stale head's clear cannot match ours (invariant 3).
  let token = (Atomics.add(a, i + TOKENS, 1) + 1) | 0;
  // Skip 0 on wrap-around: 0 means "no head".
  if (token === 0) token = (Atomics.add(a, i + TOKENS, 1) + 1) | 0;
  // Stamp first, so nobody sees our token with a stale lease and takes it over at once.
  Atomics.store(a, i + HEAD_STAMP, stamp());
  // h → token: free, or the stale head we looked at (not one that renewed or replaced it since).
  if (Atomics.compareExchange(a, i + HEAD, h, token) !== h) return 0;
  return token;
}

/** The head renews its lease, if it still is the head. */
function renewHead(a: Int32Array, i: number, token: number): boolean {
  if (Atomics.load(a, i + HEAD) !== token) return false;
  // A plain store: a head taken over just now may stamp the new head's lease once (harmless).
  Atomics.store(a, i + HEAD_STAMP, stamp());
  return true;
}

/** The head took its permits or gave up: open the gate and let every sleeper re-check (invariant 3). */
export function clearHead(a: Int32Array, i: number, token: number): void {
  // token → 0 only: a head that was taken over leaves the new head's gate alone.
  if (Atomics.compareExchange(a, i + HEAD, token, 0) !== token) return;
  // CORRECTNESS: bump after opening the gate, so a sleeper that saw it closed gets 'not-equal'.
  Atomics.add(a, i + SEQ, 1);
  // Everyone held at the gate may proceed now.
  if (Atomics.load(a, i + SLEEPERS) !== 0) wake(a, i + SEQ, Infinity);
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

/**
 * Until when to sleep: the caller's deadline, cut short to renew or re-check a lease.
 * CORRECTNESS: a gated sleeper must not sleep unbounded on a head that may die without ever
 * opening the gate (invariant 5); a head that stopped renewing is presumed gone.
 */
function sleepDeadline(a: Int32Array, i: number, token: number, deadline: number): number {
  let cap = token !== 0 ? HEAD_RENEW_MS : Atomics.load(a, i + HEAD) !== 0 ? HEAD_LEASE_MS : Infinity;
  // A tracking semaphore's sleepers look for dead holders every slice (invariant 6).
  if ((Atomics.load(a, i + TRACK) & TRACK_OWNERS) !== 0 && cap > ROBUST_SLICE_MS) cap = ROBUST_SLICE_MS;
  return cap === Infinity ? deadline : Math.min(deadline, now() + cap);
}

/** A waiter's progress: when it started waiting, and its head token (0: not the head). */
interface AcquireState {
  since: number;
  token: number;
}

/**
 * One pass of the acquisition loop shared by the sync and async paths: renew or drop the head
 * lease, try to take, claim the head once starving. Returns true if the permits were taken.
 */
function step(a: Int32Array, i: number, n: number, st: AcquireState): boolean {
  // Lost the head to a taker-over (our lease ran out): wait like everyone else.
  if (st.token !== 0 && !renewHead(a, i, st.token)) st.token = 0;
  // Always try before looking at the deadline (invariant 4).
  if (tryTake(a, i, n, st.token)) {
    if (st.token !== 0) clearHead(a, i, st.token);
    st.token = 0;
    return true;
  }
  if (st.token === 0 && now() - st.since >= FAIR_AFTER_MS) {
    st.token = claimHead(a, i);
    // As the head, the gate no longer stops us: try again at once.
    if (st.token !== 0 && tryTake(a, i, n, st.token)) {
      clearHead(a, i, st.token);
      st.token = 0;
      return true;
    }
  }
  return false;
}

/** Blocking acquisition after the fast path failed. Returns false if `deadline` passed. */
export function acquireSlow(a: Int32Array, i: number, n: number, deadline: number, onOwnerDied?: () => void): boolean {
  return park(a, parking(a, i, n, onOwnerDied), deadline);
}

/**
 * Async acquisition after the fast path failed: the same parking on `Atomics.waitAsync`. Resolves
 * to how often it slept; rejects with TimeoutError or the signal's reason (a head that gives up
 * opens the gate first).
 */
export function acquireAsyncSlow(a: Int32Array, i: number, n: number, wait: ParsedWait, lockName: string, onOwnerDied?: () => void, won?: () => void): Promise<number> {
  return parkAsync(a, parking(a, i, n, onOwnerDied, won), wait, lockName);
}

/**
 * One acquisition's parking (`core/park.ts`): SEQ is read before each attempt (invariant 2) and
 * is the value slept on; the sleep is announced in SLEEPERS (and WEIGHTED) around it, bounded by
 * the head's lease and renewal times (invariant 5), and followed by a reap of dead holders'
 * permits (invariant 6). A waiter that gives up as head opens the gate (invariant 3).
 */
function parking(a: Int32Array, i: number, n: number, onOwnerDied: (() => void) | undefined, won?: () => void): Parking {
  const st: AcquireState = { since: now(), token: 0 };
  return {
    index: i + SEQ,
    attempt() {
      // SEQ before the check (invariant 2).
      const seq = Atomics.load(a, i + SEQ);
      return step(a, i, n, st) ? null : seq;
    },
    sleepUntil: (deadline) => sleepDeadline(a, i, st.token, deadline),
    beforeSleep: () => announceSleep(a, i, n),
    afterSleep() {
      retractSleep(a, i, n);
      // Permits of a dead holder never come back by themselves (invariant 6).
      reapDeadPermits(a, i, onOwnerDied);
    },
    giveUp() {
      // Giving up (timeout, abort) as head: open the gate for the others (invariant 3).
      if (st.token !== 0) clearHead(a, i, st.token);
      st.token = 0;
    },
    forward: () => forwardAbandonedWake(a, i),
    won,
  };
}

/** Wakes every sleeper in place of an aborted async wait that swallowed a notify (invariant 4). */
export function forwardAbandonedWake(a: Int32Array, i: number): void {
  // CORRECTNESS: the swallowed notify may have been a release's only wake; everyone re-checks.
  wake(a, i + SEQ, Infinity);
}

/**
 * A tracking semaphore (TRACK_OWNERS): gives back the permits of dead holders, waking sleepers as a
 * release does, and calls `onOwnerDied` once per reap that returned some. Returns how many.
 */
export function reapDeadPermits(a: Int32Array, i: number, onOwnerDied?: () => void): number {
  if ((Atomics.load(a, i + TRACK) & TRACK_OWNERS) === 0) return 0;
  // Each dead slot is freed by exactly one reaper (core/holders.ts invariant 1).
  const n = reapDeadHolds(a, i + HOLDERS, SEM_SLOTS);
  if (n === 0) return 0;
  // CORRECTNESS: tell the next holders before anyone can take the permits back: whoever takes
  // them must see `ownerDied` (set after the release, a waiter could take them and read false).
  Atomics.or(a, i + TRACK, TRACK_OWNER_DIED);
  // They were taken from COUNT, so giving them back cannot pass MAX; release bumps SEQ and wakes.
  release(a, i, n);
  onOwnerDied?.();
  return n;
}
