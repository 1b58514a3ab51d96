/**
 * The read side's per-thread bookkeeping: how many read holds this thread took through one
 * `RWLock` object, and its record of them in the lock's holder slots (READ_HOLDERS, raw/rwlock.ts
 * invariant 10), which is what lets a waiter give back the holds of a reader that died.
 *
 * The slot stays ours at a count of 0 (one plain increment and decrement per read, no claim),
 * until some thread found every slot taken (SLOTS_WANTED): from then on slots are freed at 0. The
 * cached slot is known to be ours without reading shared memory while `slotFrees` is unchanged:
 * only this thread frees its own slot while it lives (a reaper frees dead threads' slots only),
 * and every free by this thread, through any RWLock object, bumps it.
 *
 * The common cases are on the uncontended read lock / unlock paths, one plain read-modify-write
 * of our count and no Atomics call, and stay in `RWLock` (`#tookRead`, `#dropRead`,
 * `#freeSlotIfWanted`), next to the per-object fields they use; this file holds the rest,
 * out of line so that those paths stay small enough for V8 to inline whole.
 */
import { addHold, dropHold, heldBy } from './core/holders.js';
import { OWNER_ID } from './core/thread.js';
import { FLAGS, READ_HOLDERS, READ_SLOTS, reapDeadOwners, SLOTS_WANTED, UPGRADABLE_OWNER } from './raw/rwlock.js';
import type { RWLockLocal } from './rwlock-local.js';

/**
 * How often this thread freed one of its RWLock holder slots (any lock, any object). An object's
 * cached slot is valid while this is unchanged: nothing else frees a live thread's slot.
 */
export let slotFrees = 0;

/** No valid cached slot: claim one for a new read hold (or find ours); −1: untracked. */
export function claimSlot(a: Int32Array, i: number, onOwnerDied: () => void): number {
  const k = addHold(a, i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1);
  if (k >= 0) return k;
  // Every slot is taken: free dead readers' slots (giving their holds back), retry once, and
  // ask live readers to free theirs at a count of 0 from now on.
  // Ask for slots: holders that see this free their slot when their count drops to 0.
  Atomics.or(a, i + FLAGS, SLOTS_WANTED);
  reapDeadOwners(a, i, onOwnerDied);
  return addHold(a, i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1); // −1: untracked
}

/** Drops a read hold from our holder slot without a valid cached slot. */
export function dropUncached(a: Int32Array, i: number): void {
  // No cached slot (untracked, or freed by another object of this thread): search for ours.
  // dropHold frees the slot at 0, so the other objects' cached slots may be stale now.
  if (dropHold(a, i + READ_HOLDERS, READ_SLOTS, OWNER_ID, 1)) slotFrees++;
}

/** Gives our holder slot `k` back (its count is 0 and readers asked for slots). */
export function freeSlot(a: Int32Array, i: number, k: number): void {
  // Our count is 0 and we are not dead: a reaper would find nothing to give back. Free the slot
  // (only we change its owner while we live); the SC store orders our count's plain writes
  // before any later claimer's.
  Atomics.store(a, i + READ_HOLDERS + 2 * k, 0);
  slotFrees++;
}

/**
 * Whether this thread holds a read lock on this RWLock through any object: ours, or its record
 * in the holder slots (only this thread writes its own slot while it lives, so the record is
 * exact here). An untracked read (every holder slot taken) through another object is missed.
 */
export function readsInThread(l: RWLockLocal): boolean {
  return l.rw.readHolds > 0 || heldBy(l.a, l.i + READ_HOLDERS, READ_SLOTS, OWNER_ID) > 0;
}

/** A read or the upgradable lock held by this thread: a new read never waits (invariant 2). */
export function readsAlready(l: RWLockLocal): boolean {
  return readsInThread(l) || Atomics.load(l.a, l.i + UPGRADABLE_OWNER) === OWNER_ID;
}
