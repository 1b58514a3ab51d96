/**
 * The lock manager's request machine: one level of a request at a time, each step one short
 * critical section on the resource's partition lock (table.ts): enqueue or grant (`startLevel`),
 * grant a queued request (`poll`), withdraw it (`abandon`), give one level back (`releaseLevel`).
 * Waiting between those steps is `waiting.ts`; the escalation decisions are `escalation.ts`.
 *
 * - IS and IX go through the fast path (`fastpath.ts`, after PostgreSQL's): a slot in the owner's
 *   group instead of the main table, unless a strong request (S, SIX, U, X) on that key exists.
 *   A strong request raises its key's strong counter and moves that key's fast-path holds into
 *   the main table before it takes its own turn there (`attemptCounted`); the table lowers the
 *   counter when the strong hold or wait leaves it. Conversions and escalations need nothing
 *   special: the owner's own fast-path holds are moved into its record first, and an owner never
 *   conflicts with itself.
 * - A request by an owner that already holds something on the resource is a conversion: the
 *   record's held mask gains the new mode (so the effective mode is the least upper bound,
 *   IX ⊔ S = SIX), counted per mode so each handle releases exactly what it took.
 * - A second request of an owner already waiting on the resource (another async task of a
 *   transaction) takes no queue slot (ticket 0): it sleeps on the entry and starts over when the
 *   entry moves.
 * - A request refused only because of a dead owner's hold or queued wait reaps that owner
 *   (`reapDeadOn`) and tries again.
 *
 * ## Memory ordering
 * Shared memory is touched only through `table.ts` and `fastpath.ts`, inside their critical
 * sections; every change a waiter must see bumps the entry's futex word there (table.ts,
 * invariant 5). The bookkeeping here is thread-local, plain JS.
 */
import { CapacityError, LockError } from '../core/errors.js';
import type { ParsedWait } from '../core/futex.js';
import { keyHex } from './hash.js';
import { IS, IX } from './modes.js';
import { NO_ENTRY, R_HOLD, R_OWNER, R_WAIT, type LockTable } from './table.js';
import { isStrong, type FastPath } from './fastpath.js';
import { forget, leaveParent, noteShared, type LocalLock, type OwnerState } from './local.js';
import { deadRecord, releaseOwner } from './owners.js';

/** A request parked on one level. */
export interface Pending {
  e: number;
  r: number;
  /** 0: another request of the same owner already waits on this record; retry from scratch. */
  ticket: number;
  /**
   * The value to sleep on: with a ticket, its record's R_WAIT (mode + 1 and a nudge count, table.ts invariant 8);
   * without, the entry's E_SEQ as read (SLEEPERS set) under the partition lock.
   */
  seq: number;
  /** Queued with no other waiter on the resource: the next hand-over there is its (if it conflicts with nothing else). */
  first?: boolean;
  /** Set when its waiter took the grant (`Parking.won`): an abort no longer withdraws it. */
  granted?: boolean;
  /** Withdrawn by `abandon` (an abort withdraws at once; the parking loop's give-up then does nothing). */
  abandoned?: boolean;
}

export const GRANTED = 1;
export const REFUSED = 0;
/** `#attemptOnce`: a pool looked empty (nothing changed); drain the partitions' free lists and retry. */
const POOL_EMPTY = 2;

/** What `attempt` needs of a request: its owner, the owner's state (R_HOME), whether it blocks its thread. */
export type Requester = Pick<Plan, 'owner' | 'state' | 'blocks' | 'robbed'> & {
  /** Escalation: refused while another owner waits on the resource (no overtaking by conversion). */
  polite?: boolean;
};

/** One request as planned by `LockManager`: its owner, the levels to take root first, its wait. */
export interface Plan {
  state: OwnerState;
  /** This thread's owner id if the request blocks the thread (acquire), else 0 (R_BLOCKS). */
  blocks: number;
  owner: number;
  locks: readonly LocalLock[];
  modes: readonly number[];
  wait: ParsedWait;
  deadlockTimeout: number;
  /**
   * Web Locks' `steal`: set (empty) to take the leaf at once, whoever holds it; the robbed
   * holders' (owner, home) pairs are pushed onto it (`LockTable.stealHolds`).
   */
  robbed?: number[];
}

/** How one level's attempt ends: granted, refused (only when trying), or queued (Pending). */
export type Attempt = Pending | typeof GRANTED | typeof REFUSED;

/** The request machine over one table, for one LockManager view. */
export class Requests {
  readonly fp: FastPath;
  /**
   * Set by Web Locks (`LockManager._stealsHappen`): holds may be taken away by steals, so an async
   * task's queued request whose record vanished was granted and then stolen, not withdrawn.
   */
  stealable = false;
  readonly #useFastPath: boolean;
  readonly #skipTransfer: boolean;
  readonly #move: (owner: number, lo: number, hi: number, isCount: number, ixCount: number, nameByte: number) => void;

  /**
   * @param name the manager's name, for messages
   * @param threshold the escalation threshold (0 = never; `escalation.ts`)
   */
  constructor(
    readonly name: string,
    readonly t: LockTable,
    useFastPath: boolean,
    skipTransfer: boolean,
    readonly threshold: number,
  ) {
    this.fp = t.fp;
    this.#useFastPath = useFastPath;
    this.#skipTransfer = skipTransfer;
    this.#move = (owner, lo, hi, isN, ixN, nameByte) => this.#moveSlot(owner, lo, hi, isN, ixN, nameByte);
  }

  /** Takes level i at once (GRANTED), or fails (REFUSED, only if tryOnly), or queues (Pending). */
  startLevel(plan: Plan, i: number, tryOnly: boolean): Attempt {
    if (plan.state.closed) throw releasedWhileWaiting(plan);
    const L = plan.locks[i]!;
    const mode = plan.modes[i]!;
    // No request is covered by an escalation hold at once: it goes to the table, and is folded
    // into the escalation later only while nobody waits for the parent (escalation.ts), so
    // the coarse hold can end (issue 13, item 4: a walker kept its table lock for good).
    // Not for async tasks: a fast-path slot does not say which thread runs its owner (R_HOME).
    if (mode <= IX && this.#useFastPath && plan.state.home === 0 && this.fp.tryWeak(plan.owner, L, mode)) {
      noteShared(L, mode);
      L.fast[mode]!++;
      return GRANTED;
    }
    let pd = this.attemptCounted(L, mode, plan, tryOnly);
    // Refused, maybe only because of a dead owner's hold or queued wait: reap it and try again.
    if (pd === REFUSED && this.reapDeadOn(L)) pd = this.attemptCounted(L, mode, plan, tryOnly);
    if (pd === GRANTED) noteShared(L, mode);
    return pd;
  }

  /**
   * `#attempt`, plus the strong-counter protocol of fastpath.ts for a strong mode: raise the
   * key's counter and move the key's fast-path holds into the main table first; lower it again
   * if the request did not become a hold or a queued wait (which own the raise from then on, and
   * lower it in table.ts when they leave the record).
   */
  attemptCounted(L: LocalLock, mode: number, req: Requester, tryOnly: boolean): Attempt {
    if (!isStrong(mode)) return this.#attempt(L, mode, req, tryOnly);
    this.#strongBegin(L);
    let pd: Attempt;
    try {
      pd = this.#attempt(L, mode, req, tryOnly);
    } catch (err) {
      this.fp.strongEnd(L.ctr, 1);
      throw err;
    }
    // REFUSED: tidied away. ticket 0: sleeps without a queue slot, raises again when it retries.
    if (pd === REFUSED || (pd !== GRANTED && pd.ticket === 0)) this.fp.strongEnd(L.ctr, 1);
    return pd;
  }

  /** Raises L's strong counter, then moves every fast-path hold on L's key into the main table. */
  #strongBegin(L: LocalLock): void {
    this.fp.strongBegin(L.ctr);
    if (this.#skipTransfer) return;
    try {
      this.fp.transfer(L.lo, L.hi, L.ctr, this.#move);
    } catch (err) {
      this.fp.strongEnd(L.ctr, 1);
      throw err;
    }
  }

  /**
   * Moves one fast-path slot's holds into the main table as `owner`'s record (group lock held by
   * the caller: group → partition is the allowed order). CapacityError if the table is full.
   */
  #moveSlot(owner: number, lo: number, hi: number, isN: number, ixN: number, nameByte: number): void {
    if (this.#moveSlotOnce(owner, lo, hi, isN, ixN, nameByte)) return;
    // Pools look empty: refill from the partitions' free lists and retry once (as #attempt does).
    this.t.drainFreeLists();
    if (this.#moveSlotOnce(owner, lo, hi, isN, ixN, nameByte)) return;
    throw new CapacityError(
      `${this.name}: lock table full: cannot move a fast-path hold of owner ${owner} on ${this.t.nameAt(nameByte) || keyHex(lo, hi)} into the table for a strong request`,
    );
  }

  /** One critical section of #moveSlot; false if a pool was empty (nothing changed). */
  #moveSlotOnce(owner: number, lo: number, hi: number, isN: number, ixN: number, nameByte: number): boolean {
    const t = this.t;
    const p = t.partitionOf(lo);
    t.lockPartition(p);
    try {
      const r = t.findOrCreateRecord(lo, hi, owner, t.nameAt(nameByte));
      if (r < 0) return false;
      const e = t.entryOf(r);
      if (isN > 0) t.grant(e, r, IS, isN);
      if (ixN > 0) t.grant(e, r, IX, ixN);
      // The owner's own queued request here may now count as a conversion (invariant 4).
      t.bump(e);
      return true;
    } finally {
      t.unlockPartition(p);
    }
  }

  /**
   * One critical section: find or create entry and record, grant or queue. If the pools look
   * empty, moves the partitions' free lists to the global pool (no partition lock held) and
   * tries once more before a CapacityError.
   */
  #attempt(L: LocalLock, mode: number, req: Requester, tryOnly: boolean): Attempt {
    const got = this.#attemptOnce(L, mode, req, tryOnly, false);
    if (got !== POOL_EMPTY) return got;
    this.t.drainFreeLists();
    return this.#attemptOnce(L, mode, req, tryOnly, true) as Attempt;
  }

  #attemptOnce(
    L: LocalLock,
    mode: number,
    req: Requester,
    tryOnly: boolean,
    last: boolean,
  ): Attempt | typeof POOL_EMPTY {
    const t = this.t;
    const p = t.partitionOf(L.lo);
    t.lockPartition(p);
    try {
      const r = t.findOrCreateRecord(L.lo, L.hi, req.owner, L.text, req.state.home);
      if (r < 0) {
        if (!last) return POOL_EMPTY;
        throw new CapacityError(
          r === NO_ENTRY
            ? `${this.name}: lock table full: ${this.t.capacity} resources are held or waited on (capacity); cannot lock ${L.text}`
            : `${this.name}: lock table full: ${this.t.holderCapacity} (owner, resource) pairs are held or waited on (holderCapacity); cannot lock ${L.text}`,
        );
      }
      const e = t.entryOf(r);
      if (req.robbed !== undefined) {
        // A steal: the new hold first (forced), then the holders lose theirs; the hand-over their
        // releases trigger (table.ts invariant 7) sees the new hold, so the queue stays behind it.
        t.grant(e, r, mode);
        for (const x of t.stealHolds(e, r)) req.robbed.push(x);
        return GRANTED;
      }
      // An escalation does not jump the queue (as a conversion it would), so a waiter gets in.
      const overtakes = req.polite === true && t.othersWaiting(e, r) > 0;
      if (!overtakes && t.grantable(e, r, mode)) {
        t.grant(e, r, mode);
        return GRANTED;
      }
      if (tryOnly) {
        t.tidy(e, r);
        return REFUSED;
      }
      if (t.field(r, R_WAIT) !== 0) {
        // Another request of this owner already waits on this resource: sleep on the entry and
        // start over when it moves (that request's grant or withdrawal changes the word).
        return { e, r, ticket: 0, seq: t.seq(e) };
      }
      const ticket = t.enqueue(e, r, mode, req.blocks);
      // It sleeps on its record's R_WAIT, mode + 1 until dequeued (table.ts invariant 8); first in
      // the queue, a release hands the resource to it next (waiting.ts spins for that).
      return { e, r, ticket, seq: mode + 1, first: t.othersWaiting(e, r) === 0 };
    } finally {
      t.unlockPartition(p);
    }
  }

  /** After a wake: GRANTED, or still waiting (pd.seq refreshed). Throws if the wait was removed. */
  poll(plan: Plan, i: number, pd: Pending): boolean {
    // Withdrawn by an abort (waiting.ts): the parking loop sees the signal and gives up.
    if (pd.abandoned === true) return false;
    const L = plan.locks[i]!;
    const mode = plan.modes[i]!;
    if (pd.ticket === 0) {
      // releaseAll(owner) ran meanwhile: a retry would hold for a released owner, for good.
      if (plan.state.closed) throw releasedWhileWaiting(plan);
      // Retry from scratch (see #attempt), strong counter and transfer included.
      const again = this.attemptCounted(L, mode, plan, false);
      if (again === GRANTED) {
        noteShared(L, mode);
        return true;
      }
      Object.assign(pd, again);
      return false;
    }
    const t = this.t;
    const p = t.partitionOf(L.lo);
    // Read-only unless it grants (grantQueued marks the change): a waiter terminated while it
    // polls leaves nothing torn (table.ts S_READER).
    t.lockPartitionRead(p);
    try {
      if (this.grantQueued(plan, L, mode, pd)) return true;
      // Still queued: it sleeps on its R_WAIT as it reads now (under the lock), which its dequeue
      // or a nudge moves (table.ts invariant 8).
      pd.seq = t.field(pd.r, R_WAIT);
      return false;
    } finally {
      t.unlockPartitionRead(p);
    }
  }

  /**
   * With the request's partition (or all partitions) locked: grants the queued request `pd` if it
   * can be granted now. Throws if the request was removed while it waited (releaseAll).
   */
  grantQueued(plan: Plan, L: LocalLock, mode: number, pd: Pending): boolean {
    const t = this.t;
    if (t.handedTo(pd.e, pd.r, plan.owner, pd.ticket)) {
      // A release granted it already (table.ts invariant 7): only this thread's bookkeeping is left.
      noteShared(L, mode);
      return true;
    }
    if (!t.isWaiting(pd.e, pd.r, plan.owner, pd.ticket)) {
      if (plan.state.closed) throw releasedWhileWaiting(plan);
      if (this.#handedUnheard(pd, plan.owner, mode)) {
        // Handed over, and another request of this owner queued on the record before we polled
        // (its ticket replaced ours): the record holds our grant (table.ts invariant 7).
        noteShared(L, mode);
        return true;
      }
      if (this.stealable && plan.state.home !== 0) {
        // Web Locks: an async task's request handed over by a release and then stolen before it
        // heard (its record went with the steal): it was granted; the hold is gone already, so
        // its release finds nothing, and Web Locks tells its caller of the steal.
        noteShared(L, mode);
        return true;
      }
      throw releasedWhileWaiting(plan);
    }
    if (!t.grantable(pd.e, pd.r, mode)) return false;
    // From here the partition changes: no longer a read-only pass (table.ts S_READER).
    t.markWriting(t.partitionOf(L.lo));
    t.dequeue(pd.e, pd.r, true);
    t.grant(pd.e, pd.r, mode);
    t.stampGrant(pd.r);
    // Let a same-owner request sleeping on this entry (ticket 0) retry.
    t.bump(pd.e);
    noteShared(L, mode);
    return true;
  }

  /**
   * A queued request whose wait is gone (not waiting, ticket not ours) while its owner is still
   * open: was it handed over, its ticket then replaced by another request of the owner queueing on
   * the same record? Then the record (still the owner's, on this entry) holds the mode. A queued
   * request's mode was never held by its own record (a request for a held mode is granted at once:
   * an owner never conflicts with itself), so a count there is this grant. Caller holds the lock.
   */
  #handedUnheard(pd: Pending, owner: number, mode: number): boolean {
    const t = this.t;
    return t.field(pd.r, R_OWNER) === owner && t.entryOf(pd.r) === pd.e && t.count(pd.r, mode) > 0;
  }

  /** Withdraws a queued request (timeout, abort); wakes the waiters behind it. */
  abandon(plan: Plan, i: number, pd: Pending): void {
    if (pd.abandoned === true) return;
    // Marked first, a ticket-0 request too: it has no queue slot to give back, but `poll` must not
    // retry it. An abort that lands after its wake-up settled and before its parking loop went on
    // has already given back the levels above it (LockManager.acquireAsync's onAbort); a retry
    // would then grant an aborted request, whose release gives those levels back a second time.
    pd.abandoned = true;
    if (pd.ticket === 0) return;
    const t = this.t;
    const p = t.partitionOf(plan.locks[i]!.lo);
    t.lockPartition(p);
    try {
      if (t.isWaiting(pd.e, pd.r, plan.owner, pd.ticket)) {
        t.dequeue(pd.e, pd.r);
        // Leaving the queue may unblock the waiters behind us (invariant 5).
        t.bump(pd.e);
        t.tidy(pd.e, pd.r);
      } else if (t.handedTo(pd.e, pd.r, plan.owner, pd.ticket) || (!plan.state.closed && this.#handedUnheard(pd, plan.owner, plan.modes[i]!))) {
        // A release granted it while we gave up (invariant 7): give it back (ungrant wakes and
        // hands over to the waiters behind us).
        t.ungrant(pd.e, pd.r, plan.modes[i]!, 1);
        t.tidy(pd.e, pd.r);
      }
    } finally {
      t.unlockPartition(p);
    }
  }

  /**
   * The owner-death hook: releases every owner holding or waiting on L's entry whose thread has
   * died (`isDeadOwner`), everywhere in the table. Returns true if it released anyone (then the
   * entry's waiters were woken by the releases). Takes L's partition lock; caller holds none.
   */
  reapDeadOn(L: LocalLock): boolean {
    const t = this.t;
    let dead: number[] | undefined;
    const p = t.partitionOf(L.lo);
    t.lockPartitionRead(p); // a read-only look (table.ts S_READER)
    try {
      const e = t.findEntry(L.lo, L.hi);
      if (e >= 0) {
        t.forEachRecord(e, (r) => {
          if (deadRecord(t, r)) (dead ??= []).push(t.field(r, R_OWNER));
        });
      }
    } finally {
      t.unlockPartitionRead(p);
    }
    if (dead === undefined) return false;
    // A dead thread runs no more requests: releaseOwnerRecords' precondition holds.
    for (const o of dead) releaseOwner(this.t, o);
    return true;
  }

  /** Does `owner` still hold something on L's resource (a Web Locks holder not robbed by a steal)? */
  holds(L: LocalLock, owner: number): boolean {
    const t = this.t;
    const p = t.partitionOf(L.lo);
    t.lockPartitionRead(p); // a read-only look (table.ts S_READER)
    try {
      const e = t.findEntry(L.lo, L.hi);
      const r = e < 0 ? -1 : t.findRecord(e, owner);
      return r >= 0 && t.field(r, R_HOLD) !== 0;
    } finally {
      t.unlockPartitionRead(p);
    }
  }

  /**
   * Gives back `n` acquisitions of `mode` on L's shared record. Returns false if the record was
   * gone (removed by `releaseAll`, or its hold taken by a Web Locks steal).
   */
  sharedRelease(L: LocalLock, owner: number, mode: number, n: number): boolean {
    const t = this.t;
    const p = t.partitionOf(L.lo);
    t.lockPartition(p);
    try {
      const e = t.findEntry(L.lo, L.hi);
      if (e < 0) return false; // removed by releaseAll
      const r = t.findRecord(e, owner);
      if (r < 0) return false;
      // Wakes the entry's waiters if a mode left the hold (invariant 5).
      t.ungrant(e, r, mode, n);
      t.tidy(e, r);
      return true;
    } finally {
      t.unlockPartition(p);
    }
  }

  /** True if an owner other than `owner` (which has a record there) waits on P's entry. */
  othersWaitOn(P: LocalLock, owner: number): boolean {
    const t = this.t;
    const p = t.partitionOf(P.lo);
    t.lockPartition(p);
    try {
      const e = t.findEntry(P.lo, P.hi);
      const r = e < 0 ? -1 : t.findRecord(e, owner);
      return r >= 0 && t.othersWaiting(e, r) > 0;
    } finally {
      t.unlockPartition(p);
    }
  }

  /**
   * Gives back one acquisition of mode m on L that `st` took through this thread (one level of a
   * handle): a shared one if there is one (from the fast-path slot or the table), else one an
   * escalation replaced, and the coarse hold with the last of those. Returns false if the table
   * no longer had the shared one (`sharedRelease`).
   */
  releaseLevel(st: OwnerState, L: LocalLock, m: number): boolean {
    let found = true;
    if (L.shared[m]! > 0) {
      if (m <= IX && L.fast[m]! > 0) {
        L.fast[m]!--;
        // From the slot; if a strong request moved it, from the main table (fastpath.ts, invariant 3).
        if (!this.fp.releaseWeak(st.owner, L, m)) found = this.sharedRelease(L, st.owner, m, 1);
      } else {
        found = this.sharedRelease(L, st.owner, m, 1);
      }
      L.shared[m]!--;
      if (--L.sharedTotal === 0) leaveParent(L);
    } else if (L.esc > 0) {
      L.esc--;
      const C = L.coveredBy!;
      if (--C.escRefsBelow === 0 && C.escMode >= 0) {
        this.sharedRelease(C, st.owner, C.escMode, 1);
        C.escMode = -1;
        C.nextEscalationAt = this.threshold;
        forget(st, C);
      }
    }
    forget(st, L);
    return found;
  }
}

/** The error of a request whose owner was released (`releaseAll`) while it was in flight. */
function releasedWhileWaiting(plan: Plan): LockError {
  return new LockError('ERR_LOCK_STATE', `owner ${plan.owner}: releaseAll() ran while this request was in flight`);
}
