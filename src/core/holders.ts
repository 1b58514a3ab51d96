/**
 * Holder slots: who holds how much of a shared, counted resource (read holds of an RWLock, permits
 * of a Semaphore), so that what a dead thread held can be given back. A count alone cannot say
 * whose it is; these slots can, for up to `slots` threads at a time.
 *
 * Pure functions over `(Int32Array, base, slots)` like the raw locks: no objects, zero bytes = no
 * holders. Place `holdersByteLength(slots)` bytes inside the primitive's own region.
 *
 * ## Layout: `slots` pairs of Int32 words
 * | word      | name  | meaning |
 * |-----------|-------|---------|
 * | base + 2k | OWNER | owner id (`threadId + 1`) of slot k; 0 = free; −1 = being reaped |
 * | base+2k+1 | COUNT | how much that thread holds (its own adds minus its own drops) |
 *
 * ## Invariants
 * 1. OWNER goes 0 → me (claimed by `me`), me → 0 (by `me`, when its COUNT is back to 0), or
 *    dead → −1 → 0 (by the one reaper whose CAS won, `reapDeadHolds`). Only the owner changes COUNT
 *    while it lives; only the reaper, once it is dead.
 * 2. Acquire the resource first, then `addHold`; `dropHold` first, then release. A thread that dies
 *    between the two steps of an acquisition leaks what it took (never recorded, never returned); one
 *    that dies between the steps of a release is not returned twice. Leaking is the safe side: giving
 *    back what was never taken would break the primitive's bound.
 * 3. With every slot taken, `addHold` returns −1: that hold is untracked and not recovered if its
 *    holder dies (the caller may still grant it; document it).
 *
 * ## Use (see docs/robustness.md)
 * Acquire: take from the shared count, then `addHold(a, base, slots, OWNER_ID, n)`. Release:
 * `dropHold(...)`, then give back to the count and wake. Waiters sleep in `sliceEnd` slices and
 * call `reapDeadHolds(a, base, slots)` after each wake-up; a non-zero result is an amount a dead
 * thread held: give it back to the shared count and wake as a release would.
 *
 * ## Memory ordering
 * All accesses are Atomics (sequentially consistent).
 */
import { isDeadOwner } from './owner-death.js';

/** Marks a slot whose dead owner is being reaped. */
const REAPING = -1;

/** Bytes `slots` holder slots occupy. */
export function holdersByteLength(slots: number): number {
  return slots * 8;
}

/** Records that `me` now holds `n` more; returns the slot index, or −1 if every slot is taken. */
export function addHold(a: Int32Array, base: number, slots: number, me: number, n: number): number {
  let free = -1;
  for (let k = 0; k < slots; k++) {
    const o = Atomics.load(a, base + 2 * k);
    if (o === me) {
      // Our own slot: only we change its count while we live (invariant 1).
      Atomics.add(a, base + 2 * k + 1, n);
      return k;
    }
    if (o === 0 && free < 0) free = k;
  }
  for (let k = free < 0 ? slots : free; k < slots; k++) {
    // Claim a free slot for us (a rival may claim it first: try the next).
    if (Atomics.compareExchange(a, base + 2 * k, 0, me) !== 0) continue;
    // Its count is 0 (the previous owner or reaper left it so); add ours.
    Atomics.add(a, base + 2 * k + 1, n);
    return k;
  }
  return -1;
}

/** Records that `me` gave back `n`; false if `me` has no slot (an untracked hold, invariant 3). */
export function dropHold(a: Int32Array, base: number, slots: number, me: number, n: number): boolean {
  for (let k = 0; k < slots; k++) {
    if (Atomics.load(a, base + 2 * k) !== me) continue;
    // Our count; when it reaches 0 the slot goes back to the pool.
    if (Atomics.sub(a, base + 2 * k + 1, n) === n) Atomics.store(a, base + 2 * k, 0);
    return true;
  }
  return false;
}

/** How much `owner` holds according to its slot (0 if it has none). */
export function heldBy(a: Int32Array, base: number, slots: number, owner: number): number {
  for (let k = 0; k < slots; k++) if (Atomics.load(a, base + 2 * k) === owner) return Atomics.load(a, base + 2 * k + 1);
  return 0;
}

/**
 * Frees the slots of dead owners and returns the total they held: the caller gives that much back
 * to its shared count (and wakes waiters). Each dead slot is returned exactly once (invariant 1).
 */
export function reapDeadHolds(a: Int32Array, base: number, slots: number): number {
  let total = 0;
  for (let k = 0; k < slots; k++) {
    const o = Atomics.load(a, base + 2 * k);
    if (o <= 0 || !isDeadOwner(o)) continue;
    // One reaper per dead slot: the CAS from the dead id decides (ids are never reused).
    if (Atomics.compareExchange(a, base + 2 * k, o, REAPING) !== o) continue;
    // Take its count, leaving 0 for the next owner of the slot.
    total += Atomics.exchange(a, base + 2 * k + 1, 0);
    // Free the slot.
    Atomics.store(a, base + 2 * k, 0);
  }
  return total;
}
