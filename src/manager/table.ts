/**
 * The shared lock table of `LockManager`: the raw layer, pure index arithmetic over one Int32Array.
 *
 * Design after PostgreSQL's lock manager (src/backend/storage/lmgr/lock.c, README): a shared hash
 * table of LOCK objects (one per locked resource: granted counts per mode, a wait queue) and
 * PROCLOCK objects (one per owner × resource: the modes that owner holds), split into 16
 * partitions that each have their own lock, so requests on unrelated resources do not contend.
 * Here a resource is an **entry** and a PROCLOCK is a **record**; both come from fixed pools in
 * the buffer, so a full pool is a `CapacityError` and never an overwrite.
 *
 * ## Layout (Int32 words, relative to the tag word)
 * | words | content |
 * |---|---|
 * | 0 | tag (kind id) |
 * | 1 | capacity: number of entries (distinct resources held or waited on at once) |
 * | 2 | holderCapacity: number of records ((owner, resource) pairs held or waited on at once) |
 * | 3 | nameBytes + 1 (bytes of resource name kept per entry, for messages and query()) |
 * | 4 | hashBits + 1 (key bits kept; 64 normally, fewer only to force collisions in tests) |
 * | 5 | allocator lock (raw mutex word, `raw/mutex.ts`), guards words 6–9 and the free lists |
 * | 6 | entry bump: entries ever handed out from the pool (indices below it were used) |
 * | 7 | entry free list head (index + 1, 0 = empty), linked through E_NEXT |
 * | 8 | record bump |
 * | 9 | record free list head (index + 1), linked through R_NEXT |
 * | 10 | owner-id counter for `LockManager.newOwner()` |
 * | 11 | ticket counter: every wait takes the next ticket (FIFO order inside an entry) |
 * | 12 | scheduling, fixed at creation: 1 = eventual fairness, 2 = strict FIFO (`fifo` option; invariant 4) |
 * | 13 | drain mark: owner id of a thread moving the free lists (`drainFreeLists`, under the allocator lock), else 0 |
 * | 14 | the table's identity for this thread's fast-hold bookkeeping (`#fastOut`): a random non-zero number, set once by the first view |
 * | 15 | unused (pads the partition stripes apart from the hot header words) |
 * | 16 + 16p | partition p's lock (raw mutex word), p = 0…15: one 64-byte stripe per partition, so |
 * |          | threads on different partitions never bounce one cache line (all 16 locks used to share one) |
 * | 17 + 16p | partition p's entry free list head (index + 1), linked through E_NEXT |
 * | 18 + 16p | partition p's record free list head (index + 1), linked through R_NEXT |
 * | 19–31 + 16p | unused (padding) |
 * | 272… | bucket heads: `bucketCount` words, entry index + 1 of a chain (0 = empty) |
 * | … | entries: `capacity` × `entryWords` |
 * | … | records: `holderCapacity` × 16 |
 * | … | fast-path region (`fastpath.ts`): 1024 strong counters, the ACTIVE line (16 words), 64 |
 * |   | groups of `32 + 16 × (5 + nameBytes / 4)` words (lock line, summary line, 16 slots) |
 * | … | undo journals: one per partition, `JOURNAL_WORDS` each (see "Undo journal" below) |
 *
 * Entries and records are padded to whole 64-byte lines (16 words), and every region starts on
 * a line boundary (relative to the tag word): two workers locking different rows otherwise write
 * neighbouring entries and records on one shared line (they are handed out side by side).
 *
 * Entry (`14 + nameBytes / 4` words, rounded up to a multiple of 16):
 * | word | name | meaning |
 * |---|---|---|
 * | 0, 1 | E_KEY_LO/HI | the 64-bit key |
 * | 2 | E_NEXT | next entry in the bucket chain (or free list), index + 1 |
 * | 3 | E_SEQ | futex word: bumped whenever a waiter on this entry might now be grantable; bit 0 = a sleeper may be on it |
 * | 4 | E_HEAD | first record on this entry (holders and waiters), index + 1 |
 * | 5 | E_WAITING | number of records waiting on this entry |
 * | 6–11 | E_GRANTED | per mode: number of records holding that mode |
 * | 12 | E_FAST | the fast word of a Web Locks name (see "Fast words"): CLOSED, OPEN or a holder's thread owner id |
 * | 13 | E_ORDER | the grant-order ticket of the fast holder (R_ORDER's meaning), written by it after it took E_FAST |
 * | 14… | E_NAME | UTF-8 of the first path that created the entry, zero-padded |
 *
 * Record (16 words):
 * | word | name | meaning |
 * |---|---|---|
 * | 0 | R_OWNER | owner id (0 = free record) |
 * | 1 | R_ENTRY | entry index + 1 (0 = free record) |
 * | 2 | R_NEXT | next record of the same entry (or free list), index + 1 |
 * | 3 | R_HOLD | mask of the modes held (bit m ⇔ R_COUNT + m > 0) |
 * | 4 | R_WAIT | bits 0–7: mode waited for + 1 (0 = not waiting); bits 8–30: nudge count (invariant 8) |
 * | 5 | R_TICKET | ticket of the wait (FIFO position; unique, so it also names the wait) |
 * | 6 | R_SINCE | `nowStamp()` (wall-clock ms mod 2^31) when the wait began |
 * | 7–12 | R_COUNT | per mode: how many acquisitions of that mode this owner holds |
 * | 13 | R_HOME | for an async task's owner: the owner id of the thread whose event loop runs it (0 = not a task owner) |
 * | 14 | R_BLOCKS | while the record waits for a blocking `acquire`: that thread's owner id (its event loop is stopped), else 0 |
 * | 15 | R_ORDER | for an async task's record: a ticket drawn when it was granted (at once: when the record was made; queued: when granted), its hold's place in grant order for `query()` and Web Locks; else 0 |
 *
 * Free entries and records go to the free list of the partition they were freed in (under that
 * partition's lock, no allocator lock); allocation pops the partition's own list first, then the
 * global pool (allocator lock). When both are empty, the caller (holding no partition lock) calls
 * `drainFreeLists()`, which moves every partition's list (and its cached empty entries, invariant
 * 3) to the global one, and retries once: so a CapacityError still means the pool is really full
 * (up to frees racing with the drain).
 *
 * A bucket and its chain belong to partition `bucket % 16`; the bucket of a key is `keyLo &
 * (bucketCount - 1)`. Every entry and record field is read and written only under the partition
 * lock of its entry's bucket, except E_SEQ (Atomics: waiters sleep on it), the pools (allocator
 * lock, always taken inside a partition lock: partition → allocator is the only nesting, besides
 * the deadlock checker taking all partitions in ascending order), and R_OWNER/R_ENTRY, which
 * `releaseOwnerRecords` reads racily with Atomics to find candidates and re-checks under the lock.
 *
 * ## Invariants
 * 1. E_GRANTED[m] = number of records on the entry whose R_HOLD has bit m.
 * 2. E_WAITING = number of records on the entry with R_WAIT ≠ 0.
 * 3. A record is linked in its entry iff R_HOLD ≠ 0 or R_WAIT ≠ 0; an idle one goes back to its
 *    pool at once. An entry with at least one record is linked in its bucket; one left with no
 *    record stays linked as a cache (locking that resource again needs no allocation and no name
 *    copy) until `drainFreeLists()` sweeps it back to the pool when allocation finds the pools
 *    empty. Empty entries hold nothing: E_WAITING and E_GRANTED are 0, and the whole-table views
 *    (`forEachEntryIn`: query, deadlock check) skip them.
 * 4. Grant rule: a request of owner o for mode m on entry e is granted iff m conflicts with no mode
 *    held by another owner's record on e and, unless o already holds something on e (a conversion,
 *    which goes first as in Gray's scheme and PostgreSQL), with no mode waited for by another
 *    owner's record with an earlier ticket (FIFO: a waiting X is not overtaken by later S).
 *    Under eventual fairness (the default; H_FIFO = 1) only an earlier waiter that is *due*
 *    counts: one whose R_SINCE is at least `DUE_STAMPS` ms old (it has waited more than
 *    `FAIR_AFTER_MS`, the one fairness threshold of core/park.ts). A waiter's R_SINCE is stamped
 *    when it queues, and tickets are drawn in the same order, so the due waiters are a prefix of
 *    the queue: whoever has waited longer than the threshold is never overtaken, and a request
 *    may only pass waiters that queued less than ~2 ms ago. With strict FIFO (H_FIFO = 2,
 *    Web Locks) every earlier waiter counts.
 * 5. Only a release (a mode leaving R_HOLD), a waiter leaving the queue, or a first grant to a
 *    record that also waits (its queued request becomes a conversion, which skips the FIFO
 *    check) can make a waiter grantable; each bumps E_SEQ and wakes every sleeper on it (and
 *    hands over to, or nudges, queued waiters: invariant 7). A waiter becoming due changes
 *    nothing by itself: it is handed the resource by the next release. Any
 *    other grant only adds holds, which never unblocks anyone.
 *    E_SEQ is written only under the partition lock; bit 0 (SLEEPERS) is set by whoever reads it
 *    to sleep and cleared by the bump that wakes them, so a bump with the bit clear does nothing.
 * 6. Strong counters (`fastpath.ts`): each strong acquisition counted in R_COUNT and each strong
 *    wait (R_WAIT − 1 strong) holds one unit of its key's counter; `ungrant` and a `dequeue`
 *    that is not a grant give those units back (after the record changed), and a queued wait
 *    that is granted passes its unit to the hold (`dequeue(…, granted = true)`).
 * 7. Hand-over: every change that may make a waiter grantable bumps (invariant 5), and the bump
 *    first grants every grantable waiter in ticket order (`#handOver`), under the same partition
 *    lock. So no request can take a resource that a release made grantable to earlier waiters
 *    (strict FIFO, also for shared requests behind shared waiters), and `query()` right after a
 *    release shows them holding (under eventual fairness: the due ones; a nudged waiter still
 *    shows waiting, the resource free, until it polls). A granted wait keeps R_TICKET (R_WAIT is 0): its waiter, when it
 *    polls, recognises the grant (`handedTo`); a waiter that gives up meanwhile gives it back.
 *    Under eventual fairness the hand-over grants only due waiters and conversions. A grantable
 *    waiter that is not due is *nudged* instead: not granted (it may be asleep, and the resource
 *    would sit granted but idle for a wake-up, during which the releaser, wanting it back, would
 *    queue behind it: one grant per wake-up on a hot resource), but its word moved and woken, so
 *    it polls and takes the resource unless a running request took it first; the waiters behind
 *    it that conflict with it are not nudged. A nudged waiter that lost the race sleeps again; by
 *    the next release it may be due, and is then handed the resource.
 * 8. A queued request with a ticket sleeps on its own record's R_WAIT (value: its mode + 1 and
 *    nudge count, as read under the partition lock), not on E_SEQ: only a grant (the hand-over), a
 *    nudge (invariant 7, which bumps the count and wakes that word) or a withdrawal (`releaseAll`,
 *    its own give-up) ends its wait, and `dequeue` clears R_WAIT and wakes that word, so a release wakes only the
 *    waiters it handed the resource to, not the whole queue (which made n waiters on one
 *    resource cost O(n²) wake-ups). E_SEQ (SLEEPERS, bump) is left to a second request of an
 *    owner already queued there (ticket 0), which waits for its owner's record to move.
 *
 * ## Undo journal (a thread terminated inside a critical section)
 * `worker.terminate()` stops a thread wherever its JavaScript is, also between two stores of one
 * update under a partition lock. So every store to a word that other threads can reach goes
 * through `#set` (or `#setAtomic`), which first appends (word index, old value) to the journal of
 * the partition being written (`#jw`, chosen by `lockPartition` / `markWriting`) and then
 * stores; `unlockPartition` empties the journal before it gives the lock back. A thread that
 * takes over the lock of a dead holder (raw/mutex.ts `lockWord`, OWNER_DIED) finds the holder's
 * half-done update in the journal and restores the old values, newest first (`#recover`): the
 * partition is as it was before that critical section began, and the dead owner's holds and
 * waits in it are then reaped like any dead owner's. Journal words:
 * | word | content |
 * |---|---|
 * | 0 | J_LEN: pairs logged by the current holder; `JOURNAL_FULL` once more than `JOURNAL_PAIRS` were (not undoable: refused as before) |
 * | 1 + 2k, 2 + 2k | pair k: the word index written, and its old value |
 *
 * Not journaled, on purpose:
 * - E_SEQ (futex word, only ever moves forward: a sleeper on a newer value must still see the
 *   word differ) and the ticket counter (unique tickets; a skipped one costs nothing).
 * - A new record's or entry's fields before it is linked (unreachable until the journaled link;
 *   if undone, it goes back to the free list, where those fields mean nothing). Its list links,
 *   keys and R_OWNER/R_ENTRY (read without the lock) are journaled.
 * - The global pools (allocator lock): a pop or a bump is one store, so a holder of the
 *   allocator lock that dies leaves it whole (an index popped for an update that is undone is
 *   lost to the pool: capacity, never a double use). Only `drainFreeLists` makes several stores
 *   there; it marks the header (H_DRAIN) meanwhile, and a death under that mark still refuses
 *   the allocator (ERR_LOCK_BROKEN).
 * - Strong counters (fastpath.ts; weak requests read them without any lock, so a change to one
 *   cannot be taken back unseen). A release lowers them only when its update commits
 *   (`#commit`), so an undone release never let a weak request through. A unit raised before a
 *   critical section (requests.ts `attemptCounted`) by a thread that dies before its hold or
 *   wait exists stays (that key then always takes the main table: slower, never wrong).
 * - Fast-path groups (`fastpath.ts`): their own lock, still refused after a death inside.
 *
 * ## Fast words (Web Locks: an exclusive request on a free name in two CASes)
 * A Web Locks name is a one-level path whose entry usually has no record at all between
 * requests. E_FAST lets an exclusive request take such an entry with one CAS and give it back
 * with another, with no partition lock, record or journal; the table takes over whenever
 * anything else happens on the entry. E_FAST encoding:
 * | value | meaning |
 * |---|---|
 * | FAST_CLOSED = 0 | the table decides: records may exist. Every free (unlinked) entry is CLOSED, as is zeroed memory |
 * | FAST_OPEN = −1 | linked, no record, no fast holder: `fastTake` may CAS it to its thread owner id |
 * | T > 0 | held in X through the fast path by thread owner T (a `threadId + 1` id, never a task's); no record stands for it |
 * Transitions: OPEN → T (`fastTake`) and T → OPEN (`fastRelease`) without any lock; everything
 * else under the entry's partition lock:
 * - **close** (`#close`, by every writer that finds the entry: a request, a steal, a release):
 *   OPEN/T → CLOSED; a fast holder T becomes a record of owner T holding X (ordered by E_ORDER),
 *   so the grant rule, the FIFO queue, steals, `query()` and the dead-owner reaping see it as
 *   any hold. Journaled as a *tagged* pair: the undo restores it by CAS(CLOSED → old), since a
 *   CAS of the dead holder that failed left the word to the fast path. A CAS that failed takes its
 *   pair back (`#unlog`), so a close racing many fast takes does not fill the journal.
 * - **reopen**: the last record leaving an entry puts it on this thread's reopen list, and
 *   `unlockPartition` stores OPEN after the commit, before the unlock. Earlier, a fast take could
 *   succeed while an undo could still bring the records back (two holders).
 * - **sweep** (`drainFreeLists`): an empty entry is freed only after CAS(OPEN → CLOSED); a fast
 *   holder's entry stays linked.
 * A fast taker holds no lock, so its cached entry may have been swept and made for another name
 * meanwhile: it reads the key after its CAS (the key is fixed while E_FAST is not CLOSED) and
 * gives a wrong entry back. A thread keeps at most one fast hold per entry (`#fastOut`): a robbed
 * hold's late release (its callback outlives a steal) must not free the same thread's next one.
 * Only tables marked for it (`fastWords`, Web Locks) reopen entries; every view closes them, so a
 * plain `LockManager` attached to a Web Locks table still sees fast holders.
 *
 * ## Memory ordering
 * The partition lock's acquiring and releasing Atomics order all plain accesses to entries and
 * records. A waiter reads E_SEQ under the lock, releases the lock, then sleeps on E_SEQ with that
 * value: every change after its read bumps E_SEQ first, so the sleep returns 'not-equal'.
 */
import { OWNER_ID } from '../core/thread.js';
import { lockWord, unlockWord } from '../raw/mutex.js';
import { isDeadOwner } from '../core/owner-death.js';
import { wake } from '../core/futex.js';
import { FAIR_AFTER_MS } from '../core/park.js';
import { conflicts, MODE_COUNT, X } from './modes.js';
import { FastPath, fastPathWords, isStrong, strongIndex } from './fastpath.js';
import { lockInOrder, stripePolicy, unlockInOrder } from './stripes.js';

export const PARTITIONS = 16;
/** `findOrCreateRecord`: no entry left for a new resource (capacity). */
export const NO_ENTRY = -1;
/** `findOrCreateRecord`: no record left for a new (owner, resource) pair (holderCapacity). */
export const NO_RECORD = -2;

// Word offsets, named as in the layout tables above (header; partition stripe; entry; record).
export const H_CAPACITY = 1, H_HOLDERS = 2, H_NAME_BYTES = 3, H_HASH_BITS = 4, H_OWNER_SEQ = 10;
const H_ALLOC_LOCK = 5, H_ENTRY_BUMP = 6, H_ENTRY_FREE = 7, H_REC_BUMP = 8, H_REC_FREE = 9, H_TICKET = 11, H_DRAIN = 13, H_FAST_ID = 14;
/** Scheduling, fixed when the table is made: 1 = eventual fairness, 2 = strict FIFO (0 = unconfigured). */
const H_FIFO = 12;
/** First partition stripe; stripe p is words H_STRIPES + STRIPE_WORDS × p … (lock, free heads). */
const H_STRIPES = 16, STRIPE_WORDS = 16, S_LOCK = 0, S_ENTRY_FREE = 1;
/**
 * Owner id of a thread that holds the partition lock for a read-only pass (`lockAll(true)`: a
 * deadlock check's search, `query()`), 0 otherwise. Set right after taking the lock, cleared
 * before anything in the partition changes (`markWriting`) and before the release. If that thread
 * dies holding the lock, the partition cannot be half updated: its next locker takes over and
 * goes on instead of refusing it (raw/mutex.ts `lockWord`). A worker terminated in the middle of
 * a deadlock check (which holds every partition for the whole search) thus costs nothing.
 */
const S_READER = 3;
export const HEADER_WORDS = H_STRIPES + STRIPE_WORDS * PARTITIONS;
export const E_KEY_LO = 0, E_KEY_HI = 1, E_SEQ = 3;
const E_NEXT = 2, E_HEAD = 4, E_WAITING = 5, E_GRANTED = 6, E_FAST = 12, E_ORDER = 13, E_NAME = 14, ENTRY_FIXED_WORDS = 14;
/** E_FAST: the table decides (records may exist; every free entry is CLOSED, as zeroed memory is). */
const FAST_CLOSED = 0;
/** E_FAST: linked, no record, no holder: a fast take may claim it with one CAS. */
const FAST_OPEN = -1;
/** Pairs one partition's undo journal holds (see "Undo journal"); a handover granting many waiters at once may need more. */
const JOURNAL_PAIRS = 255;
export const JOURNAL_WORDS = 1 + 2 * JOURNAL_PAIRS;
/** J_LEN of a journal that overflowed: the update cannot be undone. */
const JOURNAL_FULL = -1;
/** E_SEQ bit 0: some thread may sleep on the word (see `bump`). */
const SEQ_SLEEPERS = 1;
export const R_OWNER = 0, R_ENTRY = 1, R_HOLD = 3, R_WAIT = 4, R_TICKET = 5, R_SINCE = 6, R_HOME = 13, R_BLOCKS = 14, R_ORDER = 15;
const R_NEXT = 2, R_COUNT = 7;

/**
 * A waiter is due (invariant 4) once its R_SINCE stamp (whole ms) is this far behind: it has then
 * waited more than `FAIR_AFTER_MS` (core/park.ts), the one fairness threshold, and under 2 ms.
 */
const DUE_STAMPS = FAIR_AFTER_MS + 1;
/** R_WAIT: the mode waited for + 1 in the low 8 bits, a nudge counter above (invariant 8). */
const WAIT_MODE_MASK = 0xff;

/** The mode a record's R_WAIT word says it waits for (−1: not waiting). */
export function waitedMode(word: number): number {
  return (word & WAIT_MODE_MASK) - 1;
}

/** The R_WAIT word after one more nudge: the counter above the mode moves, the mode stays (invariant 8). */
function nudgedWord(word: number): number {
  return ((((word >>> 8) + 1) & 0x7f_ffff) << 8) | (word & WAIT_MODE_MASK);
}

/** Whole ms from stamp `since` to stamp `now` (both `nowStamp()`, so the difference is taken mod 2^31). */
export function stampAge(now: number, since: number): number {
  return (now - since + 0x7fff_ffff) % 0x7fff_ffff;
}
/** 15 used words, padded to one 64-byte line (see the layout note above). */
export const RECORD_WORDS = 16;

/** Layout-defining sizes, carried in the handle and checked against the header. */
export interface TableShape {
  capacity: number;
  holderCapacity: number;
  nameBytes: number;
  hashBits: number;
  /** Strict FIFO scheduling instead of eventual fairness (invariant 4). */
  fifo: boolean;
}

export function bucketCountFor(capacity: number): number {
  let n = PARTITIONS;
  while (n < capacity) n *= 2;
  return n;
}

export function entryWordsFor(nameBytes: number): number {
  // Whole lines: see the layout note on padding.
  return (ENTRY_FIXED_WORDS + (nameBytes >> 2) + 15) & ~15;
}

/** Total bytes of a table of this shape, tag word included. */
export function tableByteLength(s: TableShape): number {
  return (
    4 *
    (HEADER_WORDS +
      bucketCountFor(s.capacity) +
      s.capacity * entryWordsFor(s.nameBytes) +
      s.holderCapacity * RECORD_WORDS +
      fastPathWords(s.nameBytes & ~3) +
      PARTITIONS * JOURNAL_WORDS)
  );
}

/** Partition locks and the allocator lock (stripes.ts). */
const PARTITION_POLICY = stripePolicy();

/**
 * Wall-clock ms comparable across threads (each thread's time origin plus its monotonic clock,
 * both read once here: fake timers installed later, as test frameworks do, cannot freeze it, and
 * a step of the system clock does not move it), folded into a non-negative int32 (wait durations
 * are differences mod 2^31). The fairness rule (invariant 4) and query()'s waitingMs read it.
 */
const originMs = performance.timeOrigin;
const sinceOrigin: () => number = performance.now.bind(performance);
export function nowStamp(): number {
  return Math.floor(originMs + sinceOrigin()) % 0x7fff_ffff;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * This thread's outstanding fast holds per table (`LockTable.#fastOut`), by the table's identity
 * (H_FAST_ID) and capacity: every view of one table in this thread shares one array, also views
 * made from a cloned handle (another SharedArrayBuffer object for the same memory) and views of
 * another copy of sablock loaded in the same thread (the ESM and CJS builds), hence a registry on
 * `globalThis` and a key read from the shared memory, not the buffer object.
 */
function fastOutOf(a: Int32Array, base: number, capacity: number): Uint8Array {
  let id = Atomics.load(a, base + H_FAST_ID);
  if (id === 0) {
    const mine = (Math.random() * 0x7fff_ffff) | 0 || 1;
    // Set once, by the first view: every later view of the table reads the same identity.
    id = Atomics.compareExchange(a, base + H_FAST_ID, 0, mine) || mine;
  }
  const g = globalThis as { [FAST_OUT]?: Map<string, Uint8Array> };
  const reg = (g[FAST_OUT] ??= new Map());
  const key = `${id}:${capacity}`;
  let out = reg.get(key);
  if (out === undefined) reg.set(key, (out = new Uint8Array(capacity)));
  return out;
}
const FAST_OUT = Symbol.for('sablock:fast-out:v1');

/** One thread's view of a table: offsets precomputed, no per-call allocation. */
export class LockTable {
  readonly a: Int32Array;
  readonly u8: Uint8Array;
  readonly base: number;
  readonly capacity: number;
  /** Strict FIFO (the header's H_FIFO, fixed when the table was made), else eventual fairness. */
  readonly fifo: boolean;
  readonly holderCapacity: number;
  readonly nameBytes: number;
  readonly bucketMask: number;
  readonly entryWords: number;
  readonly #fullKeys: boolean;
  readonly #buckets: number;
  readonly #entries: number;
  readonly #records: number;
  /** Word index of partition 0's undo journal (partition p's: + JOURNAL_WORDS × p). */
  readonly #journals: number;
  /** The journal of the partition this thread writes under (`lockPartition`, `markWriting`); −1: none. */
  #jw = -1;
  /** Pairs this thread has logged there (J_LEN, kept here to spare a shared load per store). */
  #jn = 0;
  /** Strong counters to lower once the update commits (`#commit`): (counter, n) pairs, `#nLowered` numbers used. */
  readonly #lowered: number[] = [];
  #nLowered = 0;
  /** The fast-path region (strong counters, owner groups) after the records (`fastpath.ts`). */
  readonly fp: FastPath;
  /** Web Locks' table: entries left without records reopen their fast word ("Fast words"). */
  fastWords = false;
  /** Entries whose last record left in the current critical section: (entry, journal) pairs, `#nReopen` numbers used. */
  readonly #reopen: number[] = [];
  #nReopen = 0;
  /** Per entry, 1 while this thread holds it through its fast word or has not released such a hold yet; shared by its views of one table. */
  readonly #fastOut: Uint8Array;

  constructor(a: Int32Array, base: number, s: TableShape) {
    this.a = a;
    this.u8 = new Uint8Array(a.buffer);
    this.base = base;
    this.capacity = s.capacity;
    this.holderCapacity = s.holderCapacity;
    this.fifo = s.fifo;
    this.nameBytes = s.nameBytes & ~3;
    const buckets = bucketCountFor(s.capacity);
    this.bucketMask = buckets - 1;
    this.entryWords = entryWordsFor(this.nameBytes);
    this.#fullKeys = s.hashBits === 64;
    this.#buckets = base + HEADER_WORDS;
    this.#entries = this.#buckets + buckets;
    this.#records = this.#entries + s.capacity * this.entryWords;
    this.fp = new FastPath(a, this.#records + s.holderCapacity * RECORD_WORDS, this.nameBytes, this.#fullKeys, (b, n) =>
      this.writeNameAt(b, n),
    );
    this.#journals = this.#records + s.holderCapacity * RECORD_WORDS + fastPathWords(this.nameBytes);
    this.#fastOut = fastOutOf(a, base, s.capacity);
  }

  // ---- addressing ----------------------------------------------------------------------------

  /** Word index of entry `e`'s first word. */
  e(e: number): number {
    return this.#entries + e * this.entryWords;
  }
  /** Word index of record `r`'s first word. */
  r(r: number): number {
    return this.#records + r * RECORD_WORDS;
  }
  bucketOf(lo: number): number {
    return lo & this.bucketMask;
  }
  partitionOf(lo: number): number {
    return lo & this.bucketMask & (PARTITIONS - 1);
  }
  seqIndex(e: number): number {
    return this.e(e) + E_SEQ;
  }

  // ---- partition and allocator locks (raw mutex words) ----------------------------------------

  lockPartition(p: number): void {
    const stripe = this.base + H_STRIPES + STRIPE_WORDS * p;
    lockWord(this.a, stripe + S_LOCK, OWNER_ID, PARTITION_POLICY, `LockManager partition ${p}`, () => this.#recover(p, stripe));
    this.#writeUnder(p);
  }
  unlockPartition(p: number): void {
    const j = this.#journals + JOURNAL_WORDS * p;
    this.#commit(j);
    if (this.#jw === j) this.#jw = -1;
    unlockWord(this.a, this.base + H_STRIPES + STRIPE_WORDS * p + S_LOCK, OWNER_ID);
  }
  /**
   * The update journaled at `j` (a partition's journal) is whole: empties the journal (nothing
   * to undo from here on; the unlock publishes the store), then lowers the strong counters the
   * update released.
   */
  #commit(j: number): void {
    if (this.a[j] !== 0) this.a[j] = 0;
    if (this.#jw === j) this.#jn = 0;
    if (this.#nReopen !== 0) this.#reopenFast(j);
    const n = this.#nLowered;
    if (n === 0) return;
    this.#nLowered = 0;
    const low = this.#lowered;
    // Only now, when no undo can bring the holds back: a weak request that reads a lowered
    // counter takes the fast path at once (a review found an undone X beside a fast IX).
    for (let k = 0; k < n; k += 2) this.fp.strongEnd(low[k]!, low[k + 1]!);
  }
  /**
   * After the commit of journal j: entries of that partition whose last record left reopen their
   * fast word (nothing can bring the records back now). Entries of other partitions (under
   * `lockAll`) wait for their own commit.
   */
  #reopenFast(j: number): void {
    const a = this.a;
    const list = this.#reopen;
    let keep = 0;
    for (let k = 0; k < this.#nReopen; k += 2) {
      const e = list[k]!;
      if (list[k + 1] !== j) {
        list[keep] = e;
        list[keep + 1] = list[k + 1]!;
        keep += 2;
        continue;
      }
      const w = this.e(e);
      // Still without records (a later request of the same section may have added one), still
      // CLOSED (only a lock holder moves it from CLOSED) and still linked (a later step of the same
      // section may have freed it: an OPEN free entry would let a stale fast taker in): fast takes
      // may claim it from now on.
      if (a[w + E_HEAD] === 0 && Atomics.load(a, w + E_FAST) === FAST_CLOSED && this.findEntry(a[w + E_KEY_LO]!, a[w + E_KEY_HI]!) === e) {
        Atomics.store(a, w + E_FAST, FAST_OPEN);
      }
    }
    this.#nReopen = keep;
  }
  /**
   * Stores from now on are journaled in partition p's journal (whose lock this thread holds).
   * Its length is read back rather than assumed 0: under `lockAll`, `markWriting` may come back
   * to a partition this thread already wrote in the same pass.
   */
  #writeUnder(p: number): void {
    const j = this.#journals + JOURNAL_WORDS * p;
    if (this.#jw === j) return;
    this.#jw = j;
    const len = this.a[j]!;
    this.#jn = len === JOURNAL_FULL ? JOURNAL_PAIRS + 1 : len;
  }
  /**
   * We took over partition p's lock from a holder that died (OWNER_DIED): whether the partition
   * is whole now. A read-only holder tore nothing; otherwise its half-done update is undone from
   * the journal, newest store first ("Undo journal"). False only for an overflowed journal.
   */
  #recover(p: number, stripe: number): boolean {
    if (this.#diedReading(stripe)) return true;
    const a = this.a;
    const j = this.#journals + JOURNAL_WORDS * p;
    const n = a[j]!;
    if (n === JOURNAL_FULL) return false;
    for (let k = n - 1; k >= 0; k--) {
      const x = a[j + 1 + 2 * k]!;
      // A tagged pair (~index) is a fast word's close: undone only if that CAS happened (the word
      // is CLOSED, which only a lock holder sets); else the fast path owns the word ("Fast words").
      if (x < 0) Atomics.compareExchange(a, ~x, FAST_CLOSED, a[j + 2 + 2 * k]!);
      // Some of these words are read without the lock (R_OWNER, R_ENTRY, R_WAIT): restore with Atomics.
      else Atomics.store(a, x, a[j + 2 + 2 * k]!);
    }
    a[j] = 0;
    return true;
  }
  /** Stores `v` at word `i` of the partition being written, journaling the old value first. */
  #set(i: number, v: number): void {
    const a = this.a;
    this.#log(a, i, a[i]!);
    a[i] = v;
  }
  /** `#set` for a word that other threads read without the partition lock (with Atomics). */
  #setAtomic(i: number, v: number): void {
    this.#log(this.a, i, this.a[i]!);
    // Readers outside the lock (releaseOwnerRecords' scan; a waiter's R_WAIT) use Atomics.
    Atomics.store(this.a, i, v);
  }
  /**
   * Appends the pair (x, v) to the current journal. Plain stores suffice: only a thread that has
   * seen this one dead reads them, and a thread's death is published after it stopped (so every
   * store it made is visible); what matters is that the pair precedes, in program order, the
   * store it undoes, and J_LEN counts it before that store.
   */
  #log(a: Int32Array, x: number, v: number): void {
    const j = this.#jw;
    // Every caller holds a partition lock (so #jw is set); never log at a negative base anyway.
    if (j < 0) return;
    const n = this.#jn;
    if (n < JOURNAL_PAIRS) {
      a[j + 1 + 2 * n] = x;
      a[j + 2 + 2 * n] = v;
      a[j] = n + 1;
    } else if (n === JOURNAL_PAIRS) {
      a[j] = JOURNAL_FULL; // no room: this update can no longer be undone
    }
    this.#jn = n + 1;
  }
  /**
   * Takes back the pair `#log` appended last, for a store that did not happen (a fast word's CAS
   * that failed). A death before this leaves the pair, whose undo then finds the word not CLOSED
   * and does nothing (#recover).
   */
  #unlog(a: Int32Array): void {
    const j = this.#jw;
    if (j < 0) return;
    const n = this.#jn - 1; // the length before that pair
    this.#jn = n;
    // That pair was recorded (or was the one that overflowed): the journal is n pairs long again.
    if (n <= JOURNAL_PAIRS) a[j] = n;
  }
  /** After a takeover of a stripe's lock: was its dead holder on a read-only pass? (S_READER) */
  #diedReading(stripe: number): boolean {
    const r = Atomics.load(this.a, stripe + S_READER);
    if (r === 0 || !isDeadOwner(r)) return false;
    // The mark names the dead holder (only a holder sets it, and clears it before it changes or
    // releases anything): we hold the lock now, so the mark is ours to clear.
    Atomics.store(this.a, stripe + S_READER, 0);
    return true;
  }
  /** Takes partition p's lock for a read-only pass (S_READER); release with `unlockPartitionRead`. */
  lockPartitionRead(p: number): void {
    this.lockPartition(p);
    // Nothing will change here until markWriting: a death from now on tears nothing.
    Atomics.store(this.a, this.base + H_STRIPES + STRIPE_WORDS * p + S_READER, OWNER_ID);
  }
  /**
   * Takes every partition lock, ascending (the only code that holds two partition locks);
   * `readOnly`: marks them S_READER (see there). Refused: holds none (stripes.ts `lockInOrder`).
   */
  lockAll(readOnly = false): void {
    const lock = readOnly ? (p: number): void => this.lockPartitionRead(p) : (p: number): void => this.lockPartition(p);
    lockInOrder(PARTITIONS, lock, (p) => this.unlockPartitionRead(p));
  }
  unlockAll(): void {
    unlockInOrder(PARTITIONS, (p) => this.unlockPartitionRead(p));
  }
  /** Releases a partition lock that may carry a read-only mark. */
  unlockPartitionRead(p: number): void {
    // Clear a read-only mark before the release: from then on another thread may hold the lock.
    this.markWriting(p);
    this.unlockPartition(p);
  }
  /** About to change partition p under `lockAll(true)`: a death from here on may tear it. */
  markWriting(p: number): void {
    Atomics.store(this.a, this.base + H_STRIPES + STRIPE_WORDS * p + S_READER, 0);
    this.#writeUnder(p);
  }
  #lockAlloc(): void {
    // Taken inside a partition lock only: partition → allocator is the one allowed nesting. A
    // dead holder left the pools whole unless it was draining ("Undo journal": H_DRAIN).
    lockWord(this.a, this.base + H_ALLOC_LOCK, OWNER_ID, PARTITION_POLICY, 'LockManager allocator', () => Atomics.load(this.a, this.base + H_DRAIN) === 0);
  }
  #unlockAlloc(): void {
    unlockWord(this.a, this.base + H_ALLOC_LOCK, OWNER_ID);
  }

  /**
   * Takes an entry (records: `rec`) index for partition `p` (whose lock the caller holds): from
   * the partition's free list, else the global free list, else the bump pointer; -1 when full.
   */
  #alloc(p: number, rec: boolean): number {
    const a = this.a;
    const local = this.base + H_STRIPES + STRIPE_WORDS * p + S_ENTRY_FREE + (rec ? 1 : 0);
    const lhead = a[local]!;
    if (lhead !== 0) {
      // Partition-local free list: guarded by the partition lock we hold, no allocator lock.
      this.#set(local, a[this.#nextIndex(lhead - 1, rec)]!);
      return lhead - 1;
    }
    const free = this.base + (rec ? H_REC_FREE : H_ENTRY_FREE);
    const bump = this.base + (rec ? H_REC_BUMP : H_ENTRY_BUMP);
    const limit = rec ? this.holderCapacity : this.capacity;
    this.#lockAlloc();
    let k = -1;
    const head = a[free]!;
    if (head !== 0) {
      k = head - 1;
      // One store: whole even if we die next (the pools are not journaled, see "Undo journal").
      a[free] = a[this.#nextIndex(k, rec)]!;
    } else if (a[bump]! < limit) {
      k = a[bump]!;
      // Atomics: recordBump() reads it without the allocator lock (releaseOwnerRecords' scan bound).
      Atomics.store(a, bump, k + 1);
    }
    this.#unlockAlloc();
    return k;
  }
  /** Puts index k on partition p's free list (caller holds p's lock). */
  #free(p: number, rec: boolean, k: number): void {
    const a = this.a;
    const local = this.base + H_STRIPES + STRIPE_WORDS * p + S_ENTRY_FREE + (rec ? 1 : 0);
    this.#set(this.#nextIndex(k, rec), a[local]!);
    this.#set(local, k + 1);
  }
  #nextIndex(k: number, rec: boolean): number {
    return rec ? this.r(k) + R_NEXT : this.e(k) + E_NEXT;
  }

  /**
   * Moves every partition's free entries and records to the global free lists, so that any
   * partition can allocate them. Caller holds no partition lock (takes each in turn, then the
   * allocator lock inside it: the allowed nesting). Called when an allocation found nothing.
   */
  drainFreeLists(): void {
    const a = this.a;
    for (let p = 0; p < PARTITIONS; p++) {
      this.lockPartition(p);
      try {
        this.#lockAlloc(); // may be refused (lockWord): then partition p is given back below
      } catch (e) {
        this.unlockPartition(p);
        throw e;
      }
      // Several stores to the global pools from here: a death before the clear below refuses the allocator.
      Atomics.store(a, this.base + H_DRAIN, OWNER_ID);
      for (let rec = 0; rec < 2; rec++) {
        const local = this.base + H_STRIPES + STRIPE_WORDS * p + S_ENTRY_FREE + rec;
        const head = a[local]!;
        if (head === 0) continue;
        let tail = head - 1;
        for (let next = a[this.#nextIndex(tail, rec === 1)]!; next !== 0; next = a[this.#nextIndex(tail, rec === 1)]!) tail = next - 1;
        const free = this.base + (rec === 1 ? H_REC_FREE : H_ENTRY_FREE);
        this.#set(this.#nextIndex(tail, rec === 1), a[free]!);
        a[free] = head;
        this.#set(local, 0);
      }
      this.#sweepEmptyEntries(p);
      // Commit p's part first, while H_DRAIN still refuses a takeover of the allocator: the global
      // lists now hold these indices, so undoing p's stores once the mark is gone would list
      // them twice (found by a review, test/robust/table-journal.test.ts).
      this.#commit(this.#journals + JOURNAL_WORDS * p);
      // The pools are whole again.
      Atomics.store(a, this.base + H_DRAIN, 0);
      this.#unlockAlloc();
      this.unlockPartition(p);
    }
  }

  /** Unlinks partition p's empty (cached) entries onto the global free list (both locks held). */
  #sweepEmptyEntries(p: number): void {
    const a = this.a;
    const free = this.base + H_ENTRY_FREE;
    for (let b = p; b <= this.bucketMask; b += PARTITIONS) {
      let at = this.#buckets + b;
      while (a[at] !== 0) {
        const e = a[at]! - 1;
        const w = this.e(e);
        if (a[w + E_HEAD] === 0 && this.#retire(w + E_FAST)) {
          this.#set(at, a[w + E_NEXT]!);
          this.#set(w + E_NEXT, a[free]!);
          a[free] = e + 1;
        } else {
          at = w + E_NEXT;
        }
      }
    }
  }

  /**
   * Before an empty entry is freed: its fast word OPEN → CLOSED, so no fast take can claim it
   * once it is free (or made for another name). False if a fast holder has it: it stays linked.
   */
  #retire(i: number): boolean {
    const a = this.a;
    const v = Atomics.load(a, i);
    if (v === FAST_CLOSED) return true;
    if (v !== FAST_OPEN) return false;
    // Tagged: an undo puts OPEN back only if this CAS happened (see #recover).
    this.#log(a, ~i, v);
    // A fast take may claim it first: then it stays (and the pair goes: that store never happened).
    if (Atomics.compareExchange(a, i, FAST_OPEN, FAST_CLOSED) === FAST_OPEN) return true;
    this.#unlog(a);
    return false;
  }

  // ---- fast words (Web Locks; see "Fast words") --------------------------------------------------

  /**
   * Closes entry e's fast word (caller holds its partition lock and writes): the table decides
   * from here on, and a fast holder's hold becomes its record (owner and home: its thread owner
   * id; X). False, with nothing changed, if no record was left for it (capacity).
   */
  closeFast(e: number): boolean {
    const a = this.a;
    const w = this.e(e);
    const i = w + E_FAST;
    for (;;) {
      // Fast takes and releases change it without the lock: read it for the CAS below.
      const v = Atomics.load(a, i);
      if (v === FAST_CLOSED) return true;
      // Logged before the CAS, tagged: if this thread dies after it, the undo CASes v back.
      this.#log(a, ~i, v);
      // Takes the word from the fast path; a fast take or release in between fails it: look again
      // (without the pair: its store never happened, and a busy word must not fill the journal).
      if (Atomics.compareExchange(a, i, v, FAST_CLOSED) !== v) {
        this.#unlog(a);
        continue;
      }
      if (v === FAST_OPEN) return true;
      // An X hold counts in its key's strong counter (fastpath.ts invariant 6), as requests.ts
      // raises it for every strong request; the record's ungrant lowers it.
      const ctr = strongIndex(a[w + E_KEY_LO]!, a[w + E_KEY_HI]!);
      this.fp.strongBegin(ctr);
      const r = this.createRecord(e, v, v, Atomics.load(a, w + E_ORDER));
      if (r < 0) {
        this.fp.strongEnd(ctr, 1);
        // Nothing was linked: the holder keeps its word (the logged pair's CAS then finds it not CLOSED).
        Atomics.store(a, i, v);
        return false;
      }
      this.grant(e, r, X);
      return true;
    }
  }

  /**
   * Takes entry e (the name of key lo, hi, as this thread last saw it) in X through its fast word;
   * false if it is not OPEN (the caller goes through the table).
   */
  fastTake(e: number, lo: number, hi: number): boolean {
    const a = this.a;
    const w = this.e(e);
    const i = w + E_FAST;
    const out = this.#fastOut;
    if (out[e] !== 0) return false; // an earlier fast hold of this entry is not released yet
    // Claims the entry for this thread; a holder, or the table, there fails it.
    if (Atomics.compareExchange(a, i, FAST_OPEN, OWNER_ID) !== FAST_OPEN) return false;
    out[e] = 1;
    // The key is fixed while the word is not CLOSED: an entry swept and made for another name since
    // the caller cached it is given back. Plain reads: the key was written before the reopening
    // Atomics.store that this CAS read, so it happens before them.
    const klo = a[w + E_KEY_LO]!;
    const khi = a[w + E_KEY_HI]!;
    if (klo !== lo || khi !== hi) {
      // Given back under the key it has: a request of that name may have made the hold a record.
      this.fastRelease(e, klo, khi);
      return false;
    }
    // Its place in grant order (query(), and the record a close makes). A close that reads this
    // word before the store orders the hold as the entry's previous fast hold: a little early.
    Atomics.store(a, w + E_ORDER, this.nextTicket());
    return true;
  }

  /**
   * Gives back this thread's fast hold of entry e (key lo, hi). False if the hold was gone (a
   * steal took it after a close made it a record): nothing of a later holder's is freed.
   */
  fastRelease(e: number, lo: number, hi: number): boolean {
    const a = this.a;
    const i = this.e(e) + E_FAST;
    try {
      // Still only in the word: OPEN again, and nobody waits (a waiter would have closed it).
      if (Atomics.compareExchange(a, i, OWNER_ID, FAST_OPEN) === OWNER_ID) return true;
      return this.#releaseMoved(e, lo, hi);
    } finally {
      this.#fastOut[e] = 0;
    }
  }

  /** fastRelease of a hold a close moved into the table (a record of this thread's owner id). */
  #releaseMoved(e: number, lo: number, hi: number): boolean {
    const p = this.partitionOf(lo);
    this.lockPartition(p);
    try {
      if (this.findEntry(lo, hi) !== e) return false; // robbed, and the entry freed since (#movedRecord)
      // The word is this thread's again (a close undone after its closer died, or given back by a
      // close that found no record): no record stands for the hold, and none can appear while this
      // thread holds the lock, so the entry is free: OPEN (one store, nothing to journal).
      if (Atomics.compareExchange(this.a, this.e(e) + E_FAST, OWNER_ID, FAST_OPEN) === OWNER_ID) return true;
      const r = this.#movedRecord(e, lo, hi);
      if (r < 0) return false;
      this.ungrant(e, r, X, this.a[this.r(r) + R_COUNT + X]!);
      this.tidy(e, r);
      return true;
    } finally {
      this.unlockPartition(p);
    }
  }

  /** Does this thread still hold entry e (key lo, hi) through its fast hold (not robbed by a steal)? */
  fastHolds(e: number, lo: number, hi: number): boolean {
    const a = this.a;
    // In the word: held (this thread has one fast hold per entry at most).
    if (Atomics.load(a, this.e(e) + E_FAST) === OWNER_ID) return true;
    const p = this.partitionOf(lo);
    this.lockPartitionRead(p); // a read-only look (S_READER)
    try {
      if (this.findEntry(lo, hi) !== e) return false; // robbed, and the entry freed since
      // Again under the lock: a close seen above may have been undone or given back since.
      if (Atomics.load(a, this.e(e) + E_FAST) === OWNER_ID) return true;
      return this.#movedRecord(e, lo, hi) >= 0;
    } finally {
      this.unlockPartitionRead(p);
    }
  }

  /**
   * This thread's record holding X on entry e, the name of key (lo, hi), where a close moved its
   * fast hold; -1 if the hold is gone (a steal took it). Caller holds the partition lock. Robbed
   * and the entry freed since (maybe made for another name, under another partition's lock): only
   * the name's own entry, linked under this lock, can still hold the record.
   */
  #movedRecord(e: number, lo: number, hi: number): number {
    if (this.findEntry(lo, hi) !== e) return -1;
    const r = this.findRecord(e, OWNER_ID);
    return r >= 0 && (this.a[this.r(r) + R_HOLD]! & (1 << X)) !== 0 ? r : -1;
  }

  /** The entry of key (lo, hi), or -1 (takes the partition lock for a read-only look). */
  lookupEntry(lo: number, hi: number): number {
    const p = this.partitionOf(lo);
    this.lockPartitionRead(p);
    try {
      return this.findEntry(lo, hi);
    } finally {
      this.unlockPartitionRead(p);
    }
  }

  /**
   * After a failed fast take: may the caller's cached entry e of key (lo, hi) be stale (recycled for
   * another name, or swept and freed: CLOSED with no record)? A racy hint: the caller looks the
   * entry up again next time.
   */
  fastStale(e: number, lo: number, hi: number): boolean {
    const a = this.a;
    const w = this.e(e);
    // Racy reads without the lock (a hint): the key, then the word and the record list.
    if (Atomics.load(a, w + E_KEY_LO) !== lo || Atomics.load(a, w + E_KEY_HI) !== hi) return true;
    return Atomics.load(a, w + E_FAST) === FAST_CLOSED && a[w + E_HEAD] === 0;
  }

  /** Entry e's fast holder (a thread owner id), or 0 (read-only passes: query()). */
  fastHolder(e: number): number {
    // Written without the lock by fast takes and releases: one atomic read.
    const v = Atomics.load(this.a, this.e(e) + E_FAST);
    return v > 0 ? v : 0;
  }
  /** The fast holder's grant-order ticket (see `fastTake`). */
  fastOrder(e: number): number {
    // Stored by the fast holder without the lock, after its take.
    return Atomics.load(this.a, this.e(e) + E_ORDER);
  }

  // ---- entries (caller holds the partition lock) ----------------------------------------------

  findEntry(lo: number, hi: number): number {
    const a = this.a;
    let link = a[this.#buckets + this.bucketOf(lo)]!;
    while (link !== 0) {
      const e = link - 1;
      const w = this.e(e);
      if (a[w + E_KEY_LO] === lo && a[w + E_KEY_HI] === hi) return e;
      link = a[w + E_NEXT]!;
    }
    return -1;
  }

  /** Creates the entry for a key (not present); -1 if the pool is empty. */
  createEntry(lo: number, hi: number, name: string): number {
    const e = this.#alloc(this.partitionOf(lo), false);
    if (e < 0) return -1;
    const a = this.a;
    const w = this.e(e);
    // A partition's free list is LIFO, so a resource locked and released over and over gets its
    // own entry back, name and all: skip rewriting the name (unless keys are truncated, when two
    // paths may share a key but not a name).
    const sameName = this.#fullKeys && a[w + E_KEY_LO] === lo && a[w + E_KEY_HI] === hi;
    // Unreachable until linked below, so not journaled ("Undo journal"): an undone creation
    // leaves the entry on its free list with these fields, which mean nothing there. Only the
    // key must always match the name beside it (sameName above): while the name is rewritten
    // the key is (0, 0), which no resource has but by a 2^-64 chance.
    if (!sameName) {
      a[w + E_KEY_LO] = 0;
      a[w + E_KEY_HI] = 0;
      this.writeNameAt((this.e(e) + E_NAME) * 4, name);
    }
    a[w + E_KEY_LO] = lo;
    a[w + E_KEY_HI] = hi;
    a[w + E_HEAD] = 0;
    a[w + E_WAITING] = 0;
    for (let m = 0; m < MODE_COUNT; m++) a[w + E_GRANTED + m] = 0;
    // E_SEQ is never reset: a stale sleeper from the entry's previous life must see it move.
    const b = this.#buckets + this.bucketOf(lo);
    this.#set(w + E_NEXT, a[b]!);
    this.#set(b, e + 1);
    return e;
  }

  /** Unlinks and frees the entry if no record is left on it (invariant 3). */
  freeEntryIfEmpty(e: number): void {
    const a = this.a;
    const w = this.e(e);
    if (a[w + E_HEAD] !== 0) return;
    let at = this.#buckets + this.bucketOf(a[w + E_KEY_LO]!);
    while (a[at] !== e + 1) at = this.e(a[at]! - 1) + E_NEXT;
    this.#set(at, a[w + E_NEXT]!);
    this.#free(this.partitionOf(a[w + E_KEY_LO]!), false, e);
  }

  /** Writes `name` as zero-padded UTF-8 into the `nameBytes` bytes at byte `start` (entries, fast-path slots). */
  writeNameAt(start: number, name: string): void {
    const n = this.nameBytes;
    if (n === 0) return;
    const u8 = this.u8;
    if (name.length <= n) {
      // Common case, short ASCII: copy bytes directly (no subarray, no encoder).
      let k = 0;
      for (; k < name.length; k++) {
        const c = name.charCodeAt(k);
        if (c >= 0x80) break;
        u8[start + k] = c;
      }
      if (k === name.length) {
        if (k < n) u8.fill(0, start + k, start + n);
        return;
      }
    }
    const dst = u8.subarray(start, start + n);
    dst.fill(0);
    const r = encoder.encodeInto(name, dst);
    if (r.read < name.length && n >= 4) {
      // Truncated: end with an ellipsis (3 bytes) so readers can tell.
      dst.fill(0);
      const r2 = encoder.encodeInto(name, dst.subarray(0, n - 3));
      dst.set([0xe2, 0x80, 0xa6], r2.written);
    }
  }

  /** The stored name of an entry (the first path that created it), or '' if names are off. */
  nameOf(e: number): string {
    return this.nameAt((this.e(e) + E_NAME) * 4);
  }

  /** The name stored at byte `start` (see `writeNameAt`), or '' if names are off. */
  nameAt(start: number): string {
    let end = start;
    const stop = start + this.nameBytes;
    while (end < stop && this.u8[end] !== 0) end++;
    // slice() copies out of the shared buffer: TextDecoder refuses shared views.
    return decoder.decode(this.u8.slice(start, end));
  }

  keyLo(e: number): number {
    return this.a[this.e(e) + E_KEY_LO]!;
  }
  keyHi(e: number): number {
    return this.a[this.e(e) + E_KEY_HI]!;
  }

  // ---- records (caller holds the partition lock) ----------------------------------------------

  findRecord(e: number, owner: number): number {
    const a = this.a;
    let link = a[this.e(e) + E_HEAD]!;
    while (link !== 0) {
      const r = link - 1;
      if (a[this.r(r) + R_OWNER] === owner) return r;
      link = a[this.r(r) + R_NEXT]!;
    }
    return -1;
  }

  /**
   * Creates an idle record of `owner` (an async task of thread `home`, or 0) on entry `e`, its
   * grant order `order` (0: drawn now); -1 if the pool is empty.
   */
  createRecord(e: number, owner: number, home = 0, order = 0): number {
    const r = this.#alloc(this.partitionOf(this.keyLo(e)), true);
    if (r < 0) return -1;
    const a = this.a;
    const w = this.r(r);
    // Unreachable until linked below: not journaled ("Undo journal").
    a[w + R_HOLD] = 0;
    a[w + R_WAIT] = 0;
    a[w + R_TICKET] = 0;
    a[w + R_SINCE] = 0;
    a[w + R_HOME] = home;
    a[w + R_BLOCKS] = 0;
    // An async task's request (one record, one request) keeps its place in request order.
    a[w + R_ORDER] = home === 0 ? 0 : order !== 0 ? order : this.nextTicket();
    for (let m = 0; m < MODE_COUNT; m++) a[w + R_COUNT + m] = 0;
    this.#set(w + R_NEXT, a[this.e(e) + E_HEAD]!);
    this.#set(this.e(e) + E_HEAD, r + 1);
    // R_OWNER and R_ENTRY last, with Atomics: releaseOwnerRecords reads them without the lock.
    this.#setAtomic(w + R_OWNER, owner);
    this.#setAtomic(w + R_ENTRY, e + 1);
    return r;
  }

  /**
   * `owner`'s record on the entry of key (lo, hi), creating the entry (named `name`) and the
   * record if need be. Returns the record (its entry: `entryOf(r)`), or NO_ENTRY / NO_RECORD when
   * that pool is empty; a new entry is freed again then, so nothing is left half-made.
   */
  findOrCreateRecord(lo: number, hi: number, owner: number, name: string, home = 0): number {
    let e = this.findEntry(lo, hi);
    if (e < 0) {
      e = this.createEntry(lo, hi, name);
      if (e < 0) return NO_ENTRY;
    } else if (!this.closeFast(e)) {
      return NO_RECORD; // a fast holder's record did not fit
    }
    let r = this.findRecord(e, owner);
    if (r < 0) {
      r = this.createRecord(e, owner, home);
      if (r < 0) {
        this.freeEntryIfEmpty(e);
        return NO_RECORD;
      }
    }
    return r;
  }

  /** The entry record `r` belongs to. */
  entryOf(r: number): number {
    return this.a[this.r(r) + R_ENTRY]! - 1;
  }

  /** Unlinks and frees record `r` if it neither holds nor waits (invariant 3). */
  freeRecordIfIdle(e: number, r: number): void {
    const a = this.a;
    const w = this.r(r);
    if (a[w + R_HOLD] !== 0 || a[w + R_WAIT] !== 0) return;
    let at = this.e(e) + E_HEAD;
    while (a[at] !== r + 1) at = this.r(a[at]! - 1) + R_NEXT;
    this.#set(at, a[w + R_NEXT]!);
    // Mark free for releaseOwnerRecords' racy scan before the record can be reused.
    this.#setAtomic(w + R_OWNER, 0);
    this.#setAtomic(w + R_ENTRY, 0);
    this.#free(this.partitionOf(this.keyLo(e)), true, r);
    if (this.fastWords && a[this.e(e) + E_HEAD] === 0) {
      // Its last record left: the fast word reopens once this update commits ("Fast words").
      const k = this.#nReopen;
      this.#reopen[k] = e;
      this.#reopen[k + 1] = this.#jw;
      this.#nReopen = k + 2;
    }
  }

  /**
   * Web Locks' `steal`: takes every hold on entry `e` away from the records other than `r` (their
   * queued waits stay), waking the entry's waiters (invariant 5, through `ungrant`). Returns the
   * robbed records' (R_OWNER, R_HOME) pairs, flattened. Their owners' later releases find no
   * record and do nothing.
   */
  stealHolds(e: number, r: number): number[] {
    const a = this.a;
    const robbed: number[] = [];
    let link = a[this.e(e) + E_HEAD]!;
    while (link !== 0) {
      const q = link - 1;
      const w = this.r(q);
      link = a[w + R_NEXT]!; // read before tidy() may unlink q
      if (q === r || a[w + R_HOLD] === 0) continue;
      robbed.push(a[w + R_OWNER]!, a[w + R_HOME]!);
      for (let m = 0; m < MODE_COUNT; m++) this.ungrant(e, q, m, a[w + R_COUNT + m]!);
      this.tidy(e, q);
    }
    return robbed;
  }

  /** Frees record `r` if it became idle; the entry stays cached even if empty (invariant 3). */
  tidy(e: number, r: number): void {
    this.freeRecordIfIdle(e, r);
  }

  // ---- granting (caller holds the partition lock) ---------------------------------------------

  /** Mask of the modes held on `e` by owners other than record `r`'s (via E_GRANTED, O(1)). */
  othersHeld(e: number, r: number): number {
    const a = this.a;
    const w = this.e(e);
    const mine = a[this.r(r) + R_HOLD]!;
    let mask = 0;
    for (let m = 0; m < MODE_COUNT; m++) {
      const n = a[w + E_GRANTED + m]! - ((mine >> m) & 1);
      if (n > 0) mask |= 1 << m;
    }
    return mask;
  }

  /** Number of records other than `r` waiting on entry `e`. */
  othersWaiting(e: number, r: number): number {
    const a = this.a;
    return a[this.e(e) + E_WAITING]! - (a[this.r(r) + R_WAIT] !== 0 ? 1 : 0);
  }

  /** Invariant 4: can record `r` (of `owner`) be granted `mode` now? */
  grantable(e: number, r: number, mode: number): boolean {
    if (conflicts(mode, this.othersHeld(e, r))) return false;
    const a = this.a;
    const wr = this.r(r);
    if (a[wr + R_HOLD] !== 0) return true; // a conversion does not queue behind waiters
    const waiting = a[this.e(e) + E_WAITING]! - (a[wr + R_WAIT] !== 0 ? 1 : 0);
    if (waiting === 0) return true;
    const owner = a[wr + R_OWNER]!;
    const mine = a[wr + R_WAIT] !== 0 ? a[wr + R_TICKET]! : 0;
    let stamp = -1;
    let link = a[this.e(e) + E_HEAD]!;
    while (link !== 0) {
      const q = this.r(link - 1);
      const qm = waitedMode(a[q + R_WAIT]!);
      if (qm >= 0 && a[q + R_OWNER] !== owner && (mine === 0 || ((a[q + R_TICKET]! - mine) | 0) < 0) && conflicts(mode, 1 << qm)) {
        if (this.fifo) return false;
        // Eventual fairness: only an earlier waiter that is due holds this request back.
        if (stamp < 0) stamp = nowStamp();
        if (this.#isDue(q, stamp)) return false;
      }
      link = a[q + R_NEXT]!;
    }
    return true;
  }

  /** Has the waiting record at word index `w` waited long enough to be owed the resource (invariant 4)? */
  #isDue(w: number, stamp: number): boolean {
    return stampAge(stamp, this.a[w + R_SINCE]!) >= DUE_STAMPS;
  }

  /** Adds `n` acquisitions of `mode` to record `r` (keeps invariant 1). */
  grant(e: number, r: number, mode: number, n = 1): void {
    const a = this.a;
    const w = this.r(r);
    const held = a[w + R_HOLD]!;
    if (a[w + R_COUNT + mode] === 0) {
      this.#set(w + R_HOLD, held | (1 << mode));
      this.#set(this.e(e) + E_GRANTED + mode, a[this.e(e) + E_GRANTED + mode]! + 1);
    }
    this.#set(w + R_COUNT + mode, a[w + R_COUNT + mode]! + n);
    // Invariant 5: the owner's own queued request here just became a conversion (no longer
    // behind earlier waiters): it may be grantable now, wake it.
    if (held === 0 && a[w + R_WAIT] !== 0) this.bump(e);
  }

  /**
   * Removes up to `n` acquisitions of `mode` from record `r`. Returns true if the mode left the
   * record's hold (then waiters have been woken, invariant 5).
   */
  ungrant(e: number, r: number, mode: number, n: number): boolean {
    const a = this.a;
    const w = this.r(r);
    const had = a[w + R_COUNT + mode]!;
    const left = had - n;
    if (left > 0) {
      this.#set(w + R_COUNT + mode, left);
      // Strong acquisitions count in their key's strong counter (fastpath.ts): lower it after the
      // hold is gone from the record.
      if (isStrong(mode)) this.#strongEnd(e, n);
      return false;
    }
    if (had === 0) return false;
    this.#set(w + R_COUNT + mode, 0);
    this.#set(w + R_HOLD, a[w + R_HOLD]! & ~(1 << mode));
    this.#set(this.e(e) + E_GRANTED + mode, a[this.e(e) + E_GRANTED + mode]! - 1);
    if (isStrong(mode)) this.#strongEnd(e, had);
    this.bump(e);
    return true;
  }

  /** The next ticket of the table's one counter (never 0): request order across the whole table. */
  nextTicket(): number {
    const a = this.a;
    // One shared counter: tickets are unique and increasing across every thread.
    let ticket = (Atomics.add(a, this.base + H_TICKET, 1) + 1) | 0;
    // 0 means "no ticket": skip it when the counter wraps (same shared counter).
    if (ticket === 0) ticket = (Atomics.add(a, this.base + H_TICKET, 1) + 1) | 0;
    return ticket;
  }

  /** Queues record `r` for `mode` (`blocks`: the thread a blocking request stops, or 0); returns its ticket. */
  enqueue(e: number, r: number, mode: number, blocks = 0): number {
    const a = this.a;
    const w = this.r(r);
    // A globally unique, increasing ticket: FIFO order, and proof that this wait is still ours.
    const ticket = this.nextTicket();
    this.#set(w + R_WAIT, mode + 1);
    this.#set(w + R_TICKET, ticket);
    this.#set(w + R_SINCE, nowStamp());
    this.#set(w + R_BLOCKS, blocks);
    this.#set(this.e(e) + E_WAITING, a[this.e(e) + E_WAITING]! + 1);
    return ticket;
  }

  /**
   * Takes record `r` out of the wait queue: `granted` if it is being granted (a strong wait's
   * share of the strong counter passes to the hold), else it gave up (the share is returned).
   */
  dequeue(e: number, r: number, granted = false): void {
    const a = this.a;
    const w = this.r(r);
    const wait = a[w + R_WAIT]!;
    if (wait === 0) return;
    // A granted wait keeps its ticket: the waiter, polling later, finds its request handed over
    // (`handedTo`); a withdrawn one does not.
    if (!granted) this.#set(w + R_TICKET, 0);
    this.#set(w + R_BLOCKS, 0);
    this.#set(this.e(e) + E_WAITING, a[this.e(e) + E_WAITING]! - 1);
    if (!granted && isStrong(waitedMode(wait))) this.#strongEnd(e, 1);
    // The waiter sleeps on its own R_WAIT (invariant 8): the word moves, then it is woken, alone.
    this.#setAtomic(w + R_WAIT, 0);
    wake(a, w + R_WAIT, Infinity);
  }

  /** The word a queued request (ticket ≠ 0) sleeps on: its record's R_WAIT (invariant 8). */
  waitIndex(r: number): number {
    return this.r(r) + R_WAIT;
  }

  #strongEnd(e: number, n: number): void {
    const w = this.e(e);
    // Lowered when the update commits, never before: an undo brings the hold back, and a weak
    // request must not have taken the fast path in between ("Undo journal").
    const k = this.#nLowered;
    this.#lowered[k] = strongIndex(this.a[w + E_KEY_LO]!, this.a[w + E_KEY_HI]!);
    this.#lowered[k + 1] = n;
    this.#nLowered = k + 2;
  }

  /**
   * Was the wait with this ticket, of this owner, on entry `e`, granted by another thread's release
   * (`#handOver`) since its owner last looked? (Record `r` holds, no longer waits, and kept the ticket.)
   */
  handedTo(e: number, r: number, owner: number, ticket: number): boolean {
    const a = this.a;
    const w = this.r(r);
    return a[w + R_ENTRY] === e + 1 && a[w + R_OWNER] === owner && a[w + R_WAIT] === 0 && a[w + R_TICKET] === ticket && ticket !== 0;
  }

  /** Is record `r` still the wait with this ticket, of this owner, on entry `e`? */
  isWaiting(e: number, r: number, owner: number, ticket: number): boolean {
    const a = this.a;
    const w = this.r(r);
    return a[w + R_ENTRY] === e + 1 && a[w + R_OWNER] === owner && a[w + R_WAIT] !== 0 && a[w + R_TICKET] === ticket;
  }

  /**
   * Invariant 5: lets every sleeper on `e` re-check. Caller holds the partition lock.
   * E_SEQ bit 0 is SLEEPERS: set (under the partition lock) by every thread about to sleep on the
   * word (`seq()`). If it is clear, nobody has read the word for sleeping since the last bump, so
   * there is nothing to wake and the word need not move: a release with no waiters costs no
   * Atomics RMW and no notify.
   */
  bump(e: number): void {
    // Whatever made waiters grantable: grant them now, in FIFO order (invariant 7).
    if (this.a[this.e(e) + E_WAITING]! > 0) this.#handOver(e);
    const i = this.seqIndex(e);
    const v = Atomics.load(this.a, i);
    if ((v & SEQ_SLEEPERS) === 0) return;
    // Odd → next even value: the word moves (a sleeper on the old value returns 'not-equal')
    // and SLEEPERS is cleared in the same store. Only partition-lock holders write E_SEQ.
    Atomics.store(this.a, i, (v + 1) | 0);
    // Wake all: each re-checks its own grant rule (different modes, different queue places).
    // Always when SLEEPERS was set, even with E_WAITING at 0: a request withdrawn by releaseAll,
    // or a second request of an owner already queued here (which sleeps without a queue slot),
    // must hear it too.
    wake(this.a, i, Infinity);
  }

  /**
   * Invariant 7: grants every waiting record on `e` that the grant rule (invariant 4) allows, in
   * ticket order, as the releasing thread, before anyone else can take the resource: a release
   * hands over to the queue at once (Web Locks' "process the lock request queue"; PostgreSQL's
   * ProcLockWakeup). The waiter finds its request granted when it next polls (`handedTo`).
   * Caller holds the partition lock.
   */
  #handOver(e: number): void {
    const a = this.a;
    let waiting: number[] | undefined;
    for (let link = a[this.e(e) + E_HEAD]!; link !== 0; link = a[this.r(link - 1) + R_NEXT]!) {
      if (a[this.r(link - 1) + R_WAIT] !== 0) (waiting ??= []).push(link - 1);
    }
    if (waiting === undefined) return;
    if (waiting.length > 1) waiting.sort((x, y) => (a[this.r(x) + R_TICKET]! - a[this.r(y) + R_TICKET]!) | 0);
    // One pass in ticket order, the grant rule (invariant 4) with the earlier waiters' modes
    // gathered as it goes (`ahead`: those still waiting), instead of a walk of the queue per waiter.
    let ahead = 0;
    const stamp = this.fifo ? 0 : nowStamp();
    for (const r of waiting) {
      const w = this.r(r);
      const mode = waitedMode(a[w + R_WAIT]!);
      const conversion = a[w + R_HOLD] !== 0; // goes first: checked against holders only
      if (conflicts(mode, this.othersHeld(e, r)) || (!conversion && conflicts(mode, ahead))) {
        ahead |= 1 << mode;
        continue;
      }
      if (!this.fifo && !conversion && !this.#isDue(w, stamp)) {
        // Eventual fairness: a waiter not yet due is not handed the resource (it may be asleep, and
        // the resource would sit idle for a wake-up); it is nudged to race for it instead. The
        // nudge moves its word (a counter above the mode, invariant 8), so a waiter spinning on it
        // or about to sleep on the old value sees it; the waiters behind it that conflict with it
        // are not nudged (they count as ahead).
        this.#setAtomic(w + R_WAIT, nudgedWord(a[w + R_WAIT]!));
        // Wake it if it sleeps (alone: only its own request sleeps on its record's word).
        wake(a, w + R_WAIT, Infinity);
        ahead |= 1 << mode;
        continue;
      }
      // Its queued unit of the strong counter passes to the hold (invariant 6).
      this.dequeue(e, r, true);
      this.grant(e, r, mode);
      this.stampGrant(r);
    }
  }

  /** A queued request of an async task was granted: its hold takes its place in grant order (R_ORDER). */
  stampGrant(r: number): void {
    const w = this.r(r);
    if (this.a[w + R_HOME] !== 0) this.#set(w + R_ORDER, this.nextTicket());
  }

  /**
   * The value to sleep on: sets SLEEPERS and returns the word with it. Caller holds the partition
   * lock and sleeps on this value after unlocking.
   */
  seq(e: number): number {
    // CORRECTNESS: read and flag under the partition lock; every later bump (also under it)
    // sees the flag, moves the word and wakes, so the sleep cannot miss it.
    return Atomics.or(this.a, this.seqIndex(e), SEQ_SLEEPERS) | SEQ_SLEEPERS;
  }

  // ---- whole-table views (caller holds the partition locks it needs) --------------------------

  /** Calls fn for each entry in partition `p` that has records or a fast holder (cached empty ones skipped). */
  forEachEntryIn(p: number, fn: (e: number) => void): void {
    const a = this.a;
    for (let b = p; b <= this.bucketMask; b += PARTITIONS) {
      let link = a[this.#buckets + b]!;
      while (link !== 0) {
        const e = link - 1;
        link = a[this.e(e) + E_NEXT]!;
        if (a[this.e(e) + E_HEAD] !== 0 || Atomics.load(a, this.e(e) + E_FAST) > 0) fn(e);
      }
    }
  }

  /** Calls fn for each record on entry `e`. */
  forEachRecord(e: number, fn: (r: number) => void): void {
    const a = this.a;
    let link = a[this.e(e) + E_HEAD]!;
    while (link !== 0) {
      const r = link - 1;
      link = a[this.r(r) + R_NEXT]!;
      fn(r);
    }
  }

  field(r: number, f: number): number {
    return this.a[this.r(r) + f]!;
  }
  count(r: number, mode: number): number {
    return this.a[this.r(r) + R_COUNT + mode]!;
  }

  /** Records ever handed out (an upper bound for scans). */
  recordBump(): number {
    return Atomics.load(this.a, this.base + H_REC_BUMP);
  }

  /**
   * Releases everything `owner` holds and withdraws what it waits for (the dead-owner cleanup).
   * Returns the number of records removed. Finds candidates with racy Atomics loads, then
   * re-checks each under its partition lock: records of `owner` are only created by `owner`'s
   * own requests, which the caller guarantees are not running (the owner is dead or is us).
   */
  releaseOwnerRecords(owner: number): number {
    const a = this.a;
    let removed = 0;
    const n = this.recordBump();
    for (let r = 0; r < n; r++) {
      const w = this.r(r);
      // Racy reads to find candidates; confirmed below under the partition lock.
      if (Atomics.load(a, w + R_OWNER) !== owner) continue;
      const link = Atomics.load(a, w + R_ENTRY);
      if (link === 0) continue;
      const e = link - 1;
      const p = this.partitionOf(a[this.e(e) + E_KEY_LO]!);
      this.lockPartition(p);
      if (a[w + R_OWNER] === owner && a[w + R_ENTRY] === link && this.partitionOf(this.keyLo(e)) === p) {
        const hadWait = a[w + R_WAIT] !== 0;
        this.dequeue(e, r);
        for (let m = 0; m < MODE_COUNT; m++) this.ungrant(e, r, m, a[w + R_COUNT + m]!);
        if (hadWait) this.bump(e);
        this.tidy(e, r);
        removed++;
      }
      this.unlockPartition(p);
    }
    return removed + this.#releaseFastOf(owner);
  }

  /** releaseOwnerRecords' part for fast words: entries `owner` (a dead thread's) holds through one. */
  #releaseFastOf(owner: number): number {
    const a = this.a;
    let removed = 0;
    const n = Atomics.load(a, this.base + H_ENTRY_BUMP);
    // Fast holders are threads (owner ids below 2^28, owners.ts): no scan for a transaction or task.
    if (owner >= 0x1000_0000) return 0;
    for (let e = 0; e < n; e++) {
      const i = this.e(e) + E_FAST;
      // Racy read to find candidates; a fast word of an entry is only OWNER_ID's own, and the
      // owner runs nothing (precondition), so the word stays until the CAS below.
      if (Atomics.load(a, i) !== owner) continue;
      const p = this.partitionOf(a[this.e(e) + E_KEY_LO]!);
      this.lockPartition(p);
      // One store, no record: nothing to journal; OPEN at once (no record can come back).
      if (Atomics.compareExchange(a, i, owner, FAST_OPEN) === owner) removed++;
      this.unlockPartition(p);
    }
    return removed;
  }
}

/** Writes (first construction) or checks (later constructions) the layout words of the header. */
export function initHeader(a: Int32Array, base: number, s: TableShape): void {
  const want: [number, number][] = [
    [H_CAPACITY, s.capacity],
    [H_HOLDERS, s.holderCapacity],
    [H_NAME_BYTES, s.nameBytes + 1],
    [H_HASH_BITS, s.hashBits + 1],
    [H_FIFO, s.fifo ? 2 : 1],
  ];
  for (const [k, v] of want) {
    // 0 → v once (zeroed memory is unconfigured); an equal value means we attach to the same table.
    const prev = Atomics.compareExchange(a, base + k, 0, v);
    if (prev !== 0 && prev !== v) {
      throw new TypeError(`options: a LockManager with a different shape already lives at this byteOffset`);
    }
  }
}

/** Reads the shape a header was written with (for from()). */
export function readHeader(a: Int32Array, base: number): TableShape {
  return {
    capacity: Atomics.load(a, base + H_CAPACITY),
    holderCapacity: Atomics.load(a, base + H_HOLDERS),
    nameBytes: Atomics.load(a, base + H_NAME_BYTES) - 1,
    hashBits: Atomics.load(a, base + H_HASH_BITS) - 1,
    fifo: Atomics.load(a, base + H_FIFO) === 2,
  };
}
