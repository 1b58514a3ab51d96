/**
 * The fast path for weak locks of `LockManager`: the raw layer, index arithmetic over the lock
 * table's Int32Array.
 *
 * Design after PostgreSQL's fast-path locking (src/backend/storage/lmgr/README, "Fast Path
 * Locking"; lock.c, FastPathStrongRelationLocks): most requests are intention locks on the few
 * upper levels of the tree (every row lock takes IX on `db` and on `db/t`), and those never
 * conflict with each other. Taking them in the main table makes every worker serialize on the
 * one partition lock of `db` and of `db/t`. Instead a weak request is recorded in a per-owner-group
 * slot array that only that group's owners touch, and a request that *could* conflict with it
 * moves such slots into the main table first.
 *
 * ## Weak and strong modes (from the matrix in `modes.ts`)
 * IS conflicts only with X; IX conflicts with S, SIX, U and X. So IS and IX conflict with neither
 * IS nor IX: they are the **weak** modes. A mode is **strong** iff it conflicts with IS or IX:
 * S (IX), SIX (IX), U (IX), X (both). `STRONG_MASK` is computed from `CONFLICTS`, not typed in.
 * A fast-path hold (IS or IX) can therefore only block a strong request.
 *
 * ## Layout (Int32 words from `fpBase`, after the main table's records)
 * | words | content |
 * |---|---|
 * | 0 … K−1 | strong counters, K = 1024: counter c = strong holds + strong waits + strong requests in flight on keys with `strongIndex(key) = c` |
 * | K, K + 1 | ACTIVE: bit g of the 64-bit mask set ⇔ group g's summary is not 0 (own 64-byte line, words K … K+15) |
 * | K + 16 + g × groupWords | group g (g = owner mod G, G = 64), `groupWords = 32 + S × slotWords` |
 *
 * Group (S = 16 slots):
 * | word | name | meaning |
 * |---|---|---|
 * | 0 | G_LOCK | group lock, a raw mutex word (`raw/mutex.ts`); its own 64-byte line with G_USED |
 * | 1 | G_USED | slots ever used (scan bound), only grows |
 * | 16 | G_SUMMARY | own line: bit (c mod 32) set ⇐ a slot with counts > 0 has a key whose counter is c (a superset: cleared lazily) |
 * | 32 + s × slotWords | slot s | see below |
 *
 * Slot (`5 + nameBytes / 4` words):
 * | word | name | meaning |
 * |---|---|---|
 * | 0 | F_OWNER | owner id (0 = never used) |
 * | 1, 2 | F_LO/HI | key |
 * | 3 | F_IS | IS acquisitions held here |
 * | 4 | F_IX | IX acquisitions held here |
 * | 5… | F_NAME | resource name (UTF-8, as in entries), kept while the counts are 0 as a cache |
 *
 * ## Protocol
 * - Weak request (owner o, key k, counter c): lock group o mod G; find o's slot for k (or a slot
 *   with counts 0, or a fresh one); count +1; make sure the summary has bit c mod 32
 *   (Atomics.store); **then** Atomics.load counter c: if it is not 0, undo the count and take the
 *   main table. Unlock. A full group also falls back to the main table.
 * - Strong request: Atomics.add counter c **first**; then for every group whose summary has bit
 *   c mod 32, lock it and move every slot holding exactly key k into the main table (as the slot
 *   owner's record, with its IS and IX counts); then the main table as usual. The counter stays
 *   raised while the request waits and while it holds; the main table (`table.ts`) lowers it when
 *   the strong hold or wait leaves a record (release, timeout, abort, deadlock victim,
 *   `releaseAll`, dead owner); the requester lowers it itself if the request never reached a
 *   record (try refused, capacity error, a retry that sleeps without a queue slot).
 * - Release of a fast-path hold: lock the group; take the count from the slot if it has one, else
 *   (moved by a strong request) release through the main table.
 *
 * ## Invariants
 * 1. From the moment a strong request on key k has finished its transfer until its counter unit
 *    is given back, no slot holds k with counts > 0 (a weak request that raced with it either saw
 *    the counter and undid its count, or was moved by the transfer).
 * 2. Every fast-path hold blocks only strong requests (weak modes), and every strong request that
 *    reaches the main table has moved every slot holding its key there: so grant decisions and
 *    the waits-for graph in the main table see every hold that can block anything. The deadlock
 *    checker therefore never looks at slots.
 * 3. For each owner, key and weak mode, slot count + main record count = acquisitions held (the
 *    counts are interchangeable: a release takes from the slot first, then the record).
 * 4. Lock order: group lock → partition lock → allocator lock. Nothing takes a group lock while
 *    holding a partition lock; at most one group lock is held at a time, except by `query()`,
 *    which takes every group lock in ascending order and then every partition lock (ascending),
 *    for one consistent snapshot. That cannot deadlock: whoever holds one group lock takes no
 *    other group lock, and partition locks are only ever taken after group locks.
 *
 * ## Memory ordering
 * CORRECTNESS (the Dekker pair): the weak request stores the summary bit (Atomics.store) and then
 * loads the counter (Atomics.load); the strong request adds to the counter (Atomics.add) and then
 * loads the summary (Atomics.load). Atomics are sequentially consistent, so in the single total
 * order either the weak load comes after the add (it sees c ≠ 0 and backs off to the main table,
 * where the strong request's record is), or the weak store comes before the strong load (the
 * strong request sees the bit and takes the group lock, which the weak request holds until after
 * its check, so it then finds the slot and moves it). Both may happen; neither can be missed. The
 * slot words themselves are plain, read and written only under the group lock.
 * Clearing summary bits (a strong request recomputes the summary of a group it has locked) is safe
 * because bits are only set under that same lock. A weak release orders its critical section
 * before later strong requests through the group lock (the strong request locks the group if the
 * bit is still set, or reads a clearing store made under the lock after the release); a strong
 * release orders its critical section before later fast-path requests through the counter
 * (Atomics.sub after the release in the main table; Atomics.load in the weak request).
 */
import { OWNER_ID } from '../core/thread.js';
import { lockWord, unlockWord } from '../raw/mutex.js';
import { CONFLICTS, IS, IX, MODE_COUNT } from './modes.js';
import { lockInOrder, stripePolicy, unlockInOrder } from './stripes.js';

/** Strong-lock counters (a power of two). */
export const STRONG_COUNTERS = 1024;
/** Fast-path groups (owner mod FP_GROUPS). */
export const FP_GROUPS = 64;
/** Slots per group. */
export const FP_SLOTS = 16;

/** Words from the region start to the first group: counters, then the ACTIVE line. */
const GROUPS_AT = STRONG_COUNTERS + 16;
const ACTIVE = STRONG_COUNTERS;

const G_LOCK = 0;
const G_USED = 1;
const G_SUMMARY = 16;
const G_SLOTS = 32;

const F_OWNER = 0;
const F_LO = 1;
const F_HI = 2;
/** F_COUNT + mode for mode IS (0) and IX (1). */
const F_COUNT = 3;
const F_NAME = 5;
const SLOT_FIXED_WORDS = 5;

/** Mask of the strong modes: those that conflict with IS or IX. */
export const STRONG_MASK = (() => {
  let mask = 0;
  for (let m = 0; m < MODE_COUNT; m++) if ((CONFLICTS[m]! & ((1 << IS) | (1 << IX))) !== 0) mask |= 1 << m;
  return mask;
})();

/** True for S, SIX, U, X (see STRONG_MASK). */
export function isStrong(mode: number): boolean {
  return ((STRONG_MASK >> mode) & 1) !== 0;
}

/** Counter index of a key (0 … STRONG_COUNTERS − 1): a multiplicative mix of both halves. */
export function strongIndex(lo: number, hi: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 22;
}

export function slotWordsFor(nameBytes: number): number {
  return SLOT_FIXED_WORDS + (nameBytes >> 2);
}

function groupWordsFor(nameBytes: number): number {
  return G_SLOTS + FP_SLOTS * slotWordsFor(nameBytes);
}

/** Words of the fast-path region for a table with this many name bytes. */
export function fastPathWords(nameBytes: number): number {
  return GROUPS_AT + FP_GROUPS * groupWordsFor(nameBytes);
}

/** Group locks (stripes.ts): held for a few dozen loads and stores. */
const GROUP_POLICY = stripePolicy();

/** Where a weak request's key lives, cached per path by the caller (no hashing per request). */
export interface FastKey {
  readonly lo: number;
  readonly hi: number;
  /** strongIndex(lo, hi). */
  readonly ctr: number;
  /** Canonical text, written into a slot the first time it is used for this key. */
  readonly text: string;
  /** Slot index last used for this key by this thread (a hint; -1 = none). */
  fpSlot: number;
}

/**
 * Moves one slot's holds into the main table (caller: `LockManager`); called with the group lock
 * held. May throw CapacityError, then the slot stays as it was.
 */
export type TransferFn = (owner: number, lo: number, hi: number, isCount: number, ixCount: number, nameByte: number) => void;

/** One thread's view of the fast-path region. */
export class FastPath {
  readonly a: Int32Array;
  /** First word of the region (counter 0). */
  readonly base: number;
  readonly #groups: number;
  readonly #groupWords: number;
  readonly #slotWords: number;
  readonly #fullKeys: boolean;
  /** Writes a name into a slot (the table's UTF-8 writer). */
  readonly #writeName: (byteStart: number, name: string) => void;

  constructor(a: Int32Array, base: number, nameBytes: number, fullKeys: boolean, writeName: (byteStart: number, name: string) => void) {
    this.a = a;
    this.base = base;
    this.#groups = base + GROUPS_AT;
    this.#groupWords = groupWordsFor(nameBytes);
    this.#slotWords = slotWordsFor(nameBytes);
    this.#fullKeys = fullKeys;
    this.#writeName = writeName;
  }

  /** Word index of group g's first word. */
  #group(g: number): number {
    return this.#groups + g * this.#groupWords;
  }
  #slot(gw: number, s: number): number {
    return gw + G_SLOTS + s * this.#slotWords;
  }

  #lock(gw: number): void {
    lockWord(this.a, gw + G_LOCK, OWNER_ID, GROUP_POLICY, 'LockManager fast-path group');
  }
  #unlock(gw: number): void {
    unlockWord(this.a, gw + G_LOCK, OWNER_ID);
  }

  // ---- strong counters --------------------------------------------------------------------------

  /** Raises counter c for a strong request (before its transfer). */
  strongBegin(c: number): void {
    // CORRECTNESS: the add comes before the summary loads of `transfer` (Dekker pair, see above).
    Atomics.add(this.a, this.base + c, 1);
  }
  /** Lowers counter c by n (the strong request or hold ended). */
  strongEnd(c: number, n: number): void {
    // After the hold left the main table: a weak request that reads 0 now may take the fast path.
    Atomics.sub(this.a, this.base + c, n);
  }

  // ---- weak requests ----------------------------------------------------------------------------

  /**
   * The slot of `owner` for key `k` in group `gw` (group lock held): the cached hint first, then a
   * scan of the used slots; updates the hint. Returns its word index, or −1.
   */
  #findOwnSlot(gw: number, owner: number, k: FastKey): number {
    const a = this.a;
    const hint = k.fpSlot;
    if (hint >= 0) {
      const h = this.#slot(gw, hint);
      if (a[h + F_OWNER] === owner && a[h + F_LO] === k.lo && a[h + F_HI] === k.hi) return h;
    }
    const used = a[gw + G_USED]!;
    for (let s = 0; s < used; s++) {
      const q = this.#slot(gw, s);
      if (a[q + F_OWNER] === owner && a[q + F_LO] === k.lo && a[q + F_HI] === k.hi) {
        k.fpSlot = s;
        return q;
      }
    }
    return -1;
  }

  /**
   * Tries to take `mode` (IS or IX) on key `k` for `owner` in its group. Returns false if the
   * group is full or a strong request on the key's counter exists (then nothing changed).
   */
  tryWeak(owner: number, k: FastKey, mode: number): boolean {
    const a = this.a;
    const g = owner % FP_GROUPS;
    const gw = this.#group(g);
    this.#lock(gw);
    let w = this.#findOwnSlot(gw, owner, k);
    if (w < 0) {
      // A slot with no holds (keeps its name as a cache until reused), or a fresh one.
      const used = a[gw + G_USED]!;
      let free = -1;
      for (let s = 0; s < used && free < 0; s++) {
        const q = this.#slot(gw, s);
        if (a[q + F_COUNT + IS] === 0 && a[q + F_COUNT + IX] === 0) free = s;
      }
      if (free < 0) {
        if (used === FP_SLOTS) {
          this.#unlock(gw);
          return false; // full group: the main table serves it
        }
        free = used;
        a[gw + G_USED] = used + 1;
      }
      w = this.#slot(gw, free);
      k.fpSlot = free;
      // Reuse keeps the name if the key is the same (only possible with full 64-bit keys).
      const sameName = this.#fullKeys && a[w + F_LO] === k.lo && a[w + F_HI] === k.hi;
      a[w + F_OWNER] = owner;
      a[w + F_LO] = k.lo;
      a[w + F_HI] = k.hi;
      if (!sameName) this.#writeName((w + F_NAME) * 4, k.text);
    }
    a[w + F_COUNT + mode]!++;
    const bit = 1 << (k.ctr & 31);
    const summary = Atomics.load(a, gw + G_SUMMARY);
    // CORRECTNESS (Dekker pair): publish the summary bit before reading the counter. If the bit
    // is already set, that earlier store (or a later recomputation under this lock that kept it)
    // is already in the total order before our load.
    if ((summary & bit) === 0) {
      Atomics.store(a, gw + G_SUMMARY, summary | bit);
      // First bit of this group: mark it active for strong requests' scan (same Dekker argument:
      // this store also precedes our counter load). Atomics.or: other groups share the word.
      if (summary === 0) Atomics.or(a, this.base + ACTIVE + (g >> 5), 1 << (g & 31));
    }
    if (Atomics.load(a, this.base + k.ctr) !== 0) {
      // A strong request on this counter exists (maybe another key): it may miss this slot, so undo.
      a[w + F_COUNT + mode]!--;
      this.#unlock(gw);
      return false;
    }
    this.#unlock(gw);
    return true;
  }

  /**
   * Gives back one acquisition of `mode` on key `k` from `owner`'s slot. Returns false if the
   * slot has none (a strong request moved it to the main table: release it there).
   */
  releaseWeak(owner: number, k: FastKey, mode: number): boolean {
    const a = this.a;
    const gw = this.#group(owner % FP_GROUPS);
    this.#lock(gw);
    const w = this.#findOwnSlot(gw, owner, k);
    let done = false;
    if (w >= 0 && a[w + F_COUNT + mode]! > 0) {
      // The summary bit stays (a superset is allowed): clearing it here would write the shared
      // summary line on every release. A strong request clears stale bits when it looks.
      a[w + F_COUNT + mode]!--;
      done = true;
    }
    this.#unlock(gw);
    return done;
  }

  // ---- strong requests --------------------------------------------------------------------------

  /**
   * Moves every slot holding key (lo, hi) with counts > 0 into the main table through `move`.
   * Caller raised counter `c = strongIndex(lo, hi)` first. Returns the number of slots moved.
   */
  transfer(lo: number, hi: number, c: number, move: TransferFn): number {
    const a = this.a;
    const bit = 1 << (c & 31);
    let moved = 0;
    for (let half = 0; half < 2; half++) {
      // CORRECTNESS (Dekker pair): these loads follow the counter's Atomics.add in strongBegin.
      let active = Atomics.load(a, this.base + ACTIVE + half);
      while (active !== 0) {
        const low = active & -active;
        active ^= low;
        const g = (half << 5) + (31 - Math.clz32(low));
        moved += this.#transferGroup(g, lo, hi, bit, move);
      }
    }
    return moved;
  }

  /** Moves group g's slots for key (lo, hi), if its summary has the key's bit. */
  #transferGroup(g: number, lo: number, hi: number, bit: number, move: TransferFn): number {
    const a = this.a;
    let moved = 0;
    const gw = this.#group(g);
    if ((Atomics.load(a, gw + G_SUMMARY) & bit) === 0) return 0;
    this.#lock(gw);
    try {
      const used = a[gw + G_USED]!;
      let summary = 0;
      for (let s = 0; s < used; s++) {
        const q = this.#slot(gw, s);
        const isN = a[q + F_COUNT + IS]!;
        const ixN = a[q + F_COUNT + IX]!;
        if (isN === 0 && ixN === 0) continue;
        const qlo = a[q + F_LO]!;
        const qhi = a[q + F_HI]!;
        if (qlo === lo && qhi === hi) {
          move(a[q + F_OWNER]!, lo, hi, isN, ixN, (q + F_NAME) * 4);
          a[q + F_COUNT + IS] = 0;
          a[q + F_COUNT + IX] = 0;
          moved++;
        } else {
          summary |= 1 << (strongIndex(qlo, qhi) & 31);
        }
      }
      // Drop stale bits (only set under this lock, which we hold); an empty group leaves ACTIVE.
      Atomics.store(a, gw + G_SUMMARY, summary);
      // Clear our ACTIVE bit (set again, under this lock, by the next weak request here).
      if (summary === 0) Atomics.and(a, this.base + ACTIVE + (g >> 5), ~(1 << (g & 31)));
    } finally {
      this.#unlock(gw);
    }
    return moved;
  }

  // ---- owners, views ----------------------------------------------------------------------------

  /**
   * Clears every slot of `owner` (releaseAll, dead owner). Nothing waits on slots (invariant 2),
   * so nobody needs waking. Returns the number of slots that held something.
   */
  releaseOwner(owner: number): number {
    const a = this.a;
    const gw = this.#group(owner % FP_GROUPS);
    let n = 0;
    this.#lock(gw);
    const used = a[gw + G_USED]!;
    for (let s = 0; s < used; s++) {
      const q = this.#slot(gw, s);
      if (a[q + F_OWNER] !== owner) continue;
      if (a[q + F_COUNT + IS] !== 0 || a[q + F_COUNT + IX] !== 0) n++;
      a[q + F_COUNT + IS] = 0;
      a[q + F_COUNT + IX] = 0;
    }
    this.#unlock(gw);
    return n;
  }

  /** Takes every group lock, ascending (for `query()` only: invariant 4). Refused: holds none. */
  lockAllGroups(): void {
    lockInOrder(FP_GROUPS, (g) => this.#lock(this.#group(g)), (g) => this.#unlock(this.#group(g)));
  }
  unlockAllGroups(): void {
    unlockInOrder(FP_GROUPS, (g) => this.#unlock(this.#group(g)));
  }

  /** Calls fn for every slot with counts > 0. Caller holds every group lock (`lockAllGroups`). */
  forEachHeld(fn: (owner: number, lo: number, hi: number, isCount: number, ixCount: number, nameByte: number) => void): void {
    const a = this.a;
    for (let g = 0; g < FP_GROUPS; g++) {
      const gw = this.#group(g);
      const used = a[gw + G_USED]!;
      for (let s = 0; s < used; s++) {
        const q = this.#slot(gw, s);
        const isN = a[q + F_COUNT + IS]!;
        const ixN = a[q + F_COUNT + IX]!;
        if (isN !== 0 || ixN !== 0) fn(a[q + F_OWNER]!, a[q + F_LO]!, a[q + F_HI]!, isN, ixN, (q + F_NAME) * 4);
      }
    }
  }
}
