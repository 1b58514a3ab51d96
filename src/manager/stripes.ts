/**
 * The lock manager's internal locks: raw mutex words (`raw/mutex.ts` `lockWord`) that each guard
 * one stripe of the shared table (a partition's line, a fast-path group, the allocator words)
 * around a few dozen plain loads and stores. Written once here: their tuning, and how a
 * whole-table pass (a deadlock check, `query()`) takes all of one kind.
 */
import { SpinBudget } from '../core/spin.js';
import type { ExclusivePolicy } from '../raw/mutex.js';

/**
 * This thread's policy for one kind of stripe lock (each kind keeps its own adaptive budget): held
 * for a few hundred nanoseconds, so spin a little, then park (a holder may be preempted), and
 * hand off to a waiter parked for over 1 ms.
 */
export function stripePolicy(): ExclusivePolicy {
  return { budget: new SpinBudget(4, 64), maxBackoff: 16, fairAfterMs: 1 };
}

/**
 * Takes locks 0 … n − 1 in ascending order with `lock(k)`: whoever holds several took them in
 * this one order, so no lock-order cycle. If one is refused (its holder died mid-update:
 * raw/mutex.ts `lockWord` throws), gives back the ones already taken with `unlock(k)`, last
 * first, and rethrows: a live thread must not keep them for ever.
 */
export function lockInOrder(n: number, lock: (k: number) => void, unlock: (k: number) => void): void {
  let k = 0;
  try {
    for (; k < n; k++) lock(k);
  } catch (e) {
    while (--k >= 0) unlock(k);
    throw e;
  }
}

/** Gives back what `lockInOrder(n, …)` took, last first. */
export function unlockInOrder(n: number, unlock: (k: number) => void): void {
  for (let k = n - 1; k >= 0; k--) unlock(k);
}
