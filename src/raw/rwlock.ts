/**
 * Raw reader-writer lock: a state word, two futex words writers and the upgrader sleep on, and
 * two owner words. Pure functions over `(Int32Array, index of the state word)`; `RWLock` is the
 * API layer, and anything that needs an RW lock without an object can use these directly.
 *
 * Algorithm: Rust std's futex RwLock (`library/std/src/sys/sync/rwlock/futex.rs`): a reader count
 * with READERS_WAITING and WRITERS_WAITING bits in one word; readers sleep on the state word,
 * writers on their own notify counter, so a release can wake exactly one writer without waking
 * every reader. It is writer-preferring: new readers wait while a writer waits, so a reader flood
 * cannot starve writers. Unlike Rust std (which may starve readers behind a stream of writers), a
 * writer's release wakes the readers that waited behind it first, and those readers may join even
 * though more writers wait (a reader-writer alternation, as in phase-fair locks), so a waiting
 * reader is normally passed over by at most one writer. (A writer that barges in during the
 * instant between that release and the readers waking up can still go first; the readers then
 * get the next turn.) On top of that, as in parking_lot's RwLock: one **upgradable** reader at a time (it coexists with plain readers and
 * excludes writers and other upgradable readers) that can `upgrade` to the write lock without
 * letting a writer in, and an atomic `downgrade` from write to read.
 *
 * ## Words (indices relative to the state word `i`)
 * | word | name             | meaning |
 * |------|------------------|---------|
 * | i+0  | STATE            | the state word below |
 * | i+1  | WRITER_NOTIFY    | counter writers sleep on; bumped before waking one writer |
 * | i+2  | UPGRADE_NOTIFY   | counter the upgrading thread sleeps on while readers drain |
 * | i+3  | WRITER_OWNER     | owner id of the write-lock holder, 0 when none (ownership checks) |
 * | i+4  | UPGRADABLE_OWNER | owner id of the upgradable-read holder, 0 when none |
 * | i+5  | FLAGS            | bit 0 OWNER_DIED: a holder died holding it; kept until `markConsistent`; bit 1 SLOTS_WANTED (invariant 10) |
 * | i+6… | READ_HOLDERS     | READ_SLOTS holder slots `(owner id, read holds)` (core/holders.ts), for dead readers |
 *
 * ## State word
 * | bits  | name               | meaning |
 * |-------|--------------------|---------|
 * | 0–23  | READERS_MASK       | read holds, the upgradable hold included |
 * | 24    | UPGRADABLE         | the upgradable read lock is held (it is also counted as a reader) |
 * | 25    | WRITE_LOCKED       | the write lock is held (then the reader count is 0) |
 * | 26    | UPGRADING          | the upgradable holder waits in `upgrade` for readers to leave |
 * | 27    | UPGRADABLE_WAITING | a thread sleeps on STATE waiting for the upgradable lock only |
 * | 28    | READERS_WAITING    | readers (or upgradable acquirers) sleep on STATE behind a writer |
 * | 29    | WRITERS_WAITING    | writers may sleep on WRITER_NOTIFY |
 * | 30    | WRITER_STARVING    | a writer has slept longer than 1 ms: the next wake of a writer hands off |
 * | 31    | HANDOFF            | free, but reserved for a writer that has slept: nobody else may take it |
 *
 * | readers | UPG | WL | UPGRADING | WW | state |
 * |---------|-----|----|-----------|----|-------|
 * | 0       | 0   | 0  | 0         | 0  | unlocked: anyone may take it |
 * | n       | 0   | 0  | 0         | 0  | read-locked: readers and one upgradable may join |
 * | n       | 1   | 0  | 0         | 0  | read-locked with an upgradable holder: readers may join |
 * | n       | 1   | 0  | 1         | any| upgrading: no new readers; the last other reader wakes the upgrader |
 * | n       | any | 0  | 0         | 1  | a writer waits: no new readers (writer preference) |
 * | 0       | 0   | 1  | 0         | any| write-locked |
 * | 0       | 0   | 0  | 0         | any| with READERS_WAITING and no WW: a woken writer is on its way; readers wait for it |
 * | 0       | 0   | 0  | 0         | 0  | with HANDOFF: handed to the sleeping writers; the first to look claims it |
 *
 * ## Invariants
 * 1. WRITE_LOCKED implies a zero reader count; UPGRADING implies UPGRADABLE; UPGRADABLE implies a
 *    reader count ≥ 1; HANDOFF implies no holder. "Free for a writer" is exactly
 *    `(s & (READERS_MASK | WRITE_LOCKED | HANDOFF)) === 0` (`isUnlocked`).
 * 2. A new reader may join only if none of WRITE_LOCKED, UPGRADING, WRITERS_WAITING,
 *    READERS_WAITING, HANDOFF is set. A reader whose last sleep was ended by a notify (a release
 *    woke it: it waited behind a writer) ignores the two waiting bits: its turn comes after the
 *    writer it waited for. A reader whose sleep slice merely ran out has had no turn and yields to
 *    waiting writers like a new one (else readers whose holds overlap starve a writer for ever). A thread already holding a read
 *    lock may always add one (`readLockRecursive`): waiting could only deadlock.
 * 3. Anyone who sleeps on STATE first makes READERS_WAITING or UPGRADABLE_WAITING visible in the
 *    value it sleeps on; anyone who sleeps on WRITER_NOTIFY first makes WRITERS_WAITING visible
 *    and reads the counter before re-checking STATE. A release that sees the bit wakes (STATE: all
 *    sleepers; WRITER_NOTIFY: one writer, after bumping the counter). A release before the sleeper
 *    published its bit changes the word it sleeps on, so the sleep returns 'not-equal'.
 * 4. A release clears the waiting bit it acts on (WRITERS_WAITING when waking a writer, the STATE
 *    sleeper bits when waking all of them). A woken writer re-sets WRITERS_WAITING when it takes
 *    the lock, since it cannot know whether other writers still sleep (the chain continues).
 * 5. If waking one writer woke nobody (the writers gave up), the release wakes the STATE sleepers
 *    instead, so a departed writer never strands readers; if waking the STATE sleepers woke nobody,
 *    it wakes a writer. An aborted async waiter that was woken passes the wake on the same way
 *    (`forwardWriterWake`, `forwardReaderWake`).
 * 6. Writers may barge (a running writer takes a free lock ahead of a woken one), as in Rust std,
 *    for throughput; eventual fairness comes from WRITER_STARVING: a writer that slept longer than
 *    `FAIR_AFTER_MS` sets it, and the next release that wakes a writer reserves the lock
 *    with HANDOFF, which only a writer that has slept may claim (parking_lot's and Go's scheme,
 *    as in `raw/mutex.ts`). If the wake found no sleeper, the releaser (or the aborted waiter
 *    that swallowed it, or a reader that saw it through two slices: `staleReservations`) clears HANDOFF
 *    again and then wakes whoever may go, writers first. A writer that has not slept and finds
 *    HANDOFF publishes WRITERS_WAITING and sleeps (it never spins on it), so the claimant keeps
 *    WRITERS_WAITING and its release wakes the newcomer.
 * 7. A writer that gives up waiting (timeout, abort) clears WRITERS_WAITING, which would otherwise
 *    keep new readers out until the next full release, and wakes one writer: a writer still
 *    asleep re-publishes the bit before sleeping again (it re-checks STATE after reading the
 *    counter, which the wake bumped). If none was asleep, the STATE sleepers are woken. A reader
 *    that gives up leaves its bit: the release of the writer it waited for clears it.
 * 8. Every sleep is bounded by RECHECK_MS. An aborted async waiter cannot leave the futex queue;
 *    a wake that reaches it is passed on only when its thread's event loop runs, which never
 *    happens if that thread is blocked (say, in a blocking acquisition of this lock). After a
 *    bounded sleep a writer re-checks and takes a free or handed-off lock on its own, and a
 *    reader releases a reservation (HANDOFF, or READERS_WAITING on a free word) that nobody
 *    claimed for a whole slice (`staleReservations`); so such a wake delays the others by at most
 *    two slices instead of deadlocking them. The protocol does not rely on it otherwise (a stress
 *    test runs with it switched off).
 * 9. Owner death (docs/robustness.md). WRITER_OWNER = w ≠ 0 implies w holds WRITE_LOCKED, and
 *    UPGRADABLE_OWNER = u ≠ 0 implies u holds UPGRADABLE, or (u just upgraded, before it cleared the
 *    word) WRITE_LOCKED: an owner word is set after the state CAS that acquired and cleared before
 *    the one that releases, and `upgrade` clears UPGRADABLE_OWNER before it sets WRITER_OWNER, so at
 *    most one owner word names a thread at a time. Every waiter, after each (bounded, RECHECK_MS)
 *    sleep, calls `reapDeadOwners`: if an owner word names a dead thread, one CAS from exactly that
 *    id to 0 elects the one reaper (ids are never reused, and the dead thread cannot clear the word
 *    itself), which sets OWNER_DIED in FLAGS and then releases the dead thread's hold on its behalf
 *    exactly as the owner would have (waking whoever the release wakes). A dead upgrader's
 *    UPGRADING is cleared with its hold. OWNER_DIED persists through later acquisitions and
 *    releases until a write holder calls `markConsistent`. Not covered (leaked, as with any lock
 *    whose owner dies between two instructions): a thread that dies after the state CAS of an
 *    acquisition but before storing its owner id, or between clearing UPGRADABLE_OWNER and setting
 *    WRITER_OWNER in `upgrade`.
 * 10. Read holds are counted in STATE and, per thread, in READ_HOLDERS (core/holders.ts): the API
 *    layer records a read hold after the STATE operation that took it and drops it before the one
 *    that releases it. `reapDeadOwners` also frees the slots of dead readers (one CAS per slot,
 *    from the dead id) and subtracts what they held from the reader count, then wakes as the last
 *    reader's release would; OWNER_DIED is set too. With every slot taken a read hold is untracked
 *    and not recovered; a reader that dies between the two steps of an acquisition leaks its hold.
 *    The upgradable hold is not in the slots (UPGRADABLE_OWNER names it). A live thread keeps its
 *    slot at a count of 0 (so an uncontended read costs one plain increment and decrement of it,
 *    no claim) until a reader finds every slot taken and sets SLOTS_WANTED (never cleared); from
 *    then on slots are freed at a count of 0, right after the STATE release (the count is already
 *    0 then, so a death in between gives back nothing). A reaped slot is freed whatever its count.
 *
 * ## Memory ordering
 * Every access to the state, notify, owner and FLAGS words is an Atomics operation (sequentially
 * consistent). Acquisition is a CAS or add on STATE and release a sub/add/CAS on STATE, so the
 * protected data's plain reads and writes are ordered by them as a lock must. The owner words are
 * diagnostics for misuse checks: written by the holder after acquiring and cleared before
 * releasing. A holder slot's count (invariant 10) is written plainly by its owner thread only: no
 * other thread reads it while that thread lives, a reaper reads it only after the death was
 * published (after the thread stopped), and a later claimer of the slot only after the owner's
 * SC store that freed it. The read fast path (API layer) loads nothing before its first CAS on
 * STATE: on a contended line a load and then an RMW cost two coherence transactions, the RMW
 * alone one.
 */
import { LockError } from '../core/errors.js';
import { now, WAKE_SLICE_MS, wake, type ParsedWait } from '../core/futex.js';
import { FAIR_AFTER_MS, park, parkAsync, type Parking } from '../core/park.js';
import { isDeadOwner } from '../core/owner-death.js';
import { reapDeadHolds } from '../core/holders.js';
import { spinWhile, type SpinBudget } from '../core/spin.js';

export const STATE = 0;
export const WRITER_NOTIFY = 1;
export const UPGRADE_NOTIFY = 2;
export const WRITER_OWNER = 3;
export const UPGRADABLE_OWNER = 4;
export const FLAGS = 5;
export const READ_HOLDERS = 6;
/** Threads whose read holds are tracked at once (beyond: untracked, not recovered). */
export const READ_SLOTS = 8;
/** Words after the tag word. */
export const RW_WORDS = READ_HOLDERS + 2 * READ_SLOTS;
/** Bytes of one RWLock at a placement: the tag word and the state words. */
export const RWLOCK_BYTES = 4 * (1 + RW_WORDS);
/** FLAGS bit: a holder died holding the lock (invariants 9, 10). */
export const RW_OWNER_DIED = 1;
/** FLAGS bit: a reader found every holder slot taken; readers free their slot at a count of 0. */
export const SLOTS_WANTED = 2;

export const READERS_MASK = 0x00ff_ffff;
/** Most read holds at once; one more throws rather than overflowing into the flag bits. */
export const MAX_READERS = READERS_MASK - 1;
export const UPGRADABLE = 1 << 24;
export const WRITE_LOCKED = 1 << 25;
export const UPGRADING = 1 << 26;
export const UPGRADABLE_WAITING = 1 << 27;
export const READERS_WAITING = 1 << 28;
export const WRITERS_WAITING = 1 << 29;
export const WRITER_STARVING = 1 << 30;
export const HANDOFF = 1 << 31;

/** Bits of the threads that sleep on STATE. */
const STATE_SLEEPERS = READERS_WAITING | UPGRADABLE_WAITING;
/** What keeps a reader out (invariant 2). */
const BLOCKS_READERS = WRITE_LOCKED | UPGRADING | WRITERS_WAITING | READERS_WAITING | HANDOFF;
/** What keeps out a reader that already waited behind a writer (invariant 2). */
const BLOCKS_PARKED_READERS = WRITE_LOCKED | UPGRADING | HANDOFF;

export const readersOf = (s: number): number => s & READERS_MASK;
/** Free for any writer: no holder and not handed off to a sleeping writer. */
export const isUnlocked = (s: number): boolean => (s & (READERS_MASK | WRITE_LOCKED | HANDOFF)) === 0;
export const isWriteLocked = (s: number): boolean => (s & WRITE_LOCKED) !== 0;
export const isReadLockable = (s: number): boolean => (s & BLOCKS_READERS) === 0 && readersOf(s) < MAX_READERS;
export const isUpgradableLockable = (s: number): boolean => isReadLockable(s) && (s & UPGRADABLE) === 0;
export const hasWritersWaiting = (s: number): boolean => (s & WRITERS_WAITING) !== 0;

/**
 * A step of an acquisition: `null` when acquired, else the value to sleep on (`WaitIndex`).
 * `parked`: this waiter has slept at least once (any sleep, a timed-out slice too); `woken`: its
 * last sleep was ended by a notify (a release chose to wake it), not by a slice running out.
 */
type Step = (parked: boolean, woken: boolean) => number | null;

function tooManyReaders(): LockError {
  return new LockError('ERR_LOCK_STATE', `RWLock: more than ${MAX_READERS} read holds at once`);
}

// ---- readers ---------------------------------------------------------------------------------------

/**
 * One attempt at a read lock, never waits. No load comes first: one CAS guesses a free word (the
 * uncontended case is then one Atomics call), and a failed CAS returns the value to retry from.
 * On a contended line a load and then an RMW cost two coherence transactions, the RMW alone one.
 */
export function tryReadLock(a: Int32Array, i: number): boolean {
  // Guess "free": from 0, one reader.
  let s = Atomics.compareExchange(a, i, 0, 1);
  if (s === 0) return true;
  while (isReadLockable(s)) {
    // Join the readers if nothing blocks readers (invariant 2).
    const seen = Atomics.compareExchange(a, i, s, s + 1);
    if (seen === s) return true;
    s = seen;
  }
  return false;
}

/** One attempt at the upgradable read lock, never waits. */
export function tryUpgradableRead(a: Int32Array, i: number): boolean {
  let s = Atomics.load(a, i);
  while (isUpgradableLockable(s)) {
    // Join as the one upgradable reader (counted as a reader too).
    const seen = Atomics.compareExchange(a, i, s, s + (1 | UPGRADABLE));
    if (seen === s) return true;
    s = seen;
  }
  return false;
}

/** A read lock for a thread that already holds one: ignores writer preference (it could only deadlock). */
export function readLockRecursive(a: Int32Array, i: number): void {
  let s = Atomics.load(a, i);
  for (;;) {
    // CORRECTNESS: check before adding. An add-then-undo let several threads at the limit carry
    // into the UPGRADABLE bit at once (a transient upgradable hold nobody owns).
    if (readersOf(s) >= MAX_READERS) throw tooManyReaders();
    // One more reader whatever the waiting bits: our hold already keeps WRITE_LOCKED off (invariant 1).
    const seen = Atomics.compareExchange(a, i, s, s + 1);
    if (seen === s) return;
    s = seen;
  }
}

function readStep(a: Int32Array, i: number, upgradable: boolean): Step {
  return (_parked, woken) => {
    // A reader that a release woke (it waited behind a writer, whose release wakes the readers
    // first) only yields to a held write lock or an upgrade in progress, not to writers still
    // waiting: that is its turn (invariant 2). A reader whose sleep merely ran out has had no turn
    // and still yields to waiting writers, or overlapping readers could keep a writer out for ever.
    const blockers = woken ? BLOCKS_PARKED_READERS : BLOCKS_READERS;
    for (;;) {
      const s = Atomics.load(a, i);
      const behindWriter = (s & blockers) !== 0;
      if (!behindWriter && !(upgradable && (s & UPGRADABLE) !== 0)) {
        if (readersOf(s) >= MAX_READERS) throw tooManyReaders();
        // Take a read hold (and the upgradable bit) from a state that admits it.
        if (Atomics.compareExchange(a, i, s, s + (upgradable ? 1 | UPGRADABLE : 1)) === s) return null;
        continue;
      }
      // Behind a writer we are a waiting reader; behind another upgradable holder only, an
      // upgradable waiter (which must not keep plain readers out).
      const bit = behindWriter ? READERS_WAITING : UPGRADABLE_WAITING;
      if ((s & bit) !== 0) return s;
      // CORRECTNESS: publish our bit in the value we sleep on, so the release that could let us
      // in sees it and wakes STATE (invariant 3).
      if (Atomics.compareExchange(a, i, s, s | bit) === s) return s | bit;
    }
  };
}

const readSpinning = (s: number): boolean => (s & WRITE_LOCKED) !== 0 && (s & (READERS_WAITING | WRITERS_WAITING)) === 0;

/**
 * Blocking read (or upgradable read) acquisition after the fast path failed. Spins briefly while
 * a writer holds the lock and nobody sleeps, then sleeps on STATE. False if `deadline` passed.
 */
export function readLockSlow(
  a: Int32Array,
  i: number,
  deadline: number,
  budget: SpinBudget,
  upgradable = false,
  onOwnerDied?: OnOwnerDied,
): boolean {
  if (readSpinning(Atomics.load(a, i))) spinWhile(a, i, readSpinning, upgradable ? isUpgradableLockable : isReadLockable, budget);
  return park(a, parking(a, i, i, readStep(a, i, upgradable), onOwnerDied, staleReservations(a, i)), deadline);
}

/**
 * Async read (or upgradable read) acquisition; resolves to how often it slept, rejects with
 * TimeoutError or the signal's reason.
 */
export function readLockAsyncSlow(
  a: Int32Array,
  i: number,
  wait: ParsedWait,
  lockName: string,
  upgradable = false,
  onOwnerDied?: OnOwnerDied,
  won?: () => void,
): Promise<number> {
  // STATE sleepers are woken all at once, so an aborted wait takes no other reader's wakeup; but
  // if it was the only one woken, the writers waiting behind it must still be told.
  const recheck = staleReservations(a, i);
  return parkAsync(a, parking(a, i, i, readStep(a, i, upgradable), onOwnerDied, recheck, () => forwardReaderWake(a, i), undefined, won), wait, lockName);
}

/** Releases one plain read hold (the caller checked this thread holds one). */
export function readUnlock(a: Int32Array, i: number): void {
  // Drop our hold; the result tells whether we were the last reader someone waits for.
  const s = Atomics.sub(a, i, 1) - 1;
  afterReaderLeft(a, i, s);
}

function afterReaderLeft(a: Int32Array, i: number, s: number): void {
  if ((s & UPGRADING) !== 0) {
    // Only the upgrader's own hold is left: it may now take the write lock.
    if (readersOf(s) === 1) wakeUpgrader(a, i);
  } else if ((s & (WRITERS_WAITING | STATE_SLEEPERS)) !== 0) {
    wakeWriterOrReaders(a, i, s);
  }
}

/** Releases the upgradable read hold (the caller checked this thread holds it). */
export function upgradableUnlock(a: Int32Array, i: number): void {
  Atomics.store(a, i + UPGRADABLE_OWNER, 0);
  // Drop our reader hold and the upgradable bit at once.
  const s = Atomics.sub(a, i, 1 | UPGRADABLE) - (1 | UPGRADABLE);
  if ((s & (WRITERS_WAITING | STATE_SLEEPERS)) !== 0) wakeWriterOrReaders(a, i, s);
}

// ---- writers ---------------------------------------------------------------------------------------

/** One attempt at the write lock, never waits. */
export function tryWriteLock(a: Int32Array, i: number): boolean {
  let s = Atomics.load(a, i);
  while (isUnlocked(s)) {
    // Take an unlocked word, keeping its waiting bits.
    const seen = Atomics.compareExchange(a, i, s, s | WRITE_LOCKED);
    if (seen === s) return true;
    s = seen;
  }
  return false;
}

function writeStep(a: Int32Array, i: number): Step {
  let sleptSince = 0;
  return (parked) => {
    // Once we have slept we cannot know whether other writers still sleep: keep the bit when we
    // take the lock so our release wakes the next one (invariant 4).
    const otherWriters = parked ? WRITERS_WAITING : 0;
    const starving = parked && now() - sleptSince > FAIR_AFTER_MS;
    for (;;) {
      const s = Atomics.load(a, i);
      if (isUnlocked(s) || (parked && (s & HANDOFF) !== 0)) {
        // Take it (a handoff only if we have slept: it is meant for a sleeping writer), keeping
        // the waiting bits; a handoff consumes HANDOFF.
        if (Atomics.compareExchange(a, i, s, (s & ~HANDOFF) | WRITE_LOCKED | otherWriters) === s) return null;
        continue;
      }
      // CORRECTNESS: publish WRITERS_WAITING before sleeping, in the state the releaser will
      // read, so it wakes a writer (invariant 3). A writer asleep too long also asks for a handoff.
      const want = s | WRITERS_WAITING | (starving ? WRITER_STARVING : 0);
      if (want !== s && Atomics.compareExchange(a, i, s, want) !== s) continue;
      // Read the counter before re-checking STATE: a release after this point bumps it, so our
      // sleep returns 'not-equal' or gets the notify (invariant 3).
      const seq = Atomics.load(a, i + WRITER_NOTIFY);
      const again = Atomics.load(a, i);
      // A handoff is re-checked only by a writer that may claim it; one that has not slept yet
      // sleeps (CORRECTNESS: retrying would spin, and if the writer the lock is handed to runs on
      // this thread's event loop, for ever). Whoever clears HANDOFF wakes the writers (invariant 6).
      if (isUnlocked(again) || !hasWritersWaiting(again) || (parked && (again & HANDOFF) !== 0)) continue;
      if (!parked) sleptSince = now();
      return seq;
    }
  };
}

const writeSpinning = (s: number): boolean => !isUnlocked(s) && (s & (WRITERS_WAITING | STATE_SLEEPERS)) === 0;

/** Blocking write acquisition after the fast path failed. False if `deadline` passed. */
export function writeLockSlow(a: Int32Array, i: number, deadline: number, budget: SpinBudget, onOwnerDied?: OnOwnerDied): boolean {
  if (writeSpinning(Atomics.load(a, i))) spinWhile(a, i, writeSpinning, isUnlocked, budget);
  return park(a, writeParking(a, i, onOwnerDied), deadline);
}

/** A writer's parking: sleeps on WRITER_NOTIFY; giving up withdraws WRITERS_WAITING (invariant 7). */
function writeParking(a: Int32Array, i: number, onOwnerDied?: OnOwnerDied, won?: () => void): Parking {
  const forward = (): void => forwardWriterWake(a, i);
  return parking(a, i, i + WRITER_NOTIFY, writeStep(a, i), onOwnerDied, undefined, forward, () => abandonWrite(a, i), won);
}

/**
 * An async slow path on the event loop (write lock, upgrade): resolves to how often it slept once
 * the lock is taken (`won` runs in the acquiring turn), rejects with TimeoutError or the signal's
 * reason.
 */
export type AsyncSlowPath = (
  a: Int32Array,
  i: number,
  wait: ParsedWait,
  lockName: string,
  onOwnerDied?: OnOwnerDied,
  won?: () => void,
) => Promise<number>;

/** Async write acquisition. */
export const writeLockAsyncSlow: AsyncSlowPath = (a, i, wait, lockName, onOwnerDied, won) =>
  parkAsync(a, writeParking(a, i, onOwnerDied, won), wait, lockName);

/**
 * A writer gave up (timeout, abort). Its WRITERS_WAITING would keep new readers out until the
 * next full release, so clear it and wake one writer: one still asleep re-publishes the bit
 * before it sleeps again. If none was asleep, wake the readers the bit kept out (invariant 7).
 */
function abandonWrite(a: Int32Array, i: number): void {
  // Withdraw the writers' claim (and a starvation request, which is meaningless without it).
  const prev = Atomics.and(a, i, ~(WRITERS_WAITING | WRITER_STARVING));
  if ((prev & WRITERS_WAITING) === 0) return;
  if (wakeWriter(a, i)) return;
  wakeWriterOrReaders(a, i, Atomics.load(a, i), true);
}

/** Releases the write lock (the caller checked ownership and cleared WRITER_OWNER). */
export function writeUnlock(a: Int32Array, i: number): void {
  // Fast path: nobody waits, back to 0 in one CAS.
  if (Atomics.compareExchange(a, i, WRITE_LOCKED, 0) === WRITE_LOCKED) return;
  // Clear WRITE_LOCKED; the waiting bits say whom to wake.
  const s = Atomics.sub(a, i, WRITE_LOCKED) - WRITE_LOCKED;
  wakeWriterOrReaders(a, i, s, true);
}

/** Write → read in one step: no writer can get in between (the caller checked ownership). */
export function downgrade(a: Int32Array, i: number): void {
  // Swap WRITE_LOCKED for one reader hold atomically.
  const s = Atomics.add(a, i, 1 - WRITE_LOCKED) + (1 - WRITE_LOCKED);
  // Readers may join now unless a writer waits (then they stay asleep until it is done).
  if ((s & STATE_SLEEPERS) !== 0) wakeWriterOrReaders(a, i, s, true);
}

// ---- upgrade ---------------------------------------------------------------------------------------

/** Upgradable → write if this thread's hold is the only one; never waits. */
export function tryUpgrade(a: Int32Array, i: number): boolean {
  let s = Atomics.load(a, i);
  while (readersOf(s) === 1) {
    // Our hold is the last: trade it (and UPGRADABLE, UPGRADING) for WRITE_LOCKED.
    const seen = Atomics.compareExchange(a, i, s, (s & ~(READERS_MASK | UPGRADABLE | UPGRADING)) | WRITE_LOCKED);
    if (seen === s) return true;
    s = seen;
  }
  return false;
}

function upgradeStep(a: Int32Array, i: number): Step {
  return () => {
    for (;;) {
      if (tryUpgrade(a, i)) return null;
      const s = Atomics.load(a, i);
      // CORRECTNESS: UPGRADING makes the reader that leaves last wake us, and keeps new readers
      // out so that moment comes (invariant 3).
      if ((s & UPGRADING) === 0 && Atomics.compareExchange(a, i, s, s | UPGRADING) !== s) continue;
      // Read the counter, then re-check: a later last-reader release bumps it.
      const seq = Atomics.load(a, i + UPGRADE_NOTIFY);
      if (readersOf(Atomics.load(a, i)) === 1) continue;
      return seq;
    }
  };
}

/** Blocking upgrade (the caller holds the upgradable lock). False if `deadline` passed. */
export function upgradeSlow(a: Int32Array, i: number, deadline: number, onOwnerDied?: OnOwnerDied): boolean {
  return park(a, upgradeParking(a, i, onOwnerDied), deadline);
}

/** Async upgrade; on rejection the upgradable lock is still held. */
export const upgradeAsyncSlow: AsyncSlowPath = (a, i, wait, lockName, onOwnerDied, won) =>
  parkAsync(a, upgradeParking(a, i, onOwnerDied, won), wait, lockName);

/**
 * The upgrader's parking: sleeps on UPGRADE_NOTIFY (woken with notify-all, so an abandoned wait
 * swallows nothing and needs no forwarding); giving up lets readers in again.
 */
function upgradeParking(a: Int32Array, i: number, onOwnerDied?: OnOwnerDied, won?: () => void): Parking {
  // The upgrader reaps dead readers too (it waits for them to leave): it reports those deaths.
  return parking(a, i, i + UPGRADE_NOTIFY, upgradeStep(a, i), onOwnerDied, undefined, undefined, () => cancelUpgrade(a, i), won);
}

/** An upgrade gave up: let readers in again (we still hold the upgradable lock). */
function cancelUpgrade(a: Int32Array, i: number): void {
  // Clear UPGRADING; readers kept out by it may now be woken.
  const s = Atomics.and(a, i, ~UPGRADING) & ~UPGRADING;
  if ((s & STATE_SLEEPERS) !== 0) wakeWriterOrReaders(a, i, s, true);
}

function wakeUpgrader(a: Int32Array, i: number): void {
  // Bump the counter so an upgrader between its check and its sleep sees 'not-equal'.
  Atomics.add(a, i + UPGRADE_NOTIFY, 1);
  // Wake all: only the one upgradable holder sleeps here (plus abandoned async waits, which
  // must not swallow the wake).
  wake(a, i + UPGRADE_NOTIFY, Infinity);
}

// ---- waking ----------------------------------------------------------------------------------------

/** Bumps WRITER_NOTIFY and wakes one writer; true if one was asleep. */
function wakeWriter(a: Int32Array, i: number): boolean {
  // Bump first: a writer between reading the counter and sleeping then sees 'not-equal'.
  Atomics.add(a, i + WRITER_NOTIFY, 1);
  // Wake exactly one writer: the readers stay asleep (the point of the separate word).
  return wake(a, i + WRITER_NOTIFY, 1) > 0;
}

/**
 * After a release left state `s`, wake whoever may go next. `preferReaders` (a writer's release,
 * a downgrade, a cancelled upgrade): the STATE sleepers waited behind that writer, so they go first
 * even if more writers wait; otherwise (a reader's release) one writer goes first if the lock is
 * free. If waking one writer woke nobody, the STATE sleepers are woken instead.
 */
export function wakeWriterOrReaders(a: Int32Array, i: number, s: number, preferReaders = false): void {
  for (;;) {
    const sleepersMayGo =
      (s & STATE_SLEEPERS) !== 0 &&
      (s & BLOCKS_PARKED_READERS) === 0 &&
      (preferReaders || (s & WRITERS_WAITING) === 0);
    if (!sleepersMayGo && hasWritersWaiting(s) && isUnlocked(s)) {
      // Clear WRITERS_WAITING and hand the wake to one writer (invariant 4). If a writer has slept
      // too long, reserve the lock for the sleeping writers (HANDOFF), so no running writer can
      // barge in ahead of it again.
      const handoff = (s & WRITER_STARVING) !== 0;
      const next = handoff ? (s & ~(WRITERS_WAITING | WRITER_STARVING)) | HANDOFF : s & ~WRITERS_WAITING;
      const seen = Atomics.compareExchange(a, i, s, next);
      if (seen !== s) {
        s = seen;
        continue;
      }
      if (wakeWriter(a, i)) return;
      // CORRECTNESS: no writer was asleep (they gave up): undo the handoff, and the readers they
      // kept out must not be stranded (invariant 5).
      if (handoff) revertHandoff(a, i);
      s = Atomics.load(a, i);
      preferReaders = true;
      continue;
    }
    if (sleepersMayGo) {
      // Clear the sleeper bits, then wake them all; the ones still kept out re-set their bit.
      // Waiting writers keep WRITERS_WAITING: the last of these readers to leave wakes one.
      const seen = Atomics.compareExchange(a, i, s, s & ~STATE_SLEEPERS);
      if (seen !== s) {
        s = seen;
        continue;
      }
      // Wake every STATE sleeper.
      if (wake(a, i, Infinity) === 0 && hasWritersWaiting(s)) {
        // CORRECTNESS: nobody was asleep after all (they gave up), so no reader will join and
        // later wake the waiting writers: wake one now.
        s = Atomics.load(a, i);
        preferReaders = false;
        continue;
      }
    }
    // Otherwise the lock is held (its release will wake) or nobody waits.
    return;
  }
}

/**
 * An aborted async writer was notified after it gave up: pass the wake to another writer, or to
 * the readers if no writer sleeps (invariant 5).
 */
export function forwardWriterWake(a: Int32Array, i: number): void {
  if (wakeWriter(a, i)) return;
  revertHandoff(a, i);
  wakeWriterOrReaders(a, i, Atomics.load(a, i), true);
}

/** Clears HANDOFF if it is set (nobody sleeps to claim it), leaving a free word. */
function revertHandoff(a: Int32Array, i: number): void {
  // Only clears our reservation; if a writer claimed it meanwhile, HANDOFF is already gone.
  Atomics.and(a, i, ~HANDOFF);
}

/**
 * An aborted async reader was woken after it gave up. Its fellow readers were woken too, but if
 * none of them joins, nobody would wake the writers that wait: do it if the lock is free.
 */
export function forwardReaderWake(a: Int32Array, i: number): void {
  wakeWriterOrReaders(a, i, Atomics.load(a, i));
}

// ---- wait loops shared by every acquisition ------------------------------------------------------

/**
 * Longest single sleep: the futex layer's one slice (`WAKE_SLICE_MS`, as every lock), unless a
 * test overrides it. A wake can be swallowed by an aborted async waiter (`waitAsync` cannot be
 * withdrawn) and is only passed on when that waiter's thread runs its event loop; if that thread
 * is blocked (for instance in a blocking acquisition of this very lock), the wake would be stuck
 * and, with it, everyone. So every sleep is bounded: a waiter re-checks the state after at most
 * this long on its own (a writer then takes a free or handed-off lock; a reader clears a handoff
 * that nobody claimed).
 */
export const RECHECK_MS: number = recheckMsFromEnv();

/**
 * Test hook: `SABLOCK_RW_RECHECK_MS` overrides RECHECK_MS, so a stress test can switch the
 * self-rescue off (a huge value) and show the wake protocol alone loses no wakeup.
 */
function recheckMsFromEnv(): number {
  const v = Number(globalThis.process?.env?.SABLOCK_RW_RECHECK_MS);
  return v > 0 ? v : WAKE_SLICE_MS;
}

/** After a sleep ran out without a notify: what a waiter does on its own (see RECHECK_MS). */
type Recheck = () => void;

/** Called once per owner death, by the thread whose CAS reaped it (the API layer's stats hook). */
export type OnOwnerDied = () => void;

/**
 * One acquisition's parking (`core/park.ts`): `step` is the state machine's attempt; every sleep is
 * bounded by RECHECK_MS, a sleep that ran out runs `recheck`, and every wake-up reaps dead owners
 * (invariant 9). `giveUp` undoes a waiting writer's or upgrader's claim (invariants 7, 8).
 */
function parking(
  a: Int32Array,
  i: number,
  index: number,
  step: Step,
  onOwnerDied?: OnOwnerDied,
  recheck?: Recheck,
  forward?: () => void,
  giveUp?: () => void,
  won?: () => void,
): Parking {
  return {
    index,
    attempt: step,
    sleepUntil: (deadline) => Math.min(deadline, now() + RECHECK_MS),
    afterSleep(r) {
      if (r === 'timed-out') recheck?.();
      // A holder that died never releases: after every bounded sleep, release on its behalf (invariant 9).
      reapDeadOwners(a, i, onOwnerDied);
    },
    forward,
    giveUp,
    won,
  };
}

/**
 * Releases the holds of a dead write or upgradable holder on its behalf (invariant 9) and sets
 * OWNER_DIED. Returns how many deaths this call reaped (0 almost always: two loads).
 */
export function reapDeadOwners(a: Int32Array, i: number, onOwnerDied?: OnOwnerDied): number {
  let reaped = 0;
  if (claimFromDead(a, i, WRITER_OWNER)) {
    // It held WRITE_LOCKED (invariant 9): release it as the dead writer would have, waking the waiters.
    writeUnlock(a, i);
    reaped++;
    onOwnerDied?.();
  }
  if (claimFromDead(a, i, UPGRADABLE_OWNER)) {
    releaseDeadUpgradable(a, i);
    reaped++;
    onOwnerDied?.();
  }
  // Dead readers: each slot is reaped once, by the CAS in reapDeadHolds (invariant 10).
  const held = reapDeadHolds(a, i + READ_HOLDERS, READ_SLOTS);
  if (held > 0) {
    // Tell the next holders (the dead reader may have been mid-way through a read-only protocol
    // only, but a writer waiting on it deserves to know why the wait ended).
    Atomics.or(a, i + FLAGS, RW_OWNER_DIED);
    // Give the dead readers' holds back, as their readUnlock calls would have.
    const s = Atomics.sub(a, i, held) - held;
    afterReaderLeft(a, i, s);
    reaped++;
    onOwnerDied?.();
  }
  return reaped;
}

/**
 * Clears owner word `word` (WRITER_OWNER or UPGRADABLE_OWNER) if it names a dead thread and sets
 * OWNER_DIED; true if this call did, and must now release the dead thread's hold.
 */
function claimFromDead(a: Int32Array, i: number, word: number): boolean {
  const o = Atomics.load(a, i + word);
  // One reaper per death: the CAS from the dead id (never reused; the dead cannot clear it).
  if (o === 0 || !isDeadOwner(o) || Atomics.compareExchange(a, i + word, o, 0) !== o) return false;
  // Tell the next holders before anyone can acquire (persists until markConsistent).
  Atomics.or(a, i + FLAGS, RW_OWNER_DIED);
  return true;
}

/** Drops a dead thread's upgradable hold (and its UPGRADING), or the write lock it upgraded to. */
function releaseDeadUpgradable(a: Int32Array, i: number): void {
  for (;;) {
    const s = Atomics.load(a, i);
    if ((s & UPGRADABLE) === 0) {
      // It died right after upgrading, before it cleared UPGRADABLE_OWNER: the write lock is its.
      writeUnlock(a, i);
      return;
    }
    // Drop its reader hold, UPGRADABLE and an UPGRADING it can no longer finish, from exactly s.
    const next = (s - (1 | UPGRADABLE)) & ~UPGRADING;
    if (Atomics.compareExchange(a, i, s, next) !== s) continue;
    // Readers kept out by UPGRADING, or writers waiting for it: wake them as a release would.
    if ((next & (WRITERS_WAITING | STATE_SLEEPERS)) !== 0) wakeWriterOrReaders(a, i, next, (s & UPGRADING) !== 0);
    return;
  }
}

/** True if a write or upgradable holder died and no write holder has called markConsistent. */
export function ownerDiedOf(a: Int32Array, i: number): boolean {
  return (Atomics.load(a, i + FLAGS) & RW_OWNER_DIED) !== 0;
}

/** Clears OWNER_DIED (the caller holds the write lock). */
export function clearOwnerDied(a: Int32Array, i: number): void {
  // Only the flag bit: clear it, whoever set it.
  Atomics.and(a, i + FLAGS, ~RW_OWNER_DIED);
}

/**
 * Whether `s` keeps readers off a free lock for a writer: HANDOFF (for a writer that has slept);
 * READERS_WAITING / UPGRADABLE_WAITING alone (a release woke a writer, which clears nothing when it
 * takes the lock; readers wait for it: invariant 2); or WRITERS_WAITING on a free word (a writer
 * asleep re-checks every RECHECK_MS and takes a free word, so one that stays free with the bit set
 * has lost its writers: say, an async writer aborted while its thread then blocked, so its
 * `abandonWrite` never ran).
 */
const isReservedForWriter = (s: number): boolean =>
  (s & (READERS_MASK | WRITE_LOCKED)) === 0 && (s & (HANDOFF | STATE_SLEEPERS | WRITERS_WAITING)) !== 0;

/**
 * A reader's re-check after a sleep slice ran out (invariant 8). The wake that a reservation
 * waits on can be swallowed by an aborted async writer whose thread cannot run its event loop (it
 * is blocked, in this very lock, say): then HANDOFF, or a free word with only READERS_WAITING
 * set, stays for ever and keeps everyone out. But a reservation is also normal for a moment (its
 * writer is woken and on its way), and taking it then would steal that writer's turn for good
 * (found by the Promela model, `-DSTEAL`). So a reservation is released only when this reader
 * sees the very same word at the end of two slices in a row: its writer has had a whole slice and
 * not claimed it. The worst case, a legitimate writer descheduled that long, loses its turn: it
 * finds the lock taken and sleeps again with WRITERS_WAITING.
 */
function staleReservations(a: Int32Array, i: number): () => void {
  let seen = 0; // a reserved word seen at the end of the last slice (a reserved word is never 0)
  return () => {
    const s = Atomics.load(a, i);
    if (!isReservedForWriter(s)) {
      seen = 0;
      return;
    }
    if (s !== seen) {
      // First sighting: give its writer a whole slice.
      seen = s;
      return;
    }
    seen = 0;
    if ((s & HANDOFF) !== 0) {
      revertHandoff(a, i);
      // Writers that could not claim the handoff sleep behind it: the free lock is theirs now, and
      // they go first (the handoff was a starving writer's request; invariant 6).
      wakeWriterOrReaders(a, i, Atomics.load(a, i), false);
      return;
    }
    if ((s & WRITERS_WAITING) !== 0) {
      // No writer took the free word for two slices: withdraw the claim as abandonWrite would (a
      // writer still asleep re-publishes it before it sleeps again, invariant 7), from exactly s.
      const withdrawn = s & ~(WRITERS_WAITING | WRITER_STARVING);
      if (Atomics.compareExchange(a, i, s, withdrawn) !== s) return;
      if (wakeWriter(a, i)) return;
      wakeWriterOrReaders(a, i, withdrawn, true);
      return;
    }
    // The writer never came: the readers it kept out may go (as its release would let them).
    wakeWriterOrReaders(a, i, s, true);
  };
}
