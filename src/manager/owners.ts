/**
 * Owner ids of the lock manager, and how a dead one is recognised (docs/lock-manager.md).
 *
 * | ids | owner |
 * |---|---|
 * | 1 … 2^28 − 1 | a thread (`threadId + 1`, core/thread.ts): blocking calls without `owner` |
 * | 2^28 … 2^31 − 1 | from `newOwner()` (one shared counter): transactions, and the async tasks of `acquireAsync` without `owner` |
 *
 * A thread's owner is dead when the owner-death layer has published its thread dead; an async
 * task's owner is dead when the thread it runs in (its record's R_HOME) is. A transaction id is
 * never a thread's, so it is never found dead: it ends with `releaseAll(owner)`.
 */
import { describe } from '../core/layout.js';
import { isDeadOwner } from '../core/owner-death.js';
import { H_OWNER_SEQ, R_HOME, R_OWNER, type LockTable } from './table.js';

/** First id handed out by `newOwner()`: above every thread owner id (28 bits). */
export const FIRST_TXN_OWNER = 0x1000_0000;
const MAX_OWNER = 0x7fff_ffff;

/** A fresh owner id from the table's shared counter, distinct from every thread's. */
export function newOwnerId(t: LockTable): number {
  // One shared counter: ids are unique across threads.
  const n = Atomics.add(t.a, t.base + H_OWNER_SEQ, 1);
  if (n >= MAX_OWNER - FIRST_TXN_OWNER) throw new RangeError('newOwner(): owner ids exhausted');
  return FIRST_TXN_OWNER + n;
}

/** Checks a user-supplied owner id. */
export function checkOwner(owner: unknown, name: string): number {
  if (typeof owner !== 'number') throw new TypeError(`${name} must be an integer owner id, got ${describe(owner)}`);
  if (!Number.isInteger(owner) || owner < 1 || owner > MAX_OWNER) {
    throw new RangeError(`${name} must be an integer in 1…${MAX_OWNER}, got ${owner}`);
  }
  return owner;
}

/** A record of a dead thread's owner, or of an async task of a dead thread (owner-death layer). */
export function deadRecord(t: LockTable, r: number): boolean {
  const home = t.field(r, R_HOME);
  return deadThreadOwner(t.field(r, R_OWNER)) || (home !== 0 && isDeadOwner(home));
}

/** A thread's owner id (below every newOwner() id) whose thread has died. */
export function deadThreadOwner(owner: number): boolean {
  // newOwner() ids are never threads': skip the owner-death ring scan for them.
  return owner < FIRST_TXN_OWNER && isDeadOwner(owner);
}

/**
 * Releases everything `owner` holds or waits for, in the shared table and the fast path; returns
 * how many records and non-empty slots it removed. The owner's requests must not be running
 * meanwhile (a dead thread's never are).
 */
export function releaseOwner(t: LockTable, owner: number): number {
  // Fast-path slots first: nothing waits on them (fastpath.ts, invariant 2).
  return t.fp.releaseOwner(owner) + t.releaseOwnerRecords(owner);
}
